//! The OpenMetrics exporter: [`SharedRecorder::render`] and [`MetricsService`].

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Response};
use http::{Request, header};
use raindrops_http::exposition::Format;
use raindrops_http::exposition::histogram::{percentiles, quantile};
use raindrops_http::exposition::writer::{Dialect, Exposition, Family, Labels, Type, number};

use crate::recorder::SharedRecorder;
use crate::table::{Entry, Kind};

impl SharedRecorder {
    /// Every metric registered by any process, summed over workers, as OpenMetrics text:
    /// counters as `counter` families (samples `NAME_total`), gauges as `gauge`, histograms as
    /// `summary` (quantiles 0.5, 0.9, 0.99, 0.999, then `_count` and `_sum`, in the recorded
    /// unit), families sorted by name, ending in `# EOF`. A name registered with two kinds
    /// (under different labels) is shown with the kind it first appears with in the table.
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().build()?;
    /// recorder.gauge(&metrics::Key::from_name("temperature"))?.set(-1.5);
    /// assert_eq!(
    ///     recorder.render(),
    ///     "# TYPE temperature gauge\ntemperature -1.5\n# EOF\n"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn render(&self) -> String {
        let shared = &self.shared;
        let mut families: BTreeMap<String, (Kind, Vec<Entry>)> = BTreeMap::new();
        for entry in shared.table.entries() {
            let family = match entry.kind {
                Kind::Counter => {
                    entry.name.strip_suffix("_total").unwrap_or(&entry.name).to_owned()
                }
                _ => entry.name.clone(),
            };
            let (kind, entries) = families.entry(family).or_insert((entry.kind, Vec::new()));
            if *kind == entry.kind {
                entries.push(entry);
            }
        }
        let descriptions = shared.descriptions.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Exposition::new(Dialect::OpenMetrics);
        for (family, (kind, mut entries)) in families {
            entries.sort_by(|a, b| a.labels.cmp(&b.labels));
            let help = descriptions
                .get(&family)
                .or_else(|| entries.first().and_then(|e| descriptions.get(&e.name)));
            let kind_type = match kind {
                Kind::Counter => Type::Counter,
                Kind::Gauge => Type::Gauge,
                Kind::Histogram => Type::Summary,
            };
            out.family(&Family {
                name: &family,
                kind: kind_type,
                unit: None,
                help: help.map(String::as_str),
            });
            for entry in entries {
                let labels = Labels::escaped(entry.labels.as_str());
                let words = shared.rows_of(entry.slot.index);
                // Relaxed: lone values, summed.
                match kind {
                    Kind::Counter => {
                        let sum =
                            words.fold(0u64, |sum, w| sum.wrapping_add(w.load(Ordering::Relaxed)));
                        out.sample(&labels, sum);
                    }
                    Kind::Gauge => {
                        let sum: f64 =
                            words.map(|w| f64::from_bits(w.load(Ordering::Relaxed))).sum();
                        out.sample(&labels, number(sum));
                    }
                    Kind::Histogram => {
                        let Some(aggregate) =
                            entry.slot.histogram.and_then(|h| shared.histograms.get(h))
                        else {
                            continue;
                        };
                        let snapshot = aggregate.snapshot();
                        let scale = shared.scale;
                        let quantiles: Vec<(f64, f64)> = percentiles(&snapshot)
                            .into_iter()
                            .map(|(p, value)| (quantile(p), value as f64 / scale))
                            .collect();
                        let sum = snapshot.sum as f64 / scale;
                        out.summary(&labels, &quantiles, snapshot.count, sum);
                    }
                }
            }
        }
        out.finish()
    }

    /// The exporter as a tower service: every request gets [`render`](Self::render).
    ///
    /// ```
    /// let recorder = raindrops_metrics::SharedRecorder::builder().build()?;
    /// let _app: axum::Router = axum::Router::new().route_service("/metrics", recorder.service());
    /// # Ok::<(), raindrops::SegmentError>(())
    /// ```
    pub fn service(&self) -> MetricsService {
        MetricsService { recorder: self.clone() }
    }
}

/// Answers every request with the OpenMetrics text of a [`SharedRecorder`], summed over
/// workers; see [`SharedRecorder::service`].
///
/// ```
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let recorder = raindrops_metrics::SharedRecorder::builder().build()?;
/// let response = recorder.service().oneshot(http::Request::new(())).await?;
/// assert_eq!(response.headers()["content-type"], raindrops_http::exposition::Format::OpenMetrics.content_type());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MetricsService {
    recorder: SharedRecorder,
}

impl<B> tower::Service<Request<B>> for MetricsService {
    type Response = Response;
    type Error = Infallible;
    type Future = Ready<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let body = self.recorder.render();
        ready(Ok(
            ([(header::CONTENT_TYPE, Format::OpenMetrics.content_type())], body).into_response()
        ))
    }
}
