//! A memory check through a `MemoryProbe` reading procfs or a cgroup file allocates nothing.
//!
//! One test in its own binary: the counting allocator sees every thread of the process.
#![cfg(target_os = "linux")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use raindrops::memory::{MemoryMetric, MemoryProbe};

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Relaxed: a plain event count, read after the calls it counts on this thread.
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's obligations for `layout` are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn reading_a_probe_allocates_nothing() {
    let pid = std::process::id();
    for metric in MemoryMetric::ALL {
        let probe = MemoryProbe::new(pid, metric).unwrap();
        probe.read().unwrap(); // warm up anything lazily initialised
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let mut total = 0;
        for _ in 0..100 {
            total += probe.read().unwrap();
        }
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert!(total > 0);
        assert_eq!(allocations, 0, "{metric}: {allocations} allocations in 100 reads");
    }
    // The counter works: an allocation is seen.
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    std::hint::black_box(vec![1u8; 10]);
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed) - before, 1);
}
