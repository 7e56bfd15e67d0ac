//! `/proc/PID/smaps_rollup`: the sums of `smaps` over every mapping, in kB.

use super::number::{ParseError, parse_u64};

/// The fields of `/proc/PID/smaps_rollup` that measure a process, in bytes.
///
/// ```
/// use raindrops::memory::SmapsRollup;
///
/// let text = b"00400000-7fff0000 ---p 00000000 00:00 0    [rollup]
/// Rss:                1616 kB
/// Pss:                 308 kB
/// Shared_Clean:       1464 kB
/// Shared_Dirty:          0 kB
/// Private_Clean:        40 kB
/// Private_Dirty:       112 kB
/// Private_Hugetlb:       0 kB
/// Swap:                  0 kB
/// ";
/// let rollup = SmapsRollup::parse(text)?;
/// assert_eq!(rollup.pss, 308 * 1024);
/// assert_eq!(rollup.uss(), (40 + 112) * 1024);
/// # Ok::<(), raindrops::memory::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SmapsRollup {
    /// Resident memory, shared pages in full (`Rss`).
    pub rss: u64,
    /// Proportional set size: each shared page divided by its sharers (`Pss`).
    pub pss: u64,
    /// Shared pages not written since mapped (`Shared_Clean`).
    pub shared_clean: u64,
    /// Shared pages written (`Shared_Dirty`).
    pub shared_dirty: u64,
    /// Private pages not written (`Private_Clean`).
    pub private_clean: u64,
    /// Private pages written (`Private_Dirty`).
    pub private_dirty: u64,
    /// Private hugetlbfs pages, not counted in `Rss` (`Private_Hugetlb`; 0 if absent).
    pub private_hugetlb: u64,
    /// Swapped-out anonymous memory (`Swap`; 0 if absent).
    pub swap: u64,
}

/// Where a key's value goes.
type Field = fn(&mut SmapsRollup) -> &mut u64;

/// The keys read, and where each goes; the first four are required.
const KEYS: [(&[u8], Field); 8] = [
    (b"Rss", |r| &mut r.rss),
    (b"Pss", |r| &mut r.pss),
    (b"Private_Clean", |r| &mut r.private_clean),
    (b"Private_Dirty", |r| &mut r.private_dirty),
    (b"Shared_Clean", |r| &mut r.shared_clean),
    (b"Shared_Dirty", |r| &mut r.shared_dirty),
    (b"Private_Hugetlb", |r| &mut r.private_hugetlb),
    (b"Swap", |r| &mut r.swap),
];
const REQUIRED: usize = 4;

impl SmapsRollup {
    /// Unique set size: the private pages, `Private_Clean + Private_Dirty + Private_Hugetlb`.
    ///
    /// ```
    /// let rollup = raindrops::memory::SmapsRollup { private_clean: 1, private_dirty: 2, ..Default::default() };
    /// assert_eq!(rollup.uss(), 3);
    /// ```
    pub fn uss(&self) -> u64 {
        self.private_clean.saturating_add(self.private_dirty).saturating_add(self.private_hugetlb)
    }

    /// Parses the file's bytes. Lines other than `Key: N kB` (the header naming the address
    /// range) and unknown keys are skipped; a known key with another value is an error.
    /// Allocates nothing.
    ///
    /// # Errors
    ///
    /// When `Rss`, `Pss`, `Private_Clean` or `Private_Dirty` is missing, or a known key's value
    /// is not `N kB` with `N * 1024` fitting in a `u64`.
    ///
    /// ```
    /// use raindrops::memory::SmapsRollup;
    /// let err = SmapsRollup::parse(b"Rss: 1 kB\n").unwrap_err();
    /// assert_eq!(err.to_string(), "a required field (Rss, Pss, Private_Clean, Private_Dirty) is missing");
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<SmapsRollup, ParseError> {
        let mut rollup = SmapsRollup::default();
        let mut seen = [false; KEYS.len()];
        for line in bytes.split(|&b| b == b'\n') {
            let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
            let (key, value) = (&line[..colon], &line[colon + 1..]);
            let Some(index) = KEYS.iter().position(|(name, _)| *name == key) else { continue };
            *KEYS[index].1(&mut rollup) = kilobytes(value)?;
            seen[index] = true;
        }
        if !seen[..REQUIRED].iter().all(|&seen| seen) {
            return Err(ParseError::new(
                "a required field (Rss, Pss, Private_Clean, Private_Dirty) is missing",
            ));
        }
        Ok(rollup)
    }
}

