//! `incr` cost, side by side with the floor (a raw `AtomicU64::fetch_add` on a `MAP_SHARED`
//! page), for one process and for two forked processes on one slot or on their own rows.
//!
//! Run: `cargo bench -p raindrops --bench incr` (or `benches/incr.sh` to add Ruby raindrops).
//! Each figure is the median of 7 trials of `OPS` increments, in ns per increment per process.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};
use raindrops::{Drops, Workers};

const OPS: u64 = 20_000_000;
const TRIALS: usize = 7;

raindrops::counters! {
    /// One counter per worker row.
    struct Hits {
        hits: counter,
    }
}

/// ns per op of `op` run `OPS` times.
fn time(mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..OPS {
        op();
    }
    start.elapsed().as_nanos() as f64 / OPS as f64
}

/// Runs `op` in `procs` forked processes at once; returns the slowest process's ns per op.
/// Each child reports its figure (in picoseconds) through `results`.
fn forked(procs: usize, results: &Drops, op: impl Fn(usize) + Copy) -> f64 {
    let children: Vec<_> = (0..procs)
        .map(|p| {
            // SAFETY: the bench is single-threaded; the child only runs `op` on shared
            // memory, stores its result and `_exit`s.
            match unsafe { fork() }.expect("fork") {
                ForkResult::Child => {
                    let ns = time(|| op(p));
                    results.set(p, (ns * 1000.0) as u64);
                    // SAFETY: ends the child at once, without running the parent's exit hooks.
                    unsafe { nix::libc::_exit(0) }
                }
                ForkResult::Parent { child } => child,
            }
        })
        .collect();
    for child in children {
        waitpid(child, None).expect("waitpid");
    }
    (0..procs).map(|p| results.get(p) as f64 / 1000.0).fold(0.0, f64::max)
}

fn median(mut f: impl FnMut() -> f64) -> f64 {
    let mut runs: Vec<f64> = (0..TRIALS).map(|_| f()).collect();
    runs.sort_by(f64::total_cmp);
    runs[TRIALS / 2]
}

fn main() {
    // The floor: a raw atomic on a shared anonymous page, no raindrops code involved.
    // SAFETY: a fresh anonymous mapping of one page, aliasing nothing; it is never unmapped.
    let page = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(4096).expect("non-zero"),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )
    }
    .expect("mmap");
    // SAFETY: the page is 4096-aligned, zeroed (a valid AtomicU64) and lives forever.
    let raw: &AtomicU64 = unsafe { &*page.as_ptr().cast::<AtomicU64>() };

    let drops = Drops::new(1).expect("drops");
    let workers = Workers::<Hits>::new(2).expect("workers");
    let rows = [workers.worker(0), workers.worker(1)];
    let results = Drops::new(2).expect("results");

    let floor = median(|| {
        time(|| {
            black_box(raw.fetch_add(1, Ordering::Relaxed));
        })
    });
    let a = median(|| {
        time(|| {
            black_box(drops.incr(black_box(0)));
        })
    });
    let a_row = median(|| {
        time(|| {
            black_box(rows[0].hits().incr());
        })
    });
    let b = median(|| {
        forked(2, &results, |_| {
            black_box(drops.incr(black_box(0)));
        })
    });
    let c = median(|| {
        forked(2, &results, |p| {
            black_box(rows[p].hits().incr());
        })
    });
    // Two raw words 2 KiB apart on the page: what two processes cost on this machine with no
    // sharing at all (on SMT siblings, atomics slow each other down anyway).
    // SAFETY: offset 2048 is inside the 4096-byte page, 8-aligned, zeroed, never unmapped.
    let raw_far: &AtomicU64 = unsafe { &*page.as_ptr().cast::<u8>().add(2048).cast::<AtomicU64>() };
    let floor_apart = median(|| {
        forked(2, &results, |p| {
            let word = if p == 0 { raw } else { raw_far };
            black_box(word.fetch_add(1, Ordering::Relaxed));
        })
    });
    let floor2 = median(|| {
        forked(2, &results, |_| {
            black_box(raw.fetch_add(1, Ordering::Relaxed));
        })
    });

    println!("incr, ns per op (median of {TRIALS} x {OPS} ops)");
    println!("  floor: AtomicU64::fetch_add, 1 process      {floor:6.2}");
    println!("  (a) Drops::incr, 1 process                   {a:6.2}  {:.2}x floor", a / floor);
    println!(
        "  (a') Workers row incr, 1 process             {a_row:6.2}  {:.2}x floor",
        a_row / floor
    );
    println!("  floor: fetch_add, 2 processes, same word      {floor2:6.2}");
    println!("  (b) Drops::incr, 2 processes, same slot      {b:6.2}  {:.2}x (a)", b / a);
    println!("  floor: fetch_add, 2 processes, 2 KiB apart    {floor_apart:6.2}");
    println!(
        "  (c) Workers row incr, 2 processes, own rows  {c:6.2}  {:.2}x (a), {:.2}x the 2-process floor",
        c / a,
        c / floor_apart
    );
}
