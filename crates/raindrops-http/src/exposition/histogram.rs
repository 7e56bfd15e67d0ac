/*!
Histograms in every format: the `aggregate` gem's text with raindrops' `X-*` headers, JSON, and
the percentiles that OpenMetrics `summary` lines show (the `histogram` and `summary` lines
themselves are the [`writer`](super::writer)'s). The Watcher's `/active/ADDR` and `/queued/ADDR`
pages, its `/metrics`, the [`LastDataRecv`](crate::last_data_recv) endpoint and the `metrics`
exporter all render through here.

```
use raindrops::Aggregate;
use raindrops_http::exposition::histogram;

let aggregate: Aggregate = [0, 3, 5].into_iter().collect();
let json = histogram::json(&aggregate, &[(50.0, 3)]);
assert_eq!(json["count"], 3);
assert_eq!(json["percentiles"]["p50"], 3);

assert_eq!(histogram::quantile(99.9).to_string(), "0.999");
```
*/

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use raindrops::{Aggregate, AggregateSnapshot};
use serde_json::{Map, Value, json};

/// The percentiles shown with a [`raindrops::SharedAggregate`]: p50, p90, p99 and p99.9.
pub const PERCENTILES: [f64; 4] = [50.0, 90.0, 99.0, 99.9];

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