/// `   1234 kB` in bytes.
fn kilobytes(value: &[u8]) -> Result<u64, ParseError> {
    let digits = value.trim_ascii_start().strip_suffix(b" kB");
    digits
        .and_then(parse_u64)
        .and_then(|kb| kb.checked_mul(1024))
        .ok_or(ParseError::new("a field is not `N kB` (or N kB overflows 64 bits)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The file as Linux 6.x writes it, with `values` (kB) in the order of [`KEYS`].
    fn file(values: [u64; 8]) -> String {
        let [rss, pss, private_clean, private_dirty, shared_clean, shared_dirty, hugetlb, swap] =
            values;
        format!(
            "562039827000-7ffdc537f000 ---p 00000000 00:00 0                          [rollup]\n\
             Rss:            {rss:>8} kB\nPss:            {pss:>8} kB\nPss_Dirty:           112 kB\n\
             Pss_Anon:            112 kB\nShared_Clean:   {shared_clean:>8} kB\n\
             Shared_Dirty:   {shared_dirty:>8} kB\nPrivate_Clean:  {private_clean:>8} kB\n\
             Private_Dirty:  {private_dirty:>8} kB\nReferenced:         1616 kB\n\
             Anonymous:           112 kB\nShared_Hugetlb:        0 kB\n\
             Private_Hugetlb:{hugetlb:>8} kB\nSwap:           {swap:>8} kB\nSwapPss:               0 kB\n"
        )
    }

    #[test]
    fn a_real_file_parses() {
        let rollup = SmapsRollup::parse(file([1616, 308, 40, 112, 1464, 0, 2048, 7]).as_bytes());
        assert_eq!(
            rollup,
            Ok(SmapsRollup {
                rss: 1616 * 1024,
                pss: 308 * 1024,
                shared_clean: 1464 * 1024,
                shared_dirty: 0,
                private_clean: 40 * 1024,
                private_dirty: 112 * 1024,
                private_hugetlb: 2048 * 1024,
                swap: 7 * 1024,
            })
        );
    }

    #[test]
    fn optional_fields_default_to_zero() {
        let text = b"Rss: 8 kB\nPss: 4 kB\nPrivate_Clean: 0 kB\nPrivate_Dirty: 4 kB";
        let rollup = SmapsRollup::parse(text).unwrap();
        assert_eq!((rollup.uss(), rollup.private_hugetlb, rollup.swap), (4096, 0, 0));
    }

    #[test]
    fn a_bad_value_is_an_error() {
        let text = b"Rss: 8 kB\nPss: 4 MB\nPrivate_Clean: 0 kB\nPrivate_Dirty: 4 kB";
        assert!(SmapsRollup::parse(text).is_err());
        let huge = format!("Rss: {} kB", u64::MAX / 1024 + 1);
        assert!(SmapsRollup::parse(huge.as_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn well_formed_files_parse_exactly(values in proptest::array::uniform8(0..u64::MAX / 1024)) {
            let rollup = SmapsRollup::parse(file(values).as_bytes()).unwrap();
            let got = [
                rollup.rss, rollup.pss, rollup.private_clean, rollup.private_dirty,
                rollup.shared_clean, rollup.shared_dirty, rollup.private_hugetlb, rollup.swap,
            ];
            prop_assert_eq!(got, values.map(|kb| kb * 1024));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = SmapsRollup::parse(&bytes);
        }

        #[test]
        fn mutated_files_never_panic(cut in 0usize..900, junk in "[A-Za-z_: 0-9\n]{0,40}") {
            let mut text = file([1, 2, 3, 4, 5, 6, 7, 8]);
            text.truncate(cut.min(text.len()));
            text.push_str(&junk);
            let _ = SmapsRollup::parse(text.as_bytes());
        }
    }
}
