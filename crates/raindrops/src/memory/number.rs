//! Decimal numbers in kernel text files, parsed from bytes without allocating.

/// What was wrong with a procfs or cgroup file's bytes.
///
/// ```
/// use raindrops::memory::Statm;
/// let err = Statm::parse(b"12 x 3 4 0 5 0\n").unwrap_err();
/// assert_eq!(err.to_string(), "field 2 is not a number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct ParseError {
    what: &'static str,
}

impl ParseError {
    pub(super) fn new(what: &'static str) -> Self {
        ParseError { what }
    }
}

/// An unsigned decimal number of 1 to 20 ASCII digits that fits in a `u64`.
pub(super) fn parse_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A file holding one number and a newline (`memory.current`).
pub(super) fn parse_line(bytes: &[u8]) -> Result<u64, ParseError> {
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    parse_u64(line).ok_or(ParseError::new("not a single number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b" 1"), None);
        assert_eq!(parse_line(b"4096\n"), Ok(4096));
        assert_eq!(parse_line(b"max\n"), Err(ParseError::new("not a single number")));
    }

    proptest! {
        #[test]
        fn every_u64_round_trips(n: u64) {
            prop_assert_eq!(parse_u64(n.to_string().as_bytes()), Some(n));
            prop_assert_eq!(parse_line(format!("{n}\n").as_bytes()), Ok(n));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse_line(&bytes);
        }
    }
}
