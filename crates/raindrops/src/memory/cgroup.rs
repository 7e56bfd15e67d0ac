//! The memory usage file of a process's cgroup: v2 `memory.current`, or v1
//! `memory.usage_in_bytes` on hosts still using the v1 memory controller.

use std::io;
use std::path::{Path, PathBuf};

use super::error::MemoryError;
use super::procfs::procfs_mounted;

/// A process's cgroups, from `/proc/PID/cgroup`.
///
/// ```
/// use raindrops::memory::CgroupPaths;
///
/// let paths = CgroupPaths::parse("4:memory:/app\n0::/app/web\n");
/// assert_eq!(paths.unified.as_deref(), Some("/app/web"));
/// assert_eq!(paths.memory_v1.as_deref(), Some("/app"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupPaths {
    /// The cgroup v2 path (the `0::PATH` line).
    pub unified: Option<String>,
    /// The cgroup v1 memory controller's path (the `N:memory:PATH` line).
    pub memory_v1: Option<String>,
}

impl CgroupPaths {
    /// Parses `/proc/PID/cgroup`: lines of `hierarchy:controllers:path`; others are skipped.
    ///
    /// ```
    /// let paths = raindrops::memory::CgroupPaths::parse("garbage\n0::/\n");
    /// assert_eq!(paths.unified.as_deref(), Some("/"));
    /// assert_eq!(paths.memory_v1, None);
    /// ```
    pub fn parse(text: &str) -> CgroupPaths {
        let mut paths = CgroupPaths::default();
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(hierarchy), Some(controllers), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if hierarchy == "0" && controllers.is_empty() {
                paths.unified = Some(path.to_owned());
            } else if controllers.split(',').any(|c| c == "memory") {
                paths.memory_v1 = Some(path.to_owned());
            }
        }
        paths
    }
}

/// One line of `/proc/self/mountinfo`: what is mounted where.
#[derive(Debug, PartialEq, Eq)]
struct Mount {
    /// The directory of the filesystem mounted (for a cgroup: the cgroup at the mount point).
    root: String,
    /// Where it is mounted.
    point: PathBuf,
    fstype: String,
    super_options: String,
}

impl Mount {
    /// Parses `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER`.
    fn parse(line: &str) -> Option<Mount> {
        let (head, tail) = line.split_once(" - ")?;
        let mut head = head.split(' ');
        let root = unescape(head.nth(3)?);
        let point = PathBuf::from(unescape(head.next()?));
        let mut tail = tail.split(' ');
        let fstype = tail.next()?.to_owned();
        let super_options = tail.nth(1)?.to_owned();
        Some(Mount { root, point, fstype, super_options })
    }

    /// Where cgroup `path` of this hierarchy is, if it is under this mount.
    fn locate(&self, path: &str) -> Option<PathBuf> {
        let relative = path.strip_prefix(self.root.trim_end_matches('/'))?;
        if !relative.is_empty() && !relative.starts_with('/') {
            return None; // `/app2` is not under a mount of `/app`.
        }
        Some(self.point.join(relative.trim_start_matches('/')))
    }
}

/// Undoes mountinfo's octal escapes (`\040` for a space, `\134` for a backslash...).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|_| bytes[i] == b'\\').and_then(|digits| {
            digits.iter().try_fold(0u8, |n, &d| {
                let digit = d.checked_sub(b'0').filter(|d| *d < 8)?;
                n.checked_mul(8)?.checked_add(digit)
            })
        });
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The candidate usage files for `paths` given this mount table, best first: v2 then v1.
fn candidates(paths: &CgroupPaths, mountinfo: &str) -> Vec<PathBuf> {
    let mounts: Vec<Mount> = mountinfo.lines().filter_map(Mount::parse).collect();
    let mut files = Vec::new();
    if let Some(path) = &paths.unified {
        files.extend(
            mounts
                .iter()
                .filter(|m| m.fstype == "cgroup2")
                .filter_map(|m| Some(m.locate(path)?.join("memory.current"))),
        );
    }
    if let Some(path) = &paths.memory_v1 {
        files.extend(
            mounts
                .iter()
                .filter(|m| {
                    m.fstype == "cgroup" && m.super_options.split(',').any(|o| o == "memory")
                })
                .filter_map(|m| Some(m.locate(path)?.join("memory.usage_in_bytes"))),
        );
    }
    files
}

