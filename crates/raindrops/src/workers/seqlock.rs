//! The retire sequence: a seqlock in the segment header, odd while a retire moves counters, so
//! that readers retry a read that overlapped one.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{Duration, Instant};

/// How long `retire` waits for another retire before assuming its process died mid-way.
const STUCK_RETIRE: Duration = Duration::from_secs(1);

/// Starts a retire: makes the sequence odd, waiting for a concurrent retire to finish.
/// Returns the odd value.
pub(super) fn begin_write(seq: &AtomicU64) -> u64 {
    let started = Instant::now();
    loop {
        // Relaxed: only the successful exchange below needs ordering.
        let current = seq.load(Ordering::Relaxed);
        if current % 2 == 0 {
            if seq
                .compare_exchange(current, current + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                // Release: readers that see the moves below also see the odd number first.
                fence(Ordering::Release);
                return current + 1;
            }
        } else if started.elapsed() > STUCK_RETIRE {
            // The process that made it odd died mid-retire: finish under its number.
            fence(Ordering::Release);
            return current;
        }
        std::thread::yield_now();
    }
}

/// Reads with `read` until no retire overlapped the read.
///
/// A reader gives up waiting after [`STUCK_RETIRE`] (a retiring process that died mid-way) and
/// returns its last read: readers never hang.
pub(super) fn read_consistent<T>(seq: &AtomicU64, mut read: impl FnMut() -> T) -> T {
    let started = Instant::now();
    loop {
        // Relaxed then an Acquire fence, rather than an Acquire load: a relaxed 8-byte load is
        // sound on a read-only mapping (`DropsReader`), and the fence pairs with the Release
        // store that ended the last retire all the same.
        let before = seq.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        let value = read();
        // Acquire: the reads above happen before the check below.
        fence(Ordering::Acquire);
        // Relaxed: ordered by the fence.
        let after = seq.load(Ordering::Relaxed);
        if (before % 2 == 0 && before == after) || started.elapsed() > STUCK_RETIRE {
            return value;
        }
        std::thread::yield_now();
    }
}
