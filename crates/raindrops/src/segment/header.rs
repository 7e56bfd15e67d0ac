//! The segment header: its fixed fields, their limits, and [`HeaderInfo`], which encodes a new
//! header and decodes and checks one read from a file (untrusted input).

use std::io;

use super::error::SegmentErrorKind;
use super::format::{
    FIXED_HEADER, HEADER_ALIGN, MAGIC, MAX_FILE_SLOTS, MAX_HEADER_LEN, MAX_ROW_WIDTH, MAX_ROWS,
    OFF_CAPACITY, OFF_HEADER_LEN, OFF_LEN, OFF_NAMES_LEN, OFF_ROW_WIDTH, OFF_ROWS, OFF_SLOT_SIZE,
    OFF_VERSION, VERSION,
};
use super::names::{check_name, decode_names, encode_names};
use super::slot::SLOT_SIZE;
use crate::schema::Field;

/// How a segment's slots are organised: plain, named fields, or rows of named fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Worker rows (0: not split into rows).
    pub(crate) rows: u32,
    /// Slots per row.
    pub(crate) row_width: u32,
    /// The named fields (empty for a plain `Drops`).
    pub(crate) fields: Vec<Field>,
}

/// What a header says, decoded and checked from raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HeaderInfo {
    pub(super) header_len: usize,
    pub(super) capacity: usize,
    pub(super) len: usize,
    pub(super) layout: Layout,
}

impl HeaderInfo {
    /// Bytes of the whole segment.
    pub(super) fn total_len(&self) -> usize {
        // Checked in `decode`.
        self.header_len + self.capacity * SLOT_SIZE
    }

    /// Builds the header of a new segment of at least `slots` slots.
    pub(super) fn for_new(slots: usize, layout: Layout) -> Result<Self, SegmentErrorKind> {
        for field in &layout.fields {
            check_name(&field.name)?;
        }
        let names_len = encode_names(&layout.fields).len();
        let header_len = round_up(FIXED_HEADER + names_len, HEADER_ALIGN);
        check_limit("header length", header_len as u64, MAX_HEADER_LEN as u64)?;
        check_limit("worker rows", layout.rows.into(), MAX_ROWS.into())?;
        check_limit("slots per row", layout.row_width.into(), MAX_ROW_WIDTH.into())?;
        let page = page_size();
        let too_big = || SegmentErrorKind::Capacity { requested: slots, capacity: max_slots() };
        let bytes = slots.checked_mul(SLOT_SIZE).ok_or_else(too_big)?;
        let capacity = round_up_checked(bytes, page).ok_or_else(too_big)? / SLOT_SIZE;
        if capacity > max_slots() {
            return Err(too_big());
        }
        Ok(HeaderInfo { header_len, capacity, len: slots, layout })
    }

    /// The header's bytes (the `header_len` first bytes of the segment).
    pub(super) fn encode(&self) -> Vec<u8> {
        let names = encode_names(&self.layout.fields);
        let mut bytes = vec![0u8; self.header_len];
        bytes[..8].copy_from_slice(&MAGIC);
        put(&mut bytes, OFF_VERSION, &VERSION.to_ne_bytes());
        put(&mut bytes, OFF_SLOT_SIZE, &(SLOT_SIZE as u32).to_ne_bytes());
        put(&mut bytes, OFF_HEADER_LEN, &(self.header_len as u64).to_ne_bytes());
        put(&mut bytes, OFF_CAPACITY, &(self.capacity as u64).to_ne_bytes());
        put(&mut bytes, OFF_LEN, &(self.len as u64).to_ne_bytes());
        put(&mut bytes, OFF_ROWS, &self.layout.rows.to_ne_bytes());
        put(&mut bytes, OFF_ROW_WIDTH, &self.layout.row_width.to_ne_bytes());
        put(&mut bytes, OFF_NAMES_LEN, &(names.len() as u32).to_ne_bytes());
        put(&mut bytes, FIXED_HEADER, names.as_bytes());
        bytes
    }

