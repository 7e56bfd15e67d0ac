//! The exporter's output as a golden file (`tests/golden/exporter.txt`): counters with labels
//! (one value needing escapes), gauges (negative, fractional), a histogram as a summary, HELP
//! from `describe_*`; it also passes `promtool check metrics` and `prometheus_client`'s
//! parsers. Regenerate with `RAINDROPS_BLESS=1 cargo test -p raindrops-metrics --test golden`.

use metrics::{Key, Recorder, SharedString, Unit};
use raindrops_metrics::SharedRecorder;
use raindrops_test_support::assert_golden;
use raindrops_test_support::golden::check_openmetrics;

#[test]
fn exporter_output() {
    let recorder = SharedRecorder::builder().workers(2).build().unwrap();
    let help = |text: &'static str| SharedString::from(text);
    recorder.describe_counter("requests".into(), None, help("Requests served, by route (a\\b)."));
    recorder.describe_gauge("temperature".into(), Some(Unit::Count), help("Degrees."));
    recorder.describe_histogram("latency_seconds".into(), None, help("Request latency."));
    let get = Key::from_parts("requests_total", &[("route", "/a\"b"), ("method", "GET")]);
    recorder.counter(&get).unwrap().increment(3);
    recorder.counter(&Key::from_parts("requests_total", &[("route", "/")])).unwrap().increment(1);
    recorder.gauge(&Key::from_name("temperature")).unwrap().set(-1.5);
    recorder.gauge(&Key::from_name("undescribed")).unwrap().set(0.25);
    let latency = recorder.histogram(&Key::from_name("latency_seconds")).unwrap();
    for value in [0.001, 0.002, 0.004, 0.5] {
        latency.record(value);
    }
    recorder.set_worker(1);
    recorder.counter(&get).unwrap().increment(2);
    let text = recorder.render();
    check_openmetrics(&text);
    assert_golden!("exporter.txt", text);
}
