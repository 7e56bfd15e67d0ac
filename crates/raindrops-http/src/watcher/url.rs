//! Addresses in the Watcher's URLs: percent-encoded from a listener's exact bytes, and
//! percent-decoded back to bytes, so a Unix socket whose name is not UTF-8 (Ruby raindrops'
//! tests use `"\xde\xad\xbe\xef"`) has pages that work.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};
use raindrops::{ListenerAddr, ListenerName};

/// The representation asked for by a file name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ext {
    Txt,
    Html,
    Json,
}

/// The `{*file}` part of a `/ROUTE/{*file}` request path, percent-decoded to bytes (axum's
/// `Path<String>` refuses bytes that are not UTF-8).
#[derive(Debug)]
pub(super) struct RawFile(pub(super) Vec<u8>);

impl<S: Send + Sync> FromRequestParts<S> for RawFile {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RawFile(file_of(parts.uri.path())))
    }
}

/// Everything after the route's segment: `/active/%2Ftmp%2Fa.sock.txt` → `/tmp/a.sock.txt`.
fn file_of(path: &str) -> Vec<u8> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let file = rest.split_once('/').map_or("", |(_route, file)| file);
    percent_decode_str(file).collect()
}

/// Splits `ADDR.ext`; `None` for another extension or an address that is not valid.
pub(super) fn split_file(file: &[u8]) -> Option<(&[u8], Ext)> {
    // `/active//tmp/a.sock.txt` (an unencoded path) means `/tmp/a.sock`.
    let file = file.strip_prefix(b"/").filter(|f| f.starts_with(b"/")).unwrap_or(file);
    let dot = file.iter().rposition(|&b| b == b'.')?;
    let (addr, ext) = (&file[..dot], &file[dot + 1..]);
    let ext = match ext {
        b"txt" => Ext::Txt,
        b"html" => Ext::Html,
        b"json" => Ext::Json,
        _ => return None,
    };
    valid_addr(addr).then_some((addr, ext))
}

/// A TCP `host:port` with a numeric host, an absolute Unix socket path, or an abstract Unix
/// name as listed (`@name`).
pub(super) fn valid_addr(addr: &[u8]) -> bool {
    !addr.contains(&0) && (addr.starts_with(b"@") || ListenerAddr::from_bytes(addr).is_ok())
}

/// What Rack's `escape` (`URI.encode_www_form_component`) leaves alone: letters, digits and
/// `*-._`.
const RACK_ESCAPE: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_');

/// Percent-encodes a listener's exact bytes for a link, like Rack's `escape` (but a space is
/// `%20`, not `+`).
pub(super) fn escape_url(addr: &ListenerName) -> String {
    percent_encode(addr.as_bytes(), RACK_ESCAPE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn file_names() {
        assert_eq!(split_file(b"127.0.0.1:80.txt"), Some((&b"127.0.0.1:80"[..], Ext::Txt)));
        assert_eq!(split_file(b"[::1]:80.html"), Some((&b"[::1]:80"[..], Ext::Html)));
        assert_eq!(split_file(b"/tmp/a.sock.json"), Some((&b"/tmp/a.sock"[..], Ext::Json)));
        assert_eq!(split_file(b"//tmp/a.sock.json"), Some((&b"/tmp/a.sock"[..], Ext::Json)));
        assert_eq!(split_file(b"/\xde\xad.txt"), Some((&b"/\xde\xad"[..], Ext::Txt)));
        assert_eq!(split_file(b"@abstract.txt"), Some((&b"@abstract"[..], Ext::Txt)));
        assert!(split_file(b"localhost:80.txt").is_none());
        assert!(split_file(b"127.0.0.1:80.csv").is_none());
        assert!(split_file(b"127.0.0.1").is_none());
        assert!(split_file(b"/a\0b.txt").is_none());
        assert!(split_file(b"[fe80::1%2]:80.txt").is_none());
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_url(&"/tmp/a b.sock".into()), "%2Ftmp%2Fa%20b.sock");
        assert_eq!(escape_url(&"[::1]:80".into()), "%5B%3A%3A1%5D%3A80");
        assert_eq!(escape_url(&b"/\xde\xad\xbe\xef".to_vec().into()), "%2F%DE%AD%BE%EF");
        assert_eq!(file_of("/active/%2F%DE%AD%BE%EF.txt"), b"/\xde\xad\xbe\xef.txt");
        assert_eq!(file_of("/tail//tmp/a.sock.txt"), b"/tmp/a.sock.txt");
        assert_eq!(file_of("/"), b"");
    }

    proptest! {
        /// Any name's URL decodes back to its bytes.
        #[test]
        fn urls_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let name = ListenerName::from(bytes.clone());
            let path = format!("/active/{}.txt", escape_url(&name));
            let mut expected = bytes;
            expected.extend_from_slice(b".txt");
            prop_assert_eq!(file_of(&path), expected);
        }
    }
}
