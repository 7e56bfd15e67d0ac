//! A full name table: a clear error from the registering API; through the macros, a no-op
//! handle and one `tracing` warning per key, never a panic.

use std::process::Command;

use metrics::Key;
use raindrops_metrics::{RegisterErrorKind, SharedRecorder};

/// Set in the re-run of this binary that uses the macros.
const CHILD: &str = "RAINDROPS_METRICS_FULL_CHILD";

#[test]
fn a_full_table_is_an_error_naming_the_key() {
    let recorder = SharedRecorder::builder().capacity(2).build().unwrap();
    recorder.counter(&Key::from_name("a")).unwrap().increment(1);
    recorder.gauge(&Key::from_parts("b", &[("x", "1")])).unwrap().set(2.0);
    let err = recorder.counter(&Key::from_parts("c", &[("x", "1")])).unwrap_err();
    assert_eq!(err.kind(), &RegisterErrorKind::TableFull { capacity: 2 });
    assert_eq!(
        err.to_string(),
        "cannot register metric `c{x=\"1\"}`: the name table is full (2 entries); raise its capacity"
    );
    // Existing keys still register.
    recorder.counter(&Key::from_name("a")).unwrap().increment(1);
    assert_eq!(
        recorder.render(),
        "# TYPE a counter\na_total 2\n# TYPE b gauge\nb{x=\"1\"} 2\n# EOF\n"
    );
}

#[test]
fn macros_warn_once_and_do_nothing() {
    if std::env::var_os(CHILD).is_some() {
        // The library warns through `tracing`; this subscriber writes its lines on stderr.
        tracing_subscriber::fmt()
            .event_format(raindrops_prefork::log::Lines::without_pid())
            .with_writer(std::io::stderr)
            .init();
        let recorder = SharedRecorder::builder().capacity(1).build().unwrap();
        metrics::with_local_recorder(&recorder, || {
            for _ in 0..3 {
                metrics::counter!("kept").increment(1);
                metrics::counter!("dropped").increment(1);
                metrics::histogram!("also_dropped").record(1.0);
            }
        });
        print!("{}", recorder.render());
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "macros_warn_once_and_do_nothing", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("# TYPE kept counter\nkept_total 3\n# EOF\n"), "{stdout}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let warnings: Vec<&str> =
        stderr.lines().filter(|l| l.starts_with("raindrops-metrics: warning:")).collect();
    assert_eq!(
        warnings,
        [
            "raindrops-metrics: warning: cannot register metric `dropped`: the name table is full (1 entries); raise its capacity; its updates are dropped",
            "raindrops-metrics: warning: cannot register metric `also_dropped`: the name table is full (1 entries); raise its capacity; its updates are dropped",
        ],
        "{stderr}"
    );
}
