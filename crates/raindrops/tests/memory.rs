//! Memory readers against forked children that touch known amounts of memory.
#![cfg(target_os = "linux")]

mod util;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use raindrops::Drops;
use raindrops::memory::{MemoryError, MemoryMetric, MemoryProbe, SmapsRollup};

const MIB: u64 = 1 << 20;
const REGION: u64 = 64 * MIB;
const PAGE: usize = 4096;

/// A one-way socket pair carrying single-byte messages; reads time out after 10 s.
struct Channel {
    rx: UnixStream,
    tx: UnixStream,
}

impl Channel {
    fn new() -> Channel {
        let (rx, tx) = UnixStream::pair().expect("socketpair");
        // The peer answers within milliseconds; 10 s means it is stuck.
        rx.set_read_timeout(Some(Duration::from_secs(10))).expect("SO_RCVTIMEO");
        Channel { rx, tx }
    }

    fn send(&mut self) {
        self.tx.write_all(b"!").expect("write to the socket pair");
    }

    /// Waits for one byte, 10 s at most.
    fn recv(&mut self) {
        let mut byte = [0u8];
        self.rx.read_exact(&mut byte).expect("a message within 10 s");
    }
}

/// A child that waits for `go`, runs `touch`, says `done`, then waits to be told to exit.
struct Child {
    pid: nix::unistd::Pid,
    go: Channel,
    done: Channel,
    exit: Channel,
}

impl Child {
    fn spawn(touch: impl FnOnce()) -> Child {
        let (mut go, mut done, mut exit) = (Channel::new(), Channel::new(), Channel::new());
        let pid = util::spawn(|| {
            go.recv();
            touch();
            done.send();
            exit.recv();
            0
        });
        Child { pid, go, done, exit }
    }

    fn pid(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    fn touch(&mut self) {
        self.go.send();
        self.done.recv();
    }

    fn finish(mut self) {
        self.exit.send();
        assert_eq!(util::wait(self.pid), 0);
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Only if a test failed before `finish`: don't leave the child behind.
        if !std::thread::panicking() {
            return;
        }
        let _ = kill(self.pid, Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.pid, None);
    }
}

fn assert_about(what: &str, grown: i64, expected: u64) {
    let expected = expected as i64;
    assert!(
        (grown - expected).abs() <= expected / 10,
        "{what} grew by {:.1} MiB, expected {:.1} MiB ± 10%",
        grown as f64 / MIB as f64,
        expected as f64 / MIB as f64
    );
}

fn read(metric: MemoryMetric, pid: u32) -> i64 {
    metric.read(pid).expect("measure the child") as i64
}

#[test]
fn private_memory_counts_in_uss_and_rss() {
    let mut child = Child::spawn(|| {
        let mut buffer = vec![0u8; REGION as usize];
        for page in buffer.chunks_mut(PAGE) {
            page[0] = 1;
        }
        std::hint::black_box(&buffer);
        std::mem::forget(buffer); // still resident when the parent measures
    });
    let pid = child.pid();
    let rss_probe = MemoryProbe::new(pid, MemoryMetric::Rss).unwrap();
    let (rss, uss, pss) = (
        rss_probe.read().unwrap() as i64,
        read(MemoryMetric::Uss, pid),
        read(MemoryMetric::Pss, pid),
    );
    child.touch();
    assert_about("RSS", rss_probe.read().unwrap() as i64 - rss, REGION);
    assert_about("USS", read(MemoryMetric::Uss, pid) - uss, REGION);
    assert_about("PSS", read(MemoryMetric::Pss, pid) - pss, REGION);
    child.finish();
    // The probe's file belongs to the dead process: no silent reading of a reused pid.
    let err = rss_probe.read().unwrap_err();
    assert!(matches!(err, MemoryError::NoProcess { .. }), "{err}");
    let err = MemoryMetric::Uss.read(pid).unwrap_err();
    assert!(err.to_string().contains(&pid.to_string()), "{err}");
}

#[test]
fn two_children_sharing_a_region_each_count_half_in_pss() {
    // MAP_SHARED, anonymous, never touched by the parent beyond its header.
    let slots_per_page = PAGE / 128;
    let region = Drops::new(REGION as usize / 128).unwrap();
    let touch = || {
        for index in (0..region.capacity()).step_by(slots_per_page) {
            region.set(index, 1);
        }
    };
    let mut a = Child::spawn(touch);
    let mut b = Child::spawn(touch);
    let before: Vec<SmapsRollup> =
        [a.pid(), b.pid()].map(|pid| SmapsRollup::read(pid).unwrap()).into();

    // A alone maps the pages: all of them count in its PSS, none in its USS (shared memory
    // is "shared" once two processes map the segment, but a page mapped once is private).
    a.touch();
    let alone = SmapsRollup::read(a.pid()).unwrap();
    assert_about("PSS of the only toucher", alone.pss as i64 - before[0].pss as i64, REGION);

    b.touch();
    let after: Vec<SmapsRollup> =
        [a.pid(), b.pid()].map(|pid| SmapsRollup::read(pid).unwrap()).into();
    for (name, (before, after)) in ["A", "B"].iter().zip(before.iter().zip(&after)) {
        assert_about(&format!("PSS of {name}"), after.pss as i64 - before.pss as i64, REGION / 2);
        assert_about(&format!("RSS of {name}"), after.rss as i64 - before.rss as i64, REGION);
        let uss = after.uss() as i64 - before.uss() as i64;
        assert!(uss.unsigned_abs() < REGION / 10, "USS of {name} grew by {uss} bytes");
    }
    a.finish();
    b.finish();
}

#[test]
fn probes_of_missing_processes_name_the_pid() {
    // A child that exits at once: its pid is free (and not reused within this test).
    let pid = util::spawn(|| 0);
    assert_eq!(util::wait(pid), 0);
    let pid = pid.as_raw() as u32;
    for metric in MemoryMetric::ALL {
        let err = MemoryProbe::new(pid, metric).unwrap_err();
        assert!(matches!(err, MemoryError::NoProcess { pid: p } if p == pid), "{metric}: {err}");
        assert_eq!(err.to_string(), format!("no process {pid} (it exited, or the pid is wrong)"));
    }
}
