//! [`DropsReader`]: a segment file opened read-only, for tools that only look.

use std::path::Path;

use crate::drops::Iter;
use crate::schema::Field;
use crate::segment::{Access, Segment, SegmentError};
use crate::workers::{WorkersView, check_row_width};

/// A segment file mapped read-only (`O_RDONLY`, `PROT_READ`): reading it needs only read
/// permission on the file, and nothing can write through it. This is how `raindrops dump` and
/// `raindrops top` open files.
///
/// The header is checked against the [limits](crate::Drops#limits) before anything is mapped,
/// and the rows are read in place ([`WorkersView`]), so a crafted header cannot make a reader
/// allocate or touch more than the limits allow.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("counters");
/// raindrops::Drops::create(&path, 2)?.add(1, 5);
///
/// let reader = raindrops::DropsReader::open(&path)?;
/// assert_eq!(reader.iter().collect::<Vec<_>>(), [0, 5]);
/// assert!(reader.workers().is_none()); // a plain segment, not split into rows
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DropsReader {
    segment: Segment,
    len: usize,
}

impl DropsReader {
    /// Opens and maps `path` read-only, after checking its header and size.
    ///
    /// # Errors
    ///
    /// What [`Drops::open`](crate::Drops::open) reports, and
    /// [`SegmentErrorKind::TooLarge`](crate::SegmentErrorKind::TooLarge) for a header beyond
    /// the limits; "permission denied" only when the file is not readable.
    ///
    /// ```
    /// let err = raindrops::DropsReader::open("/nonexistent").unwrap_err();
    /// assert_eq!(err.kind(), &raindrops::SegmentErrorKind::NotFound);
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SegmentError> {
        let segment = Segment::open(path.as_ref(), Access::ReadOnly)?;
        check_row_width(&segment)?;
        let len = segment.initial_len();
        Ok(DropsReader { segment, len })
    }

    /// The number of slots in use when the file was opened.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Drops::create(dir.path().join("c"), 3)?;
    /// assert_eq!(raindrops::DropsReader::open(dir.path().join("c"))?.len(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no slot is in use.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Drops::create(dir.path().join("c"), 0)?;
    /// assert!(raindrops::DropsReader::open(dir.path().join("c"))?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of slot `index`, or `None` when `index >= len()`.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Drops::create(dir.path().join("c"), 1)?.set(0, 9);
    /// let reader = raindrops::DropsReader::open(dir.path().join("c"))?;
    /// assert_eq!((reader.get(0), reader.get(1)), (Some(9), None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<u64> {
        self.segment.slots()[..self.len].get(index).map(crate::Slot::get)
    }

    /// Iterates over the values of the slots in use, each read when reached.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Drops::create(dir.path().join("c"), 2)?.incr(0);
    /// let reader = raindrops::DropsReader::open(dir.path().join("c"))?;
    /// assert_eq!(reader.iter().sum::<u64>(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(&self.segment.slots()[..self.len])
    }

    /// The named fields recorded in the header (empty for a plain segment).
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// Stats::create(dir.path().join("c"))?;
    /// let reader = raindrops::DropsReader::open(dir.path().join("c"))?;
    /// assert_eq!(reader.fields()[0].name, "hits");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn fields(&self) -> &[Field] {
        &self.segment.layout().fields
    }

    /// The worker rows, when the file is a workers segment
    /// ([`Workers::create`](crate::Workers::create)).
    ///
    /// ```
    /// raindrops::counters! { struct Stats { hits: counter } }
    /// let dir = tempfile::tempdir()?;
    /// raindrops::Workers::<Stats>::create(dir.path().join("w"), 2)?;
    /// let reader = raindrops::DropsReader::open(dir.path().join("w"))?;
    /// assert_eq!(reader.workers().map(|view| view.rows()), Some(2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn workers(&self) -> Option<WorkersView<'_>> {
        WorkersView::new(&self.segment, self.len)
    }
}
