//! The names table of a segment header: one line per field, `c:NAME` or `g:NAME`.

use std::borrow::Cow;

use super::error::SegmentErrorKind;
use crate::schema::{Field, Kind};

/// The names table of `fields`.
pub(super) fn encode_names(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|field| {
            let tag = match field.kind {
                Kind::Counter => 'c',
                Kind::Gauge => 'g',
            };
            format!("{tag}:{}\n", field.name)
        })
        .collect()
}

/// The fields of a names table read from a file (untrusted input).
pub(super) fn decode_names(names: &[u8]) -> Result<Vec<Field>, SegmentErrorKind> {
    let corrupt = |reason: &'static str| SegmentErrorKind::Corrupt { reason: reason.into() };
    let text = std::str::from_utf8(names).map_err(|_| corrupt("names table is not UTF-8"))?;
    let mut fields = Vec::new();
    for line in text.split_terminator('\n') {
        let (kind, name) = match line.split_once(':') {
            Some(("c", name)) => (Kind::Counter, name),
            Some(("g", name)) => (Kind::Gauge, name),
            _ => return Err(corrupt("names table line is not `c:NAME` or `g:NAME`")),
        };
        check_name(name).map_err(|_| corrupt("names table holds an invalid name"))?;
        fields.push(Field { name: Cow::Owned(name.to_owned()), kind });
    }
    Ok(fields)
}

/// Checks that `name` can be stored in a names table and printed as a metric name.
pub(crate) fn check_name(name: &str) -> Result<(), SegmentErrorKind> {
    let ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok { Ok(()) } else { Err(SegmentErrorKind::InvalidName { name: name.to_owned() }) }
}
