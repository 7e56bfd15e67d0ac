//! Where `POST /reset/ADDR` sends the browser back to: the page its form was on, as a path on
//! this host; never another origin or scheme (a Referer is whatever the client says).

/// The `Location` after a reset asked with `referer` and `host` (the request's `Referer` and
/// `Host`): the Referer's path and query when it is a URL of this host
/// (`http://HOST/path?query`, `https://` too) or a path (`/path`); anything else — another
/// host, a scheme-relative `//host/`, `javascript:`, a path with a backslash or a space — is
/// `/`. What it returns always starts with exactly one `/`.
pub(super) fn back_to<'a>(referer: Option<&'a str>, host: Option<&str>) -> &'a str {
    referer.and_then(|referer| same_origin_path(referer, host)).unwrap_or("/")
}

fn same_origin_path<'a>(referer: &'a str, host: Option<&str>) -> Option<&'a str> {
    let path = if referer.starts_with('/') {
        referer
    } else {
        let rest = strip_prefix_ignore_case(referer, "http://")
            .or_else(|| strip_prefix_ignore_case(referer, "https://"))?;
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if !host.is_some_and(|host| host.eq_ignore_ascii_case(authority)) {
            return None;
        }
        path
    };
    let path = path.split_once('#').map_or(path, |(path, _fragment)| path);
    // `//host` and `/\host` are other hosts to a browser; controls and spaces have no place.
    let one_slash = path.starts_with('/') && !path[1..].starts_with(['/', '\\']);
    let plain = path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    (one_slash && plain).then_some(path)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_host_are_kept() {
        let host = Some("127.0.0.1:9292");
        for (referer, to) in [
            (None, "/"),
            (Some("/"), "/"),
            (Some("/x"), "/x"),
            (Some("/active/127.0.0.1%3A80.html?a=1#top"), "/active/127.0.0.1%3A80.html?a=1"),
            (Some("http://127.0.0.1:9292/foo/bar"), "/foo/bar"),
            (Some("HTTPS://127.0.0.1:9292/foo?q"), "/foo?q"),
            (Some("http://127.0.0.1:9292"), "/"),
            (Some("http://127.0.0.1:9292?q"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some("http://evil.example/"), "/"),
            (Some("http://evil.example/foo"), "/"),
            (Some("//evil.example/"), "/"),
            (Some("/\\evil.example/"), "/"),
            (Some("/a\\b"), "/"),
            (Some("/a b"), "/"),
            (Some("http://127.0.0.1:9292@evil.example/"), "/"),
            (Some("http://127.0.0.1:9292//evil.example/"), "/"),
            (Some("data:text/html,hi"), "/"),
            (Some("foo/bar"), "/"),
            (Some(""), "/"),
            (Some("é"), "/"),
        ] {
            assert_eq!(back_to(referer, host), to, "{referer:?}");
        }
        assert_eq!(back_to(Some("http://127.0.0.1:9292/x"), None), "/");
    }

    proptest::proptest! {
        /// Whatever the Referer, the browser stays on this host.
        #[test]
        fn always_a_path_of_this_host(referer in ".*") {
            let to = back_to(Some(&referer), Some("h"));
            proptest::prop_assert!(to.starts_with('/') && !to[1..].starts_with(['/', '\\']));
        }
    }
}
