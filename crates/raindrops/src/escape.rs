//! One escaping of names for text output, so a name a local user chose (a Unix socket path)
//! can neither forge lines nor send escape codes to a terminal, and names that are not UTF-8
//! keep their exact bytes.
//!
//! The style is GNU `ls --quoting-style=escape`'s, with hexadecimal escapes:
//!
//! | byte or character | printed as |
//! |---|---|
//! | `\` | `\\` |
//! | newline, tab, carriage return | `\n`, `\t`, `\r` |
//! | any other control character (C0, DEL, C1) and the bidirectional-text controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) | each of its UTF-8 bytes as `\xHH` (ESC is `\x1b`) |
//! | anything else | itself |
//!
//! Bytes that are not valid UTF-8 as a whole are taken as bytes, not characters: besides the
//! above, every byte outside printable ASCII is `\xHH` (lowercase hex), so `"\xde\xad\xbe\xef"`
//! prints as `\xde\xad\xbe\xef` rather than as the Thaana letter its first two bytes happen
//! to encode followed by two escapes.
//!
//! [`unescape_bytes`] reverses it exactly, so the escaped text is a lossless spelling of the
//! bytes.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes `bytes` for a terminal or a line-oriented text format: the result has no control
/// characters, is valid UTF-8, and is `bytes` unchanged (borrowed) when nothing needed escaping.
///
/// ```
/// use raindrops::escape_bytes;
///
/// assert_eq!(escape_bytes(b"/run/app.sock"), "/run/app.sock");
/// assert_eq!(escape_bytes(b"/tmp/a\nb\x1b[31m"), "/tmp/a\\nb\\x1b[31m");
/// assert_eq!(escape_bytes(b"/tmp/\xde\xad\xbe\xef"), "/tmp/\\xde\\xad\\xbe\\xef");
/// assert_eq!(escape_bytes(b"C:\\dir"), "C:\\\\dir");
/// ```
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.chars().any(needs_escape)
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            for c in text.chars() {
                if c.is_ascii() || needs_escape(c) {
                    let mut buf = [0; 4];
                    escape_ascii(&mut out, c.encode_utf8(&mut buf).as_bytes());
                } else {
                    out.push(c);
                }
            }
        }
        Err(_) => escape_ascii(&mut out, bytes),
    }
    Cow::Owned(out)
}

/// Whether [`escape_bytes`] rewrites `c`.
fn needs_escape(c: char) -> bool {
    c == '\\' || is_terminal_control(c)
}

/// Whether a terminal may act on `c` rather than show it: a control character (C0, DEL, C1)
/// or a bidirectional-text control. [`escape_bytes`] escapes these (and `\`).
///
/// ```
/// use raindrops::is_terminal_control;
///
/// assert!(is_terminal_control('\x1b') && is_terminal_control('\u{9b}'));
/// assert!(is_terminal_control('\u{202e}'));
/// assert!(!is_terminal_control('a') && !is_terminal_control('\u{e9}'));
/// ```
pub fn is_terminal_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Printable ASCII as itself (backslash doubled), everything else as an escape.
fn escape_ascii(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            b' '..=b'~' => out.push(char::from(b)),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

/// Text that [`unescape_bytes`] could not read back: a `\` not followed by `\`, `n`, `t`, `r`
/// or `x` and two hex digits.
///
/// ```
/// let err = raindrops::unescape_bytes("/tmp/\\q").unwrap_err();
/// assert_eq!(err.offset(), 5);
/// assert!(err.to_string().contains("offset 5"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid escape at offset {offset}: expected \\\\, \\n, \\t, \\r or \\xHH")]
pub struct UnescapeError {
    offset: usize,
}

impl UnescapeError {
    /// The byte offset of the bad `\` in the text.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// The bytes that [`escape_bytes`] spelled as `text`.
///
/// # Errors
///
/// [`UnescapeError`] for a `\` that starts no escape [`escape_bytes`] writes.
///
/// ```
/// use raindrops::{escape_bytes, unescape_bytes};
///
/// let name = b"/tmp/\xde\xad\xbe\xef\n";
/// assert_eq!(unescape_bytes(&escape_bytes(name))?, name);
/// assert_eq!(unescape_bytes("/plain")?, b"/plain");
/// # Ok::<(), raindrops::UnescapeError>(())
/// ```
pub fn unescape_bytes(text: &str) -> Result<Vec<u8>, UnescapeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let err = UnescapeError { offset: i };
        let (byte, len) = match bytes.get(i + 1) {
            Some(b'\\') => (b'\\', 2),
            Some(b'n') => (b'\n', 2),
            Some(b't') => (b'\t', 2),
            Some(b'r') => (b'\r', 2),
            Some(b'x') => {
                let hex = text.get(i + 2..i + 4).ok_or(err)?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return Err(err);
                }
                (u8::from_str_radix(hex, 16).map_err(|_| err)?, 4)
            }
            _ => return Err(err),
        };
        out.push(byte);
        i += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes() {
        assert!(matches!(escape_bytes(b"/run/app.sock"), Cow::Borrowed(_)));
        assert_eq!(escape_bytes("/tmp/caf\u{e9} \u{2603}".as_bytes()), "/tmp/caf\u{e9} \u{2603}");
        assert_eq!(escape_bytes(b"\t\r\x7f\0"), "\\t\\r\\x7f\\x00");
        // C1 CSI (U+009B) and a right-to-left override are escaped byte by byte.
        assert_eq!(escape_bytes("a\u{9b}b\u{202e}".as_bytes()), "a\\xc2\\x9bb\\xe2\\x80\\xae");
        assert_eq!(escape_bytes(b"\xff"), "\\xff");
        // Not UTF-8 as a whole: every non-ASCII byte is escaped, even a valid-looking pair.
        assert_eq!(escape_bytes(b"\xde\xad\xbe\xef\n"), "\\xde\\xad\\xbe\\xef\\n");
        assert_eq!(escape_bytes(b"\xc3\xa9\xff"), "\\xc3\\xa9\\xff");
    }

    #[test]
    fn bad_escapes() {
        for bad in ["\\", "\\x", "\\x1", "\\xg0", "\\e", "a\\x+1"] {
            assert!(unescape_bytes(bad).is_err(), "{bad:?}");
        }
        assert_eq!(unescape_bytes("\\x1B"), Ok(vec![0x1b]));
    }

    proptest! {
        #[test]
        fn escaping_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = escape_bytes(&bytes);
            prop_assert_eq!(unescape_bytes(&text), Ok(bytes.clone()));
        }

        #[test]
        fn escaped_text_has_no_control_characters(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let text = escape_bytes(&bytes);
            prop_assert!(!text.chars().any(|c| c.is_control()), "{:?}", text);
            prop_assert!(!text.chars().any(|c| c != '\\' && needs_escape(c)), "{:?}", text);
        }

        #[test]
        fn escaped_strings_round_trip(text in any::<String>()) {
            let escaped = escape_bytes(text.as_bytes());
            prop_assert_eq!(unescape_bytes(&escaped), Ok(text.into_bytes()));
        }

        #[test]
        fn unescape_never_panics(text in any::<String>()) {
            let _ = unescape_bytes(&text);
        }
    }
}
