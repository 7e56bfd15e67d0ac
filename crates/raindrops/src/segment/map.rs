//! [`Segment`]: the `MAP_SHARED` mapping of a header and its slots, anonymous or of a file.
//! The only module of the crate, with `sys/`, that holds `unsafe`.

use std::borrow::Cow;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::mman::{MapFlags, ProtFlags};

use super::error::{SegmentError, SegmentErrorKind};
use super::format::{FIXED_HEADER, MAX_FILE_SLOTS, OFF_LEN, OFF_SEQ};
use super::header::{DecodeError, HeaderInfo, Layout, check_limit};
use super::slot::{Slot, WORDS_PER_SLOT};

/// How a segment file is opened and mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// `O_RDWR`, `PROT_READ | PROT_WRITE`: for processes that count.
    ReadWrite,
    /// `O_RDONLY`, `PROT_READ`: for readers, who then need only read permission on the file.
    /// Nothing may write through such a segment: its only owner,
    /// [`DropsReader`](crate::DropsReader), only makes relaxed atomic loads, which the standard
    /// library documents as sound on read-only memory for 8-byte atomics.
    ReadOnly,
}

/// How [`Segment::create_placed`] puts a new file at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Renamed over whatever is there.
    Replace,
    /// Locked first (the lock is ours before anyone can open it), then renamed over the file
    /// at the path, whose lock the caller holds.
    ReplaceLocked,
    /// Locked first, then linked in only if nothing is at the path (else `Ok(None)`).
    NewLocked,
}

/// A mapped segment: the header and `capacity` slots, shared with every process that maps it.
pub(crate) struct Segment {
    ptr: NonNull<u8>,
    map_len: usize,
    info: HeaderInfo,
    path: Option<PathBuf>,
    /// The file, kept open while its `flock` marks it as ours (see `sys::flock`): forked
    /// children inherit the descriptor, so the lock lasts while any process of the tree lives.
    lock: Option<File>,
}

// SAFETY: the mapping is plain shared memory that lives as long as `Segment`; every access to it
// after construction goes through atomics (`Slot`, the header's `len` and sequence fields), or
// reads header fields that are written once before the segment is shared with anyone.
unsafe impl Send for Segment {}
// SAFETY: as above: shared access is only through atomics and immutable header fields.
unsafe impl Sync for Segment {}

impl Segment {
    /// Maps a new anonymous shared segment of at least `slots` slots, inherited by `fork`.
    pub(crate) fn anonymous(slots: usize, layout: Layout) -> Result<Self, SegmentError> {
        let info = HeaderInfo::for_new(slots, layout).map_err(|k| SegmentError::new(None, k))?;
        let map_len = nonzero(info.total_len());
        // SAFETY: a fresh anonymous mapping aliases no Rust object; the length is non-zero and
        // was computed with overflow checks (`for_new`).
        let ptr = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                map_len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(|errno| SegmentError::io(None, errno.into()))?;
        let segment =
            Segment { ptr: ptr.cast(), map_len: map_len.get(), info, path: None, lock: None };
        segment.write_header();
        Ok(segment)
    }

    /// Creates `path` as a new segment file of at least `slots` slots, mode 0600.
    ///
    /// The file is written under a temporary name in the same directory and renamed into place,
    /// so a process that maps an older file at `path` keeps a valid mapping.
    pub(crate) fn create(path: &Path, slots: usize, layout: Layout) -> Result<Self, SegmentError> {
        Segment::create_placed(path, slots, layout, Placement::Replace)?
            .ok_or_else(|| SegmentError::io(Some(path), io::ErrorKind::AlreadyExists.into()))
    }