/// The file holding the memory usage of `pid`'s cgroup: v2 `memory.current` if the unified
/// hierarchy has the memory controller there, else v1 `memory.usage_in_bytes`. Mount points
/// come from this process's `/proc/self/mountinfo`.
///
/// # Errors
///
/// [`MemoryError::NoProcess`] if `pid` does not exist, [`MemoryError::NoCgroup`] (listing the
/// files tried) if no usage file exists, [`MemoryError::Read`] if procfs cannot be read.
///
/// ```no_run
/// let file = raindrops::memory::cgroup_memory_file(std::process::id())?;
/// assert!(file.ends_with("memory.current") || file.ends_with("memory.usage_in_bytes"));
/// # Ok::<(), raindrops::memory::MemoryError>(())
/// ```
pub fn cgroup_memory_file(pid: u32) -> Result<PathBuf, MemoryError> {
    let cgroup = PathBuf::from(format!("/proc/{pid}/cgroup"));
    let paths = match std::fs::read_to_string(&cgroup) {
        Ok(text) => CgroupPaths::parse(&text),
        Err(err) if err.kind() == io::ErrorKind::NotFound && procfs_mounted() => {
            return Err(MemoryError::NoProcess { pid });
        }
        Err(source) => return Err(MemoryError::Read { file: cgroup, source }),
    };
    let mountinfo = Path::new("/proc/self/mountinfo");
    let mounts = std::fs::read_to_string(mountinfo)
        .map_err(|source| MemoryError::Read { file: mountinfo.to_owned(), source })?;
    let tried = candidates(&paths, &mounts);
    if let Some(found) = tried.iter().find(|file| file.is_file()) {
        return Ok(found.clone());
    }
    let tried: Vec<String> = tried.iter().map(|file| file.display().to_string()).collect();
    Err(MemoryError::NoCgroup {
        pid,
        detail: if tried.is_empty() {
            format!("{paths:?} has no mounted cgroup2 or v1 memory hierarchy")
        } else {
            format!("none of {} exists (is the memory controller enabled?)", tried.join(", "))
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_hosts_try_v2_then_v1() {
        let paths = CgroupPaths::parse("4:memory:/process_api/abc\n1:cpu:/\n0::/\n");
        assert_eq!(
            candidates(&paths, HYBRID),
            [
                PathBuf::from("/sys/fs/cgroup/unified/memory.current"),
                PathBuf::from("/sys/fs/cgroup/memory/process_api/abc/memory.usage_in_bytes"),
            ]
        );
    }

    #[test]
    fn a_container_sees_its_cgroup_at_the_mount_root() {
        // Inside a cgroup namespace the mount's root is the container's own cgroup.
        let mountinfo =
            "1 0 0:1 /docker/xyz /sys/fs/cgroup rw shared:9 - cgroup2 cgroup2 rw,nsdelegate\n";
        let paths = CgroupPaths::parse("0::/docker/xyz/web\n");
        assert_eq!(
            candidates(&paths, mountinfo),
            [PathBuf::from("/sys/fs/cgroup/web/memory.current")]
        );
        let elsewhere = CgroupPaths::parse("0::/docker/xyz2\n");
        assert!(candidates(&elsewhere, mountinfo).is_empty());
    }

    #[test]
    fn escaped_mount_points() {
        let line = r"7 1 0:5 / /mnt/with\040space rw - cgroup2 none rw";
        assert_eq!(Mount::parse(line).unwrap().point, PathBuf::from("/mnt/with space"));
        assert_eq!(unescape(r"a\134b\0"), r"a\b\0");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}", mounts in "[ -~\n\\\\]{0,300}") {
            let paths = CgroupPaths::parse(&text);
            let _ = candidates(&paths, &mounts);
            for line in mounts.lines() {
                let _ = Mount::parse(line);
            }
        }

        #[test]
        fn well_formed_lines_parse_exactly(hierarchy in 1u32..20, path in "(/[a-z0-9_.-]{1,8}){0,4}") {
            let path = if path.is_empty() { "/".to_owned() } else { path };
            let text = format!("{hierarchy}:memory:{path}\n0::{path}\n");
            let paths = CgroupPaths::parse(&text);
            prop_assert_eq!(paths.unified.as_deref(), Some(path.as_str()));
            prop_assert_eq!(paths.memory_v1.as_deref(), Some(path.as_str()));
        }
    }
}
