/*!
Histograms in every format: the `aggregate` gem's text with raindrops' `X-*` headers, JSON, and
OpenMetrics `histogram` and `summary` lines. The Watcher's `/active/ADDR` and `/queued/ADDR`
pages, its `/metrics`, the [`LastDataRecv`](crate::last_data_recv) endpoint and the `metrics`
exporter all render through here.

```
use raindrops::Aggregate;
use raindrops_http::exposition::histogram;

let aggregate: Aggregate = [0, 3, 5].into_iter().collect();
let json = histogram::json(&aggregate, &[(50.0, 3)]);
assert_eq!(json["count"], 3);
assert_eq!(json["percentiles"]["p50"], 3);

let mut out = String::new();
histogram::write_buckets(&mut out, "demo", "", &aggregate);
assert!(out.contains("demo_bucket{le=\"3\"} 2\n"));
assert!(out.ends_with("demo_count 3\ndemo_sum 8\n"));
```
*/

use std::fmt::Write;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use raindrops::{Aggregate, AggregateSnapshot};
use serde_json::{Map, Value, json};

/// The percentiles shown with a [`raindrops::SharedAggregate`]: p50, p90, p99 and p99.9.
pub const PERCENTILES: [f64; 4] = [50.0, 90.0, 99.0, 99.9];

/// Upper bounds of the OpenMetrics histogram buckets: `2^k - 1` for k in 0..=20, so each holds
/// whole log2 buckets of the `aggregate` gem (0, 1, 2..3, 4..7, ...), fixed so every scrape has
/// the same series.
const LE_BOUNDS: usize = 21;

/// The [`PERCENTILES`] of `snapshot` that exist (none when it holds no non-negative sample), as
/// `(p, value)`.
///
/// ```
/// let aggregate = raindrops::SharedAggregate::new(1)?;
/// assert!(raindrops_http::exposition::histogram::percentiles(&aggregate.snapshot()).is_empty());
/// aggregate.recorder(0).record(40);
/// let got = raindrops_http::exposition::histogram::percentiles(&aggregate.snapshot());
/// assert_eq!(got, [(50.0, 40), (90.0, 40), (99.0, 40), (99.9, 40)]);
/// # Ok::<(), raindrops::SegmentError>(())
/// ```
pub fn percentiles(snapshot: &AggregateSnapshot) -> Vec<(f64, i64)> {
    PERCENTILES.iter().filter_map(|&p| Some((p, snapshot.percentile(p)?))).collect()
}

/// Percentile `p` (0 to 100) as an OpenMetrics quantile (0 to 1), rounded to the
/// thousandth of a percent so that 99.9 is `0.999`, not `0.9990000000000001`.
///
/// ```
/// use raindrops_http::exposition::histogram::quantile;
/// assert_eq!(quantile(99.9).to_string(), "0.999");
/// assert_eq!(quantile(50.0), 0.5);
/// ```
pub fn quantile(p: f64) -> f64 {
    (p * 1000.0).round() / 100_000.0
}

/// The name of percentile `p`: `p50`, `p99.9`.
///
/// ```
/// use raindrops_http::exposition::histogram::percentile_name;
/// assert_eq!(percentile_name(99.9), "p99.9");
/// assert_eq!(percentile_name(50.0), "p50");
/// ```
pub fn percentile_name(p: f64) -> String {
    format!("p{p}")
}

/// The statistics and non-empty buckets of `aggregate` as JSON: `count`, `min`, `max`, `mean`,
/// `std_dev` (null when not a number), `outliers_low`, `outliers_high`, then `percentiles`
/// (`{"p50": v, ...}`, when any are given) and `buckets` (`[{"value": "512", "count": 2}]`, the
/// value a string since the top log2 bucket is 2^63).
///
/// ```
/// let aggregate: raindrops::Aggregate = [600, 900].into_iter().collect();
/// let json = raindrops_http::exposition::histogram::json(&aggregate, &[]);
/// assert_eq!(json["buckets"], serde_json::json!([{"value": "512", "count": 2}]));
/// assert!(json.get("percentiles").is_none());
/// ```
pub fn json(aggregate: &Aggregate, percentiles: &[(f64, i64)]) -> Map<String, Value> {
    let float = |f: f64| if f.is_finite() { json!(f) } else { json!(null) };
    let mut map = Map::new();
    map.insert("count".into(), json!(aggregate.count()));
    map.insert("min".into(), json!(aggregate.min()));
    map.insert("max".into(), json!(aggregate.max()));
    map.insert("mean".into(), float(aggregate.mean()));
    map.insert("std_dev".into(), float(aggregate.std_dev()));
    map.insert("outliers_low".into(), json!(aggregate.outliers_low()));
    map.insert("outliers_high".into(), json!(aggregate.outliers_high()));
    if !percentiles.is_empty() {
        let values = percentiles.iter().map(|&(p, v)| (percentile_name(p), json!(v))).collect();
        map.insert("percentiles".into(), Value::Object(values));
    }
    let buckets = aggregate
        .nonzero_buckets()
        .map(|b| json!({ "value": b.value.to_string(), "count": b.count }))
        .collect();
    map.insert("buckets".into(), Value::Array(buckets));
    map
}

