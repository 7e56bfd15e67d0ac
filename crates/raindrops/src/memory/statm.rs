//! `/proc/PID/statm`: seven page counts on one line.

use super::number::{ParseError, parse_u64};

/// The fields of `/proc/PID/statm`, in pages (see `proc(5)`).
///
/// ```
/// use raindrops::memory::Statm;
///
/// let statm = Statm::parse(b"765 424 396 5 0 123 0\n")?;
/// assert_eq!((statm.size, statm.resident, statm.shared), (765, 424, 396));
/// # Ok::<(), raindrops::memory::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Statm {
    /// Total program size (`VmSize`).
    pub size: u64,
    /// Resident pages (`VmRSS`): what [`MemoryMetric::Rss`](super::MemoryMetric::Rss) reports.
    pub resident: u64,
    /// Resident pages backed by a file or shared memory (`RssFile + RssShmem`).
    pub shared: u64,
    /// Text (code).
    pub text: u64,
    /// Library pages; always 0 since Linux 2.6.
    pub lib: u64,
    /// Data and stack.
    pub data: u64,
    /// Dirty pages; always 0 since Linux 2.6.
    pub dirty: u64,
}

impl Statm {
    /// Parses the file's bytes: exactly seven decimal numbers separated by single spaces, with
    /// an optional final newline. Allocates nothing.
    ///
    /// # Errors
    ///
    /// When a field is missing, not a number, too large for a `u64`, or a field too many.
    ///
    /// ```
    /// use raindrops::memory::Statm;
    /// assert!(Statm::parse(b"1 2 3\n").is_err());
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Statm, ParseError> {
        const NOT_A_NUMBER: [&str; 7] = [
            "field 1 is not a number",
            "field 2 is not a number",
            "field 3 is not a number",
            "field 4 is not a number",
            "field 5 is not a number",
            "field 6 is not a number",
            "field 7 is not a number",
        ];
        let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let mut fields = line.split(|&b| b == b' ');
        let mut values = [0u64; 7];
        for (value, error) in values.iter_mut().zip(NOT_A_NUMBER) {
            let field = fields.next().ok_or(ParseError::new("fewer than 7 fields"))?;
            *value = parse_u64(field).ok_or(ParseError::new(error))?;
        }
        if fields.next().is_some() {
            return Err(ParseError::new("more than 7 fields"));
        }
        let [size, resident, shared, text, lib, data, dirty] = values;
        Ok(Statm { size, resident, shared, text, lib, data, dirty })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn errors_name_the_field() {
        assert_eq!(Statm::parse(b"").unwrap_err().to_string(), "field 1 is not a number");
        assert_eq!(Statm::parse(b"1 2\n").unwrap_err().to_string(), "fewer than 7 fields");
        assert_eq!(Statm::parse(b"1 2 3 4 5 6 7 8").unwrap_err().to_string(), "more than 7 fields");
        assert_eq!(
            Statm::parse(b"1 2 3 4 5 6 x\n").unwrap_err().to_string(),
            "field 7 is not a number"
        );
        assert_eq!(
            Statm::parse(b"1  2 3 4 5 6 7").unwrap_err().to_string(),
            "field 2 is not a number"
        );
    }

    proptest! {
        #[test]
        fn well_formed_lines_parse_exactly(values: [u64; 7], newline: bool) {
            let mut line = values.map(|v| v.to_string()).join(" ");
            if newline {
                line.push('\n');
            }
            let [size, resident, shared, text, lib, data, dirty] = values;
            prop_assert_eq!(
                Statm::parse(line.as_bytes()),
                Ok(Statm { size, resident, shared, text, lib, data, dirty })
            );
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Statm::parse(&bytes);
        }

        #[test]
        fn digits_and_spaces_never_panic(line in "[0-9 \n]{0,200}") {
            let _ = Statm::parse(line.as_bytes());
        }
    }
}
