//! Parsers for the recycling flags: sizes (`64M`, `1G`, plain bytes), counts, and inclusive
//! ranges of either (`MIN..MAX`, or one value for both ends). Errors name the text at fault
//! and say what was expected; clap prefixes the flag and exits 2.

use std::ops::RangeInclusive;

/// What a size may end with, and its factor.
const UNITS: [(&str, u64); 5] =
    [("", 1), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)];

/// Parses a size in bytes: a whole number with an optional binary unit `K`, `M`, `G` or `T`
/// (any case, optionally followed by `B` or `iB`): `4096`, `64M`, `1GiB`.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let unit = unit.to_ascii_uppercase();
    let unit = unit.strip_suffix("IB").or_else(|| unit.strip_suffix('B')).unwrap_or(&unit);
    let factor = UNITS.iter().find(|(name, _)| *name == unit).map(|(_, factor)| *factor);
    let Some(factor) = factor.filter(|_| !number.is_empty()) else {
        return Err(format!(
            "{text:?} is not a size: use a whole number of bytes, optionally with K, M, G or T \
             (64M, 1G)"
        ));
    };
    let number: u64 = number.parse().map_err(|_| format!("{text:?} is too large a size"))?;
    number.checked_mul(factor).ok_or_else(|| format!("{text:?} is too large a size"))
}

/// Parses a whole number (a count of requests).
pub(crate) fn parse_count(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} is not a whole number"));
    }
    trimmed.parse().map_err(|_| format!("{text:?} is too large"))
}

/// Parses `MIN..MAX` (or a single value, meaning both) with `one`; MIN must not exceed MAX.
pub(crate) fn parse_range<T: PartialOrd + Copy + std::fmt::Debug>(
    text: &str,
    one: fn(&str) -> Result<T, String>,
) -> Result<RangeInclusive<T>, String> {
    let (min, max) = match text.split_once("..") {
        Some((min, max)) => (one(min)?, one(max.strip_prefix('=').unwrap_or(max))?),
        None => {
            let value = one(text)?;
            (value, value)
        }
    };
    if min > max {
        return Err(format!("{text:?} is an empty range: MIN ({min:?}) is above MAX ({max:?})"));
    }
    Ok(min..=max)
}

/// `--max-memory`: a range of sizes, MIN at least one byte.
pub(crate) fn parse_size_range(text: &str) -> Result<RangeInclusive<u64>, String> {
    parse_range(text, parse_size).and_then(|range| positive(text, range))
}

/// `--max-requests`: a range of counts, MIN at least 1.
pub(crate) fn parse_count_range(text: &str) -> Result<RangeInclusive<u64>, String> {
    parse_range(text, parse_count).and_then(|range| positive(text, range))
}

/// `--memory-budget`: a size of at least one byte.
pub(crate) fn parse_positive_size(text: &str) -> Result<u64, String> {
    parse_size(text).and_then(|size| positive(text, size..=size)).map(|range| *range.start())
}

/// Refuses a limit of 0, which would recycle every worker as soon as it starts.
fn positive(text: &str, range: RangeInclusive<u64>) -> Result<RangeInclusive<u64>, String> {
    if *range.start() == 0 {
        return Err(format!(
            "{text:?} allows 0, which would recycle workers endlessly: use 1 or more"
        ));
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2kb"), Ok(2048));
        assert_eq!(parse_size("3B"), Ok(3));
        for bad in ["", "M", "1.5G", "-1", "1X", "1 G", "G1"] {
            let err = parse_size(bad).unwrap_err();
            assert!(err.starts_with(&format!("{bad:?} is not a size")), "{bad}: {err}");
        }
        assert_eq!(parse_size("20000000T"), Err("\"20000000T\" is too large a size".into()));
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_size_range("64M..128M"), Ok(64 << 20..=128 << 20));
        assert_eq!(parse_size_range("64M..=64M"), Ok(64 << 20..=64 << 20));
        assert_eq!(parse_size_range("1G"), Ok(1 << 30..=1 << 30));
        assert_eq!(parse_count_range("1000..2000"), Ok(1000..=2000));
        assert_eq!(
            parse_count_range("20..10"),
            Err("\"20..10\" is an empty range: MIN (20) is above MAX (10)".into())
        );
        assert_eq!(parse_count_range("1k..2"), Err("\"1k\" is not a whole number".into()));
        assert!(parse_size_range("..").is_err());
        assert!(parse_size_range("1M..").is_err());
    }

    #[test]
    fn limits_of_zero_are_refused() {
        for zero in ["0", "0..10", "0B..1M"] {
            assert!(parse_size_range(zero).unwrap_err().contains("allows 0"), "{zero}");
        }
        assert!(parse_count_range("0..5").unwrap_err().contains("allows 0"));
        assert!(parse_positive_size("0M").unwrap_err().contains("allows 0"));
        assert_eq!(parse_positive_size("1"), Ok(1));
        assert_eq!(parse_count_range("1..1"), Ok(1..=1));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errs_never_panics(text in "\\PC{0,24}") {
            let _ = parse_size_range(&text);
            let _ = parse_count_range(&text);
        }

        #[test]
        fn sizes_round_trip(n in 0u64..1 << 40, unit in 0usize..5, lower in any::<bool>()) {
            let (name, factor) = UNITS[unit];
            let name = if lower { name.to_ascii_lowercase() } else { name.to_owned() };
            let parsed = parse_size(&format!("{n}{name}"));
            match n.checked_mul(factor) {
                Some(bytes) => prop_assert_eq!(parsed, Ok(bytes)),
                None => prop_assert!(parsed.unwrap_err().contains("too large")),
            }
        }

        #[test]
        fn ranges_keep_their_ends(a in any::<u64>(), b in any::<u64>()) {
            let parsed = parse_count_range(&format!("{a}..{b}"));
            if a == 0 {
                prop_assert!(parsed.is_err());
            } else if a <= b {
                prop_assert_eq!(parsed, Ok(a..=b));
            } else {
                prop_assert!(parsed.unwrap_err().contains("empty range"));
            }
        }
    }
}
