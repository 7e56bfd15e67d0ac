//! `Drops` across real forked processes and across unrelated processes through a file.
#![cfg(target_os = "linux")]

mod util;

use std::process::Command;

use raindrops::{Drops, SegmentErrorKind};

const CHILDREN: u64 = 4;
const OPS: u64 = 1_000_000;

/// Every fourth operation is a decrement: each child nets `OPS / 2`.
fn mixed_ops(mut incr: impl FnMut(), mut decr: impl FnMut()) {
    for i in 0..OPS {
        if i % 4 == 3 { decr() } else { incr() }
    }
}

#[test]
fn four_forked_processes_on_one_slot_lose_no_update() {
    let drops = Drops::new(1).unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            util::spawn(|| {
                mixed_ops(|| _ = drops.incr(0), || _ = drops.decr(0));
                0
            })
        })
        .collect();
    for child in children {
        assert_eq!(util::wait(child), 0);
    }
    assert_eq!(drops.get(0), CHILDREN * OPS / 2);
}

#[test]
fn four_forked_processes_on_their_own_slots_lose_no_update() {
    let drops = Drops::new(CHILDREN as usize).unwrap();
    let children: Vec<_> = (0..CHILDREN as usize)
        .map(|slot| {
            let drops = &drops;
            util::spawn(move || {
                mixed_ops(|| _ = drops.incr(slot), || _ = drops.decr(slot));
                0
            })
        })
        .collect();
    for child in children {
        assert_eq!(util::wait(child), 0);
    }
    assert_eq!(drops.snapshot(), vec![OPS / 2; CHILDREN as usize]);
}

/// The second half of `a_file_is_shared_with_a_process_started_later`: runs in a new process
/// (this test binary, executed again) when `RAINDROPS_TEST_READER` names a file.
#[test]
fn reader_process() {
    let Ok(path) = std::env::var("RAINDROPS_TEST_READER") else { return };
    let drops = Drops::open(&path).expect("open from a second process");
    assert_eq!(drops.snapshot(), [7, 0, u64::MAX]);
    drops.add(1, 5);
}

#[test]
fn a_file_is_shared_with_a_process_started_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counters");
    let drops = Drops::create(&path, 3).unwrap();
    drops.add(0, 7);
    drops.decr(2);

    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "reader_process", "--test-threads=1"])
        .env("RAINDROPS_TEST_READER", &path)
        .status()
        .unwrap();
    assert!(status.success(), "the reader process failed: {status}");
    // The second process's write is visible here, in the mapping made before it started.
    assert_eq!(drops.get(1), 5);
    // And to a third look at the file.
    drop(drops);
    assert_eq!(Drops::open(&path).unwrap().snapshot(), [7, 5, u64::MAX]);
}

#[test]
fn a_new_file_is_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counters");
    Drops::create(&path, 1).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn create_replaces_a_file_without_harming_its_mappers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counters");
    let old = Drops::create(&path, 64).unwrap();
    old.set(63, 1);
    let new = Drops::create(&path, 1).unwrap();
    // The old mapping still works (no SIGBUS): it maps the replaced inode.
    assert_eq!(old.incr(63), 2);
    assert_eq!(new.len(), 1);
    assert_eq!(Drops::open(&path).unwrap().len(), 1);
}

#[test]
fn resize_is_recorded_for_later_openers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counters");
    let mut drops = Drops::create(&path, 2).unwrap();
    drops.resize(5).unwrap();
    assert_eq!(Drops::open(&path).unwrap().len(), 5);
    let err = drops.resize(drops.capacity() + 1).unwrap_err();
    assert_eq!(
        err.kind(),
        &SegmentErrorKind::Capacity { requested: drops.capacity() + 1, capacity: drops.capacity() }
    );
}
