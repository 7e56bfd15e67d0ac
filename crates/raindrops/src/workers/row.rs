//! A worker row's layout: its fields, then a heartbeat (in [`monotonic_ms`]) and a pid.

use crate::segment::{Segment, SegmentError, SegmentErrorKind};

/// Slots each row has after its fields: heartbeat, pid.
pub(crate) const ROW_EXTRA: usize = 2;
/// Offset of the heartbeat slot after a row's fields.
pub(super) const HEARTBEAT: usize = 0;
/// Offset of the pid slot after a row's fields.
pub(super) const PID: usize = 1;

/// Checks that each worker row of `segment` holds its fields and the [`ROW_EXTRA`] slots: the
/// segment layer only checks that the rows fit the slots in use, not what a row holds.
pub(crate) fn check_row_width(segment: &Segment) -> Result<(), SegmentError> {
    let layout = segment.layout();
    if layout.rows > 0 && (layout.row_width as usize) < layout.fields.len() + ROW_EXTRA {
        let reason = "worker rows do not fit the slots in use".into();
        return Err(SegmentError::new(segment.path(), SegmentErrorKind::Corrupt { reason }));
    }
    Ok(())
}

/// Milliseconds of `CLOCK_MONOTONIC`: the same clock in every process of the host, so one
/// process can judge another's heartbeat.
///
/// ```
/// let a = raindrops::monotonic_ms();
/// assert!(raindrops::monotonic_ms() >= a);
/// ```
pub fn monotonic_ms() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => (ts.tv_sec() as u64) * 1000 + (ts.tv_nsec() as u64) / 1_000_000,
        // CLOCK_MONOTONIC is always available on Linux; 0 reads as "never beat".
        Err(_) => 0,
    }
}
