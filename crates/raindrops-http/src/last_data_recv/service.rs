//! [`LastDataRecvService`]: the endpoint, like raindrops' `Raindrops::LastDataRecv` Rack app.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::response::Response;
use http::Request;
use raindrops::{Aggregate, AggregateSnapshot, SharedAggregate};

use crate::exposition::families::{
    LAST_DATA_RECV_MILLISECONDS, LAST_DATA_RECV_QUANTILES_MILLISECONDS,
};
use crate::exposition::histogram::{self, PERCENTILES};
use crate::exposition::writer::{Dialect, Exposition, Labels};
use crate::exposition::{Format, json_line};
use crate::x_headers::Style;

/// The headers of [`PERCENTILES`], in order.
const PERCENTILE_HEADERS: [&str; 4] = ["X-P50", "X-P90", "X-P99", "X-P99.9"];

/// A tower service answering every request with the `tcpi_last_data_recv` statistics of a
/// [`LastDataRecv`](super::LastDataRecv); see the [module docs](super) for the headers and
/// formats. Cloning it is cheap; every clone reads the same shared memory.
///
/// ```
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let stats = raindrops_http::last_data_recv::LastDataRecv::new(1)?;
/// stats.aggregate().recorder(0).record(600);
/// stats.aggregate().recorder(0).record(900);
/// let request = http::Request::get("/_last_data_recv").body(())?;
/// let response = stats.service().oneshot(request).await?;
/// assert_eq!(response.headers()["x-count"], "2");
/// assert_eq!(response.headers()["x-mean"], "750");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LastDataRecvService {
    aggregate: SharedAggregate,
}

impl LastDataRecvService {
    /// Shows `aggregate`.
    ///
    /// ```
    /// let aggregate = raindrops::SharedAggregate::new(4)?;
    /// let _service = raindrops_http::last_data_recv::LastDataRecvService::new(aggregate);
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn new(aggregate: SharedAggregate) -> Self {
        LastDataRecvService { aggregate }
    }
}

impl<B> tower::Service<Request<B>> for LastDataRecvService {
    type Response = Response;
    type Error = Infallible;
    type Future = Ready<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(render(&self.aggregate.snapshot(), format_of(&req))))
    }
}

/// `….json` is JSON; `…/metrics`, or an `Accept` of OpenMetrics, is OpenMetrics; anything else
/// the text: [`Format::negotiate`].
fn format_of<B>(req: &Request<B>) -> Format {
    Format::negotiate(req.uri().path(), req.headers())
}

/// raindrops' headers ([`Style::LastDataRecv`]): `X-Count` always; with more than one sample
/// also `X-Min`, `X-Max`, `X-Mean` and `X-Std-Dev` (rounded to integers, as Ruby's `round`),
/// `X-Outliers-Low`, `X-Outliers-High`, then ours: `X-P50`, `X-P90`, `X-P99`, `X-P99.9`.
fn x_headers(gem: &Aggregate, percentiles: &[(f64, i64)]) -> Vec<(&'static str, String)> {
    let mut headers = crate::x_headers::x_headers(gem, Style::LastDataRecv);
    if gem.count() > 1 {
        for (p, name) in PERCENTILES.iter().zip(PERCENTILE_HEADERS) {
            if let Some((_, value)) = percentiles.iter().find(|(q, _)| q == p) {
                headers.push((name, value.to_string()));
            }
        }
    }
    headers
}

fn render(snapshot: &AggregateSnapshot, format: Format) -> Response {
    let gem = snapshot.to_aggregate();
    let percentiles = histogram::percentiles(snapshot);
    let headers = x_headers(&gem, &percentiles);
    let (content_type, body) = match format {
        Format::Json => {
            let json = histogram::json(&gem, &percentiles);
            ("application/json", json_line(&serde_json::Value::Object(json)))
        }
        Format::OpenMetrics => {
            let mut out = Exposition::new(Dialect::OpenMetrics);
            out.family(&LAST_DATA_RECV_MILLISECONDS).histogram(&Labels::none(), &gem);
            let quantiles: Vec<(f64, f64)> =
                percentiles.iter().map(|&(p, v)| (histogram::quantile(p), v as f64)).collect();
            out.family(&LAST_DATA_RECV_QUANTILES_MILLISECONDS).summary(
                &Labels::none(),
                &quantiles,
                snapshot.count,
                snapshot.sum as f64,
            );
            (Format::OpenMetrics.content_type(), out.finish())
        }
        _ => ("text/plain", gem.to_string()),
    };
    histogram::response(headers, content_type, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, accept: Option<&str>) -> Request<()> {
        let mut builder = Request::get(path);
        if let Some(accept) = accept {
            builder = builder.header(http::header::ACCEPT, accept);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn formats_by_path_and_accept() {
        assert_eq!(format_of(&request("/ldr", None)), Format::Text);
        assert_eq!(format_of(&request("/ldr.json", None)), Format::Json);
        assert_eq!(format_of(&request("/ldr/metrics", None)), Format::OpenMetrics);
        let om = Some("application/openmetrics-text; version=1.0.0");
        assert_eq!(format_of(&request("/ldr", om)), Format::OpenMetrics);
    }

    #[test]
    fn headers_like_raindrops() {
        let one: Aggregate = [5].into_iter().collect();
        assert_eq!(x_headers(&one, &[(50.0, 5)]), [("X-Count", "1".to_owned())]);
        let gem: Aggregate = [1, 2].into_iter().collect();
        let got = x_headers(&gem, &[(50.0, 1), (99.9, 2)]);
        let want = [
            ("X-Count", "2"),
            ("X-Min", "1"),
            ("X-Max", "2"),
            ("X-Mean", "2"), // 1.5 rounds away from zero, like Ruby
            ("X-Std-Dev", "1"),
            ("X-Outliers-Low", "0"),
            ("X-Outliers-High", "0"),
            ("X-P50", "1"),
            ("X-P99.9", "2"),
        ];
        assert_eq!(got, want.map(|(k, v)| (k, v.to_owned())));
    }
}
