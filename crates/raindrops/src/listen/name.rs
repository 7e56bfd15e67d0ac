//! [`ListenerName`]: a listener's name as exact bytes, with its text spellings.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::escape_bytes;

/// A listener's name as shown to people and programs: `127.0.0.1:8080`, `[::]:80`, or a Unix
/// socket path's exact bytes, which need not be UTF-8 (Ruby raindrops' own tests name their
/// socket `"\xde\xad\xbe\xef"`).
///
/// Names compare, hash and sort by their bytes. They have three spellings:
///
/// * [`as_bytes`](Self::as_bytes): the exact bytes, e.g. to percent-encode into a URL;
/// * [`Display`](fmt::Display) and [`escaped`](Self::escaped): [`escape_bytes`], safe for a
///   terminal or a line of text (no control characters, `\` doubled, invalid UTF-8 as `\xHH`);
/// * [`to_text`](Self::to_text): the name itself when it is UTF-8 (what JSON, OpenMetrics label
///   values and HTML carry, escaped by their own rules), else the escaped spelling.
///
/// ```
/// use raindrops::ListenerName;
///
/// let plain = ListenerName::from("/run/app.sock");
/// assert_eq!(plain, "/run/app.sock");
/// assert_eq!(plain.to_string(), "/run/app.sock");
///
/// let forged = ListenerName::from("/tmp/a\n\x1b[31m");
/// assert_eq!(forged.to_string(), "/tmp/a\\n\\x1b[31m");
/// assert_eq!(forged.to_text(), "/tmp/a\n\x1b[31m");
///
/// let bytes = ListenerName::from(b"/tmp/\xde\xad\xbe\xef".to_vec());
/// assert_eq!(bytes.to_str(), None);
/// assert_eq!(bytes.to_text(), "/tmp/\\xde\\xad\\xbe\\xef");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerName(Vec<u8>);

impl ListenerName {
    /// The exact bytes.
    ///
    /// ```
    /// assert_eq!(raindrops::ListenerName::from("[::]:80").as_bytes(), b"[::]:80");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name, if it is UTF-8.
    ///
    /// ```
    /// assert_eq!(raindrops::ListenerName::from("/a.sock").to_str(), Some("/a.sock"));
    /// ```
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The name for a terminal or a text line: [`escape_bytes`] of the bytes (the same as
    /// `to_string()`).
    ///
    /// ```
    /// assert_eq!(raindrops::ListenerName::from("/a\tb").escaped(), "/a\\tb");
    /// ```
    pub fn escaped(&self) -> Cow<'_, str> {
        escape_bytes(&self.0)
    }

    /// The name itself when it is UTF-8, else its [`escaped`](Self::escaped) spelling: for
    /// formats that escape text themselves (JSON, OpenMetrics label values, HTML) and must
    /// keep UTF-8 names exactly as Ruby raindrops prints them.
    ///
    /// ```
    /// assert_eq!(raindrops::ListenerName::from("/a\\b").to_text(), "/a\\b");
    /// assert_eq!(raindrops::ListenerName::from(vec![b'/', 0xff]).to_text(), "/\\xff");
    /// ```
    pub fn to_text(&self) -> Cow<'_, str> {
        match self.to_str() {
            Some(text) => Cow::Borrowed(text),
            None => self.escaped(),
        }
    }
}

impl fmt::Display for ListenerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.escaped())
    }
}

impl fmt::Debug for ListenerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ListenerName(\"{}\")", self.escaped())
    }
}

impl From<&str> for ListenerName {
    fn from(name: &str) -> Self {
        ListenerName(name.as_bytes().to_vec())
    }
}

impl From<String> for ListenerName {
    fn from(name: String) -> Self {
        ListenerName(name.into_bytes())
    }
}

impl From<&[u8]> for ListenerName {
    fn from(name: &[u8]) -> Self {
        ListenerName(name.to_vec())
    }
}

impl From<Vec<u8>> for ListenerName {
    fn from(name: Vec<u8>) -> Self {
        ListenerName(name)
    }
}

impl From<&Path> for ListenerName {
    fn from(path: &Path) -> Self {
        ListenerName(path.as_os_str().as_bytes().to_vec())
    }
}

impl From<PathBuf> for ListenerName {
    fn from(path: PathBuf) -> Self {
        use std::os::unix::ffi::OsStringExt;
        ListenerName(path.into_os_string().into_vec())
    }
}

impl AsRef<[u8]> for ListenerName {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<[u8]> for ListenerName {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for ListenerName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for ListenerName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<[u8]> for ListenerName {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let name = ListenerName::from(PathBuf::from(std::ffi::OsStr::from_bytes(b"/\xde")));
        assert_eq!(name.as_bytes(), b"/\xde");
        assert_eq!(format!("{name:>6}|"), " /\\xde|");
        assert_eq!(format!("{name:?}"), "ListenerName(\"/\\xde\")");
        let (a, b) = (ListenerName::from("/a"), ListenerName::from("/b"));
        assert!(a < b);
    }
}
