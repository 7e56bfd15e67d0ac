//! gzip for the index and its JSON when the client accepts it: a thousand listeners' page is
//! over a megabyte of repetitive markup and about a tenth of that compressed.

use std::io::Write;

use axum::http::{HeaderMap, header};
use bytes::Bytes;

/// Whether `Accept-Encoding` lists `gzip` without `q=0`.
pub(super) fn accepted(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accept.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let refused =
            |p: &str| p.replace(' ', "").strip_prefix("q=").is_some_and(|q| q.parse() == Ok(0.0));
        parts.next().is_some_and(|name| name.eq_ignore_ascii_case("gzip")) && !parts.any(refused)
    })
}

/// `body` gzipped (fast level: it is redone once per sample).
pub(super) fn compress(body: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
            accepted(&headers)
        };
        assert!(!accepted(&HeaderMap::new()));
        assert!(with("gzip, deflate, br") && with("br;q=1, GZIP;q=0.5"));
        assert!(!with("gzip;q=0") && !with("deflate") && !with("x-gzip2"));
    }

    #[test]
    fn round_trips() {
        let page = "<tr><td>x</td></tr>".repeat(1000);
        let gz = compress(page.as_bytes());
        assert!(gz.len() < page.len() / 10);
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
            .unwrap();
        assert_eq!(out, page);
    }
}
