//! `ps -o rss= -p PID`: RSS on hosts without procfs.

use std::process::Command;

use super::error::MemoryError;
use super::number::{ParseError, parse_u64};

/// The RSS of `pid` in bytes, as `ps -o rss= -p PID` reports it (in KiB).
///
/// This is what [`MemoryProbe`](super::MemoryProbe) falls back to for RSS when `/proc` is not
/// mounted; it spawns a process, so it costs milliseconds rather than microseconds.
///
/// # Errors
///
/// [`MemoryError::NoProcess`] when `ps` finds no such process, [`MemoryError::Ps`] when `ps`
/// cannot run or answers something else than a number.
///
/// ```
/// # use raindrops_test_support::external::{PS, require};
/// # let Some(_) = require(&PS) else { return Ok(()) };
/// let rss = raindrops::memory::ps_rss(std::process::id())?;
/// assert!(rss > 0);
/// # Ok::<(), raindrops::memory::MemoryError>(())
/// ```
pub fn ps_rss(pid: u32) -> Result<u64, MemoryError> {
    let output = Command::new("ps")
        .args(["-o", "rss=", "-p", &pid.to_string()])
        .output()
        .map_err(|err| MemoryError::Ps { pid, detail: format!("cannot run ps: {err}") })?;
    if output.stdout.trim_ascii().is_empty() && !output.status.success() {
        return Err(MemoryError::NoProcess { pid });
    }
    parse(&output.stdout).map_err(|err| MemoryError::Ps {
        pid,
        detail: format!("{err}: {:?}", String::from_utf8_lossy(&output.stdout)),
    })
}

/// `ps`'s answer: one number of KiB between blanks; in bytes.
fn parse(stdout: &[u8]) -> Result<u64, ParseError> {
    parse_u64(stdout.trim_ascii())
        .and_then(|kib| kib.checked_mul(1024))
        .ok_or(ParseError::new("expected one number of KiB"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn answers() {
        assert_eq!(parse(b" 4248\n"), Ok(4248 * 1024));
        assert!(parse(b"").is_err());
        assert!(parse(b"12 34\n").is_err());
        assert!(parse(b"RSS\n 12\n").is_err());
    }

    #[test]
    fn no_such_process_is_named() {
        raindrops_test_support::require_external!(raindrops_test_support::external::PS);
        // Pid 0 is never a user process, so ps finds nothing.
        let err = ps_rss(0).unwrap_err();
        assert!(matches!(err, MemoryError::NoProcess { pid: 0 }), "{err}");
    }

    proptest! {
        #[test]
        fn well_formed_answers_parse_exactly(kib in 0..u64::MAX / 1024, pad in 0usize..8) {
            let line = format!("{}{kib}\n", " ".repeat(pad));
            prop_assert_eq!(parse(line.as_bytes()), Ok(kib * 1024));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes);
        }
    }
}