    /// Decodes and checks a header from the first bytes of a file (untrusted input).
    ///
    /// `bytes` holds at least the fixed header; the names table is read through `names`,
    /// which is given the byte range to read once it is known to be in bounds.
    pub(super) fn decode(
        bytes: &[u8],
        file_len: u64,
        names: impl FnOnce(usize, usize) -> io::Result<Vec<u8>>,
    ) -> Result<Self, DecodeError> {
        // A foreign file is reported as such, even when it is also short.
        if let Some(start) = bytes.get(..8) {
            let mut magic = [0u8; 8];
            magic.copy_from_slice(start);
            if magic != MAGIC {
                return Err(SegmentErrorKind::BadMagic { found: magic }.into());
            }
        }
        if bytes.len() < FIXED_HEADER {
            return Err(SegmentErrorKind::TooShort { len: file_len }.into());
        }
        let version = get_u32(bytes, OFF_VERSION);
        if version != VERSION {
            return Err(SegmentErrorKind::Version { found: version }.into());
        }
        let slot_size = get_u32(bytes, OFF_SLOT_SIZE);
        if slot_size as usize != SLOT_SIZE {
            return Err(SegmentErrorKind::SlotSize { found: slot_size }.into());
        }
        let corrupt = |reason: &'static str| -> DecodeError {
            SegmentErrorKind::Corrupt { reason: reason.into() }.into()
        };
        // Every size is checked against its limit before it is used in any arithmetic, so
        // nothing below can overflow and nothing large is allocated or mapped.
        let header_len = get_u64(bytes, OFF_HEADER_LEN);
        check_limit("header length", header_len, MAX_HEADER_LEN as u64)?;
        let header_len = header_len as usize;
        if header_len < HEADER_ALIGN || header_len % HEADER_ALIGN != 0 {
            return Err(corrupt("header length is not a positive multiple of 4096"));
        }
        let rows = get_u32(bytes, OFF_ROWS);
        check_limit("worker rows", rows.into(), MAX_ROWS.into())?;
        let row_width = get_u32(bytes, OFF_ROW_WIDTH);
        check_limit("slots per row", row_width.into(), MAX_ROW_WIDTH.into())?;
        let capacity = get_u64(bytes, OFF_CAPACITY);
        check_limit("capacity", capacity, MAX_FILE_SLOTS as u64)?;
        let capacity = capacity as usize;
        let len = get_u64(bytes, OFF_LEN);
        if len > capacity as u64 {
            return Err(corrupt("slots in use exceed the capacity"));
        }
        let len = len as usize;
        let names_len = get_u32(bytes, OFF_NAMES_LEN) as usize;
        if names_len > header_len - FIXED_HEADER {
            return Err(corrupt("names table overflows the header"));
        }
        let need = header_len + capacity * SLOT_SIZE;
        if file_len < need as u64 {
            return Err(SegmentErrorKind::Truncated { len: file_len, need: need as u64 }.into());
        }
        let names = names(FIXED_HEADER, names_len).map_err(DecodeError::Io)?;
        let fields = decode_names(&names)?;
        if rows > 0 {
            let row_slots = (rows as usize + 1) * row_width as usize;
            // Whether each row also holds its fields (and what else) is the caller's to check.
            if row_slots > len {
                return Err(corrupt("worker rows do not fit the slots in use"));
            }
        }
        Ok(HeaderInfo { header_len, capacity, len, layout: Layout { rows, row_width, fields } })
    }
}

/// A header decoding failure: a format problem or an I/O error reading the names table.
#[derive(Debug)]
pub(super) enum DecodeError {
    Format(SegmentErrorKind),
    Io(io::Error),
}

impl From<SegmentErrorKind> for DecodeError {
    fn from(kind: SegmentErrorKind) -> Self {
        DecodeError::Format(kind)
    }
}

fn put(bytes: &mut [u8], offset: usize, value: &[u8]) {
    bytes[offset..offset + value.len()].copy_from_slice(value);
}

fn get_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_ne_bytes(buf)
}

fn get_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_ne_bytes(buf)
}

/// A [`SegmentErrorKind::TooLarge`] naming `field` when `value` is above `limit`.
pub(super) fn check_limit(
    field: &'static str,
    value: u64,
    limit: u64,
) -> Result<(), SegmentErrorKind> {
    if value > limit { Err(SegmentErrorKind::TooLarge { field, value, limit }) } else { Ok(()) }
}