/// `labels` followed by one more label, as the inside of `{...}`.
fn with_label(labels: &str, name: &str, value: &str) -> String {
    if labels.is_empty() {
        format!("{name}=\"{value}\"")
    } else {
        format!("{labels},{name}=\"{value}\"")
    }
}

/// `{labels}`, or nothing when there are none.
///
/// ```
/// use raindrops_http::exposition::histogram::braced;
/// assert_eq!(braced(r#"a="1""#), r#"{a="1"}"#);
/// assert_eq!(braced(""), "");
/// ```
pub fn braced(labels: &str) -> String {
    if labels.is_empty() { String::new() } else { format!("{{{labels}}}") }
}

/// The `_bucket`, `_count` and `_sum` lines of an OpenMetrics histogram of a log2 `aggregate`
/// whose samples are never negative (the gem's low outliers are then the zeros), with the
/// fixed bounds `le="0"`, `"1"`, `"3"`, ... `"1048575"`, `"+Inf"`. `labels` is escaped already
/// (`addr="127.0.0.1:80"`, or empty).
///
/// ```
/// let aggregate: raindrops::Aggregate = [0, 1, 2, 3, 4, 9].into_iter().collect();
/// let mut out = String::new();
/// raindrops_http::exposition::histogram::write_buckets(&mut out, "q", "a=\"b\"", &aggregate);
/// assert!(out.starts_with("q_bucket{a=\"b\",le=\"0\"} 1\nq_bucket{a=\"b\",le=\"1\"} 2\n"));
/// assert!(out.contains("q_bucket{a=\"b\",le=\"7\"} 5\n"));
/// ```
pub fn write_buckets(out: &mut String, family: &str, labels: &str, aggregate: &Aggregate) {
    // Writing to a String cannot fail.
    for k in 0..LE_BOUNDS {
        let le = (1i128 << k) - 1;
        let count = aggregate.outliers_low()
            + aggregate.nonzero_buckets().filter(|b| b.value <= le).map(|b| b.count).sum::<u64>();
        let _ = writeln!(
            out,
            "{family}_bucket{{{}}} {count}",
            with_label(labels, "le", &le.to_string())
        );
    }
    let count = aggregate.count();
    let _ = write!(
        out,
        "{family}_bucket{{{}}} {count}\n{family}_count{l} {count}\n{family}_sum{l} {sum}\n",
        with_label(labels, "le", "+Inf"),
        l = braced(labels),
        sum = aggregate.sum()
    );
}

/// The `quantile`, `_count` and `_sum` lines of an OpenMetrics summary; `quantiles` are
/// `(q, value)` with `q` in 0..=1, and `labels` are escaped already (or empty).
///
/// ```
/// let mut out = String::new();
/// raindrops_http::exposition::histogram::write_quantiles(&mut out, "s", "", &[(0.5, 3.0)], 2, 7.5);
/// assert_eq!(out, "s{quantile=\"0.5\"} 3\ns_count 2\ns_sum 7.5\n");
/// ```
pub fn write_quantiles(
    out: &mut String,
    family: &str,
    labels: &str,
    quantiles: &[(f64, f64)],
    count: u64,
    sum: f64,
) {
    // Writing to a String cannot fail.
    for (q, value) in quantiles {
        let _ =
            writeln!(out, "{family}{{{}}} {value}", with_label(labels, "quantile", &q.to_string()));
    }
    let l = braced(labels);
    let _ = write!(out, "{family}_count{l} {count}\n{family}_sum{l} {sum}\n");
}

/// `value` as a header value, or an empty one when it has bytes a header cannot carry.
pub(crate) fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A histogram page: `x_headers` (`X-Count`, ...), `Content-Type` and `body`.
pub(crate) fn response(
    x_headers: impl IntoIterator<Item = (&'static str, String)>,
    content_type: &'static str,
    body: String,
) -> Response {
    let mut headers = HeaderMap::new();
    for (name, value) in x_headers {
        headers.insert(name, header_value(&value));
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Headers in Ruby raindrops' order: the body's default content type must not come first.
    let mut response = body.into_response();
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use raindrops::Aggregate;

    #[test]
    fn buckets_are_cumulative_over_log2_buckets() {
        let mut agg = Aggregate::new();
        agg.extend([0, 1, 2, 3, 4, 9, 1 << 30]);
        let mut out = String::new();
        super::write_buckets(&mut out, "f", "addr=\"a\"", &agg);
        let line = |le: &str| {
            let prefix = format!("f_bucket{{addr=\"a\",le=\"{le}\"}} ");
            out.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap().to_owned()
        };
        let got: Vec<_> = ["0", "1", "3", "7", "15", "1048575", "+Inf"].map(line).into();
        assert_eq!(got, ["1", "2", "4", "5", "6", "6", "7"]);
        assert!(out.ends_with(&format!(
            "f_count{{addr=\"a\"}} 7\nf_sum{{addr=\"a\"}} {}\n",
            19 + (1u64 << 30)
        )));
    }

    #[test]
    fn json_of_an_empty_aggregate() {
        let json = super::json(&Aggregate::new(), &[]);
        assert_eq!(
            Value::Object(json),
            serde_json::json!({
                "count": 0, "min": null, "max": null, "mean": null, "std_dev": null,
                "outliers_low": 0, "outliers_high": 0, "buckets": [],
            })
        );
    }

    use serde_json::Value;
}