    /// Creates a new segment file for `path` under a temporary name, and puts it at `path` as
    /// `placement` says; `Ok(None)` when [`Placement::NewLocked`] found a file there.
    pub(crate) fn create_placed(
        path: &Path,
        slots: usize,
        layout: Layout,
        placement: Placement,
    ) -> Result<Option<Self>, SegmentError> {
        let info = HeaderInfo::for_new(slots, layout)
            .and_then(|info| {
                check_limit("capacity", info.capacity as u64, MAX_FILE_SLOTS as u64)?;
                Ok(info)
            })
            .map_err(|k| SegmentError::new(Some(path), k))?;
        let tmp = temp_path(path);
        let result = (|| {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            file.set_len(info.total_len() as u64)?;
            file.write_all_at(&info.encode(), 0)?;
            let mut segment = Segment::map_file(&file, path, info, Access::ReadWrite)?;
            if placement != Placement::Replace {
                // No one else has opened the file yet: the lock cannot be taken.
                if !crate::sys::flock::try_lock_exclusive(file.as_fd())? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                segment.lock = Some(file);
            }
            if placement == Placement::NewLocked {
                match std::fs::hard_link(&tmp, path) {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                        // Ours; failing to remove it changes nothing for the caller.
                        let _ = std::fs::remove_file(&tmp);
                        return Ok(None);
                    }
                    Err(err) => return Err(err),
                }
                // The file is in place under `path`; a stray temporary name is harmless.
                let _ = std::fs::remove_file(&tmp);
            } else {
                std::fs::rename(&tmp, path)?;
            }
            Ok(Some(segment))
        })();
        result.map_err(|err: io::Error| {
            // The temporary file is ours; a failure to remove it changes nothing for the caller.
            let _ = std::fs::remove_file(&tmp);
            SegmentError::io_creating(path, err)
        })
    }

    /// Opens an existing segment file, checking its header and size before mapping it.
    pub(crate) fn open(path: &Path, access: Access) -> Result<Self, SegmentError> {
        let write = access == Access::ReadWrite;
        let file = OpenOptions::new()
            .read(true)
            .write(write)
            // A FIFO put where a segment is expected must not block the open (it then reads as
            // an empty file); on a regular file the flag does nothing.
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|source| SegmentError::io(Some(path), source))?;
        Segment::from_file(&file, path, access)
    }

    /// Opens `path` for reading and writing and takes its lock, for the one process tree that
    /// counts into it; a lock held by another process is [`SegmentErrorKind::Locked`].
    /// `Ok(None)` when no file is at `path`, or it was replaced between the open and the lock:
    /// create one, or try again.
    pub(crate) fn open_claimed(path: &Path) -> Result<Option<Self>, SegmentError> {
        let io_err = |source| SegmentError::io(Some(path), source);
        let mut options = OpenOptions::new();
        options.read(true).write(true).custom_flags(libc::O_NONBLOCK);
        let file = match options.open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io_err(err)),
        };
        if !crate::sys::flock::try_lock_exclusive(file.as_fd()).map_err(io_err)? {
            let (pid, command) = crate::locks::holder(&file).unzip();
            let kind = SegmentErrorKind::Locked { pid, command: command.flatten() };
            return Err(SegmentError::new(Some(path), kind));
        }
        // The lock is on the file we opened: make sure that is still the one at `path`.
        let ours = file.metadata().map_err(io_err)?;
        match std::fs::metadata(path) {
            Ok(there) if (there.dev(), there.ino()) == (ours.dev(), ours.ino()) => {}
            _ => return Ok(None),
        }
        let mut segment = Segment::from_file(&file, path, Access::ReadWrite)?;
        segment.lock = Some(file);
        Ok(Some(segment))
    }

    /// Checks the header and size of the open `file`, then maps it.
    fn from_file(file: &File, path: &Path, access: Access) -> Result<Self, SegmentError> {
        let err = |kind| SegmentError::new(Some(path), kind);
        let io_err = |source| SegmentError::io(Some(path), source);
        let file_len = file.metadata().map_err(io_err)?.len();
        let mut fixed = vec![0u8; FIXED_HEADER.min(usize::try_from(file_len).unwrap_or(0))];
        file.read_exact_at(&mut fixed, 0).map_err(io_err)?;
        let info = HeaderInfo::decode(&fixed, file_len, |offset, len| {
            let mut names = vec![0u8; len];
            file.read_exact_at(&mut names, offset as u64)?;
            Ok(names)
        })
        .map_err(|e| match e {
            DecodeError::Format(kind) => err(kind),
            DecodeError::Io(source) => io_err(source),
        })?;
        Segment::map_file(file, path, info, access).map_err(io_err)
    }

    fn map_file(file: &File, path: &Path, info: HeaderInfo, access: Access) -> io::Result<Self> {
        let map_len = nonzero(info.total_len());
        let prot = match access {
            Access::ReadWrite => ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            Access::ReadOnly => ProtFlags::PROT_READ,
        };
        // SAFETY: the file is at least `map_len` bytes long (checked by the caller through
        // `fstat` or set by `set_len`), so every mapped page is backed; the mapping aliases no
        // Rust object. See the module docs for files truncated later by someone else, and
        // `Access::ReadOnly` for who may hold a read-only mapping.
        let ptr =
            unsafe { nix::sys::mman::mmap(None, map_len, prot, MapFlags::MAP_SHARED, file, 0) }?;
        let (map_len, path) = (map_len.get(), Some(path.to_owned()));
        Ok(Segment { ptr: ptr.cast(), map_len, info, path, lock: None })
    }

    /// Copies the header into a fresh anonymous mapping.
    fn write_header(&self) {
        let bytes = self.info.encode();
        // SAFETY: `bytes.len()` is `header_len`, which is within the mapping; the mapping was
        // just created and nothing else references it yet, so the copy races with nothing.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr(), bytes.len()) };
    }

    /// The header's atomic field at `offset` (`OFF_LEN` or `OFF_SEQ`).
    fn header_atomic(&self, offset: usize) -> &AtomicU64 {
        debug_assert!(offset == OFF_LEN || offset == OFF_SEQ);
        // SAFETY: the offset is within the first page of the mapping and 8-byte aligned (the
        // mapping is page-aligned); the field is only ever accessed atomically, and lives as long
        // as `self`.
        unsafe { &*self.ptr.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// All `capacity` slots.
    pub(crate) fn slots(&self) -> &[Slot] {
        // SAFETY: the slots start `header_len` bytes (a multiple of 4096, so 128-aligned) into
        // a page-aligned mapping of `header_len + capacity * 128` bytes; a zeroed or written
        // `AtomicU64` is valid for any bit pattern; the slice lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(
                self.ptr.as_ptr().add(self.info.header_len).cast::<Slot>(),
                self.info.capacity,
            )
        }
    }

    /// All slots viewed as packed 64-bit words (16 per slot): for structures whose words are
    /// written by a single worker, like a shared aggregate's histogram row, where a slot per
    /// word would waste memory.
    pub(crate) fn words(&self) -> &[AtomicU64] {
        // SAFETY: the slot area is `capacity * 128` bytes, 128-aligned, made of `Slot`s, which
        // are `#[repr(C)]` arrays of 16 `AtomicU64` with no padding, so it is exactly
        // `capacity * 16` valid `AtomicU64`s; every access to them is atomic and of the same
        // size as the `Slot` view's; the slice lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(
                self.ptr.as_ptr().add(self.info.header_len).cast::<AtomicU64>(),
                self.info.capacity * WORDS_PER_SLOT,
            )
        }
    }

    /// The slots in use when the segment was created or opened.
    pub(crate) fn initial_len(&self) -> usize {
        self.info.len
    }

    /// Records the number of slots in use in the header, for processes that open the file later.
    pub(crate) fn store_len(&self, len: usize) {
        // Relaxed: a lone value read when a file is opened.
        self.header_atomic(OFF_LEN).store(len as u64, Ordering::Relaxed);
    }

    /// The retire sequence: odd while a worker row is being retired.
    pub(crate) fn seq(&self) -> &AtomicU64 {
        self.header_atomic(OFF_SEQ)
    }

    pub(crate) fn capacity(&self) -> usize {
        self.info.capacity
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.info.layout
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`map_len` are exactly the mapping made in the constructor, and no
        // reference into it outlives `self` (every accessor borrows `self`).
        // An error here would mean the mapping is already gone; nothing to do about it.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr.cast(), self.map_len) };
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("path", &self.path)
            .field("capacity", &self.info.capacity)
            .field("layout", &self.info.layout)
            .finish()
    }
}

fn nonzero(n: usize) -> NonZeroUsize {
    // The header alone is 4096 bytes.
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

/// `dir/.name.tmp.PID.N`: a unique name next to `path` for writing a new file.
fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::AtomicUsize;
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map_or(Cow::Borrowed("segment"), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.tmp.{}.{n}", std::process::id()))
}