fn round_up(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

fn round_up_checked(n: usize, align: usize) -> Option<usize> {
    n.div_ceil(align).checked_mul(align)
}

/// The most slots a segment may have: keeps every size computation far from overflow.
fn max_slots() -> usize {
    (isize::MAX as usize / SLOT_SIZE) / 2
}

/// The host's page size (4096 when `sysconf` cannot tell).
fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| n.is_power_of_two() && *n >= 4096)
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::schema::Kind;

    fn info(slots: usize, fields: &[(&'static str, Kind)], rows: u32) -> HeaderInfo {
        let fields: Vec<Field> =
            fields.iter().map(|&(name, kind)| Field { name: name.into(), kind }).collect();
        // A worker row: the fields, a heartbeat and a pid.
        let row_width = if rows > 0 { (fields.len() + 2) as u32 } else { 0 };
        HeaderInfo::for_new(slots, Layout { rows, row_width, fields }).unwrap()
    }

    fn decode(bytes: &[u8]) -> Result<HeaderInfo, SegmentErrorKind> {
        let file_len = u64::MAX;
        HeaderInfo::decode(bytes, file_len, |offset, len| {
            bytes.get(offset..offset + len).map(<[u8]>::to_vec).ok_or(io::ErrorKind::Other.into())
        })
        .map_err(|e| match e {
            DecodeError::Format(kind) => kind,
            DecodeError::Io(_) => SegmentErrorKind::Io,
        })
    }

    #[test]
    fn header_round_trips() {
        let info = info(12, &[("requests", Kind::Counter), ("calling", Kind::Gauge)], 2);
        assert_eq!(decode(&info.encode()), Ok(info));
    }

    #[test]
    fn capacity_is_page_rounded() {
        let info = info(1, &[], 0);
        assert_eq!(info.capacity * SLOT_SIZE % page_size(), 0);
        assert_eq!(info.len, 1);
    }

    #[test]
    fn invalid_names_are_rejected() {
        for name in ["", "9lives", "a-b", "a:b", "new\nline"] {
            let layout = Layout {
                rows: 0,
                row_width: 0,
                fields: vec![Field { name: name.to_owned().into(), kind: Kind::Gauge }],
            };
            assert_eq!(
                HeaderInfo::for_new(1, layout),
                Err(SegmentErrorKind::InvalidName { name: name.into() })
            );
        }
    }

    #[test]
    fn sizes_beyond_the_limits_are_refused_naming_the_field() {
        let too_large = |field, value: u64, limit: usize| {
            Err(SegmentErrorKind::TooLarge { field, value, limit: limit as u64 })
        };
        let valid = info(8, &[("a", Kind::Counter)], 1).encode();
        let with = |offset: usize, value: &[u8]| {
            let mut bytes = valid.clone();
            put(&mut bytes, offset, value);
            decode(&bytes)
        };
        let big = u64::MAX - 4095;
        assert_eq!(
            with(OFF_HEADER_LEN, &big.to_ne_bytes()),
            too_large("header length", big, MAX_HEADER_LEN)
        );
        assert_eq!(
            with(OFF_CAPACITY, &u64::MAX.to_ne_bytes()),
            too_large("capacity", u64::MAX, MAX_FILE_SLOTS)
        );
        let rows = MAX_ROWS + 1;
        assert_eq!(
            with(OFF_ROWS, &rows.to_ne_bytes()),
            too_large("worker rows", rows.into(), MAX_ROWS as usize)
        );
        assert_eq!(
            with(OFF_ROW_WIDTH, &u32::MAX.to_ne_bytes()),
            too_large("slots per row", u32::MAX.into(), MAX_ROW_WIDTH as usize)
        );
        let fields = Layout { rows: MAX_ROWS + 1, row_width: 3, fields: Vec::new() };
        assert_eq!(
            HeaderInfo::for_new(1, fields),
            too_large("worker rows", u64::from(MAX_ROWS) + 1, MAX_ROWS as usize)
        );
    }

    proptest! {
        /// Arbitrary header bytes never panic the decoder.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
        }

        /// A valid header with arbitrary bytes flipped decodes or errors, never panics.
        #[test]
        fn corrupted_header_never_panics(
            flips in proptest::collection::vec((0usize..128, any::<u8>()), 1..8)
        ) {
            let mut bytes = info(8, &[("a", Kind::Counter)], 1).encode();
            for (offset, value) in flips {
                bytes[offset] = value;
            }
            let _ = decode(&bytes);
        }
    }
}
