//! The segment format's constants: magic, version, the fixed header's field offsets, and the
//! limits every header read from a file is checked against.

/// The bytes every segment starts with.
pub(super) const MAGIC: [u8; 8] = *b"RAINDROP";
/// The layout version this build reads and writes.
pub(super) const VERSION: u32 = 1;
/// The fixed part of the header; the names table follows it.
pub(super) const FIXED_HEADER: usize = 64;
/// The header is padded to a multiple of this, whatever the host's page size.
pub(super) const HEADER_ALIGN: usize = 4096;

pub(super) const OFF_VERSION: usize = 8;
pub(super) const OFF_SLOT_SIZE: usize = 12;
pub(super) const OFF_HEADER_LEN: usize = 16;
pub(super) const OFF_CAPACITY: usize = 24;
pub(super) const OFF_LEN: usize = 32;
pub(super) const OFF_ROWS: usize = 40;
pub(super) const OFF_ROW_WIDTH: usize = 44;
pub(super) const OFF_NAMES_LEN: usize = 48;
pub(super) const OFF_SEQ: usize = 56;

/// The longest header (fixed part and names table) a segment may have.
pub(super) const MAX_HEADER_LEN: usize = 64 * 1024;
/// The most slots a segment file may hold (128 MiB of slots).
pub(crate) const MAX_FILE_SLOTS: usize = 1 << 20;
/// The most worker rows a segment may have.
pub(super) const MAX_ROWS: u32 = 65_536;
/// The most slots a worker row may have.
pub(super) const MAX_ROW_WIDTH: u32 = 1024;
