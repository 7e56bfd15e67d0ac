//! Who holds the `flock` of a file, from `/proc/locks`: for an error message that names the
//! process a segment file belongs to.

use std::fs::File;
use std::os::unix::fs::MetadataExt;

/// The process that holds the lock of `file`, and its command name, when `/proc/locks` tells.
pub(crate) fn holder(file: &File) -> Option<(u32, Option<String>)> {
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    let id = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev), meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid = find(&locks, id)?;
    let command = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|comm| comm.trim_end().to_owned());
    Some((pid, command))
}

/// The pid of the first granted `FLOCK` line of `locks` (the text of `/proc/locks`) on the file
/// `(major, minor, inode)`. A line reads `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`,
/// with the device numbers in hex; waiters' lines have `->` after the number.
fn find(locks: &str, (major, minor, inode): (u64, u64, u64)) -> Option<u32> {
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, "FLOCK", _, _, pid, file, ..] = fields.as_slice() else { return None };
        let mut parts = file.split(':');
        let maj = u64::from_str_radix(parts.next()?, 16).ok()?;
        let min = u64::from_str_radix(parts.next()?, 16).ok()?;
        let ino: u64 = parts.next()?.parse().ok()?;
        ((maj, min, ino) == (major, minor, inode)).then(|| pid.parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;
    use crate::sys::flock::try_lock_exclusive;

    #[test]
    fn lines_are_matched_on_device_and_inode() {
        let locks = "1: POSIX  ADVISORY  WRITE 10 08:01:77 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 20 fd:1a:99 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 30 fd:1a:77 0 EOF\n\
                     3: FLOCK  ADVISORY  WRITE 40 08:01:77 0 EOF\n";
        assert_eq!(find(locks, (8, 1, 77)), Some(40));
        assert_eq!(find(locks, (0xfd, 0x1a, 99)), Some(20));
        assert_eq!(find(locks, (0xfd, 0x1a, 77)), None);
        assert_eq!(find("garbage\n\n1: FLOCK\n", (8, 1, 77)), None);
    }

    #[test]
    fn the_holder_of_a_real_lock_is_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked");
        let first = File::create(&path).unwrap();
        assert!(try_lock_exclusive(first.as_fd()).unwrap());
        // Another open file description of the same file: the lock is not ours there.
        let second = File::open(&path).unwrap();
        assert!(!try_lock_exclusive(second.as_fd()).unwrap());
        let (pid, command) = holder(&second).expect("a holder in /proc/locks");
        assert_eq!(pid, std::process::id());
        assert!(command.is_some());
        drop(first);
        assert!(try_lock_exclusive(second.as_fd()).unwrap(), "released when closed");
    }
}
