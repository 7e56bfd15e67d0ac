//! Opening bad segment files: each failure has its own error, naming the file, and none crashes.
#![cfg(target_os = "linux")]

mod util;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use raindrops::{Drops, SegmentErrorKind};

fn open_kind(path: &Path) -> SegmentErrorKind {
    let err = Drops::open(path).unwrap_err();
    assert_eq!(err.path(), Some(path));
    assert!(err.to_string().starts_with(&path.display().to_string()), "{err}");
    err.kind().clone()
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope");
    assert_eq!(open_kind(&path), SegmentErrorKind::NotFound);
    assert_eq!(
        Drops::open(&path).unwrap_err().to_string(),
        format!("{}: no such segment file", path.display())
    );
}

#[test]
fn file_shorter_than_a_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short");
    std::fs::write(&path, b"RAINDROP").unwrap();
    assert_eq!(open_kind(&path), SegmentErrorKind::TooShort { len: 8 });
}

#[test]
fn foreign_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign");
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    assert_eq!(open_kind(&path), SegmentErrorKind::BadMagic { found: *b"xxxxxxxx" });
}

#[test]
fn other_layout_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2");
    Drops::create(&path, 1).unwrap();
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&2u32.to_ne_bytes(), 8).unwrap();
    assert_eq!(open_kind(&path), SegmentErrorKind::Version { found: 2 });
    let message = Drops::open(&path).unwrap_err().to_string();
    assert!(message.ends_with("segment layout version 2, this build reads version 1"), "{message}");
}

#[test]
fn other_slot_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slot64");
    Drops::create(&path, 1).unwrap();
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all_at(&64u32.to_ne_bytes(), 12).unwrap();
    assert_eq!(open_kind(&path), SegmentErrorKind::SlotSize { found: 64 });
}

#[test]
fn truncated_file_is_an_error_not_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated");
    let drops = Drops::create(&path, 100).unwrap();
    let full = std::fs::metadata(&path).unwrap().len();
    drop(drops);
    OpenOptions::new().write(true).open(&path).unwrap().set_len(full - 4096).unwrap();
    assert_eq!(open_kind(&path), SegmentErrorKind::Truncated { len: full - 4096, need: full });
}

#[test]
fn corrupt_header_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt");
    Drops::create(&path, 1).unwrap();
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    // Slots in use beyond the capacity.
    file.write_all_at(&u64::MAX.to_ne_bytes(), 32).unwrap();
    assert!(matches!(open_kind(&path), SegmentErrorKind::Corrupt { .. }));
}

#[test]
fn wrong_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private");
    Drops::create(&path, 1).unwrap();
    if nix::unistd::geteuid().is_root() {
        // root ignores file modes: check from a child that drops to `nobody`.
        let child = util::spawn(|| {
            if nix::unistd::setuid(nix::unistd::Uid::from_raw(65534)).is_err() {
                return 2;
            }
            match Drops::open(&path) {
                Err(err) if err.kind() == &SegmentErrorKind::PermissionDenied => 0,
                _ => 1,
            }
        });
        assert_eq!(util::wait(child), 0);
    } else {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        assert_eq!(open_kind(&path), SegmentErrorKind::PermissionDenied);
    }
}
