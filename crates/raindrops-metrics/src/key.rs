//! A `metrics` [`Key`] as the name table stores it: `name` or `name{a="x",b="y"}`, exactly the
//! OpenMetrics series, so the exporter prints it as it is.
//!
//! Names keep `[a-zA-Z0-9_:]` and label names `[a-zA-Z0-9_]`; any other character becomes `_`,
//! and a leading digit gets a `_` before it (as `metrics-exporter-prometheus` does). Labels are
//! sorted by name, so their order in the macro call does not matter, and values are escaped.

use metrics::Key;
use raindrops_http::exposition::escape_label;

/// `name` made a valid OpenMetrics metric name (`colons`) or label name (no colons).
pub(crate) fn sanitize(name: &str, colons: bool) -> String {
    let mut out: String = name
        .chars()
        .map(
            |c| if c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':') { c } else { '_' },
        )
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The stored form of `key` and the length of its name.
pub(crate) fn encode(key: &Key) -> (String, usize) {
    let mut out = sanitize(key.name(), true);
    let name_len = out.len();
    let mut labels: Vec<(String, String)> =
        key.labels().map(|l| (sanitize(l.key(), false), escape_label(l.value()))).collect();
    if !labels.is_empty() {
        labels.sort();
        let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        out.push('{');
        out.push_str(&inner.join(","));
        out.push('}');
    }
    (out, name_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_labels_and_order() {
        assert_eq!(encode(&Key::from_name("http.requests")), ("http_requests".to_owned(), 13));
        let key = Key::from_parts("9lives", &[("z", "1"), ("a-b", "say \"hi\"")]);
        assert_eq!(encode(&key).0, "_9lives{a_b=\"say \\\"hi\\\"\",z=\"1\"}");
        let swapped = Key::from_parts("9lives", &[("a-b", "say \"hi\""), ("z", "1")]);
        assert_eq!(encode(&key), encode(&swapped));
        assert_eq!(sanitize("", true), "_");
        assert_eq!(sanitize("a:b", false), "a_b");
    }
}
