//! The resident memory of a pid, from `/proc/PID/statm`.
//!
//! Deliberately minimal: a stand-in for the `raindrops::memory` module (RSS, PSS, USS,
//! cgroups), which will replace it.

/// Resident set size of `pid` in bytes; `None` if the process is gone or `/proc` unreadable.
pub(super) fn rss_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    statm_rss(&statm, page_size())
}

/// The second field of `statm` (resident pages) times the page size.
fn statm_rss(statm: &str, page_size: u64) -> Option<u64> {
    statm.split_ascii_whitespace().nth(1)?.parse::<u64>().ok()?.checked_mul(page_size)
}

/// The host's page size (4096 if `sysconf` cannot tell).
fn page_size() -> u64 {
    let size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE);
    size.ok().flatten().and_then(|n| u64::try_from(n).ok()).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn statm_fields() {
        assert_eq!(statm_rss("2456 1012 812 2 0 190 0\n", 4096), Some(1012 * 4096));
        assert_eq!(statm_rss("2456", 4096), None);
        assert_eq!(statm_rss("", 4096), None);
        assert_eq!(statm_rss("1 -5 3", 4096), None);
        assert_eq!(statm_rss(&format!("1 {} 3", u64::MAX), 4096), None);
    }

    #[test]
    fn own_process_is_resident() {
        let rss = rss_bytes(std::process::id()).expect("our own statm");
        assert!(rss > 0 && rss % page_size() == 0, "{rss}");
        // Pids never reach PID_MAX_LIMIT (2^22).
        assert_eq!(rss_bytes(1 << 22), None);
    }

    proptest! {
        #[test]
        fn any_text_is_a_value_or_none(text in ".{0,64}") {
            let _ = statm_rss(&text, 4096);
        }

        #[test]
        fn numbers_are_read_exactly(size in 0u64..1 << 40, rss in 0u64..1 << 40) {
            prop_assert_eq!(statm_rss(&format!("{size} {rss} 3 4 0 5 0\n"), 4096), Some(rss * 4096));
        }
    }
}
