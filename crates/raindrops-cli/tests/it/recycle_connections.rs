//! Issue 17, item 2: `recycle --metrics-listen` takes the connection policy flags of `watch`
//! and `serve` (`--header-timeout`, `--idle-timeout`, `--max-connections`).
#![cfg(target_os = "linux")]

use std::process::Command;

use crate::recycle_metrics::metrics_addr;
use crate::recycle_sidecar::{KillOnDrop, Sidecar};
use crate::util::assert_usage_error;
use crate::watch_connections::assert_idle_connection_closed;

/// `--idle-timeout 1s`: a keep-alive connection to the metrics endpoint that sends no next
/// request is closed (the header timeout, 60 s, cannot be what closes it).
#[test]
fn the_metrics_endpoint_closes_an_idle_keep_alive_connection() {
    let master = KillOnDrop(Command::new("sleep").arg("300").spawn().unwrap());
    let pid = master.0.id().to_string();
    let sidecar = Sidecar::start(&[
        "--master",
        &pid,
        "--max-lifetime",
        "1h",
        "--metrics-listen",
        "127.0.0.1:0",
        "--idle-timeout",
        "1s",
        "--header-timeout",
        "60s",
        "--max-connections",
        "8",
    ]);
    assert_idle_connection_closed(metrics_addr(&sidecar), "/metrics");
}

#[test]
fn bad_connection_flags_exit_2_naming_the_flag() {
    let base = ["recycle", "--master", "2", "--max-lifetime", "1h"];
    let listen = ["--metrics-listen", "127.0.0.1:0"];
    for (flag, value, says) in [
        ("--idle-timeout", "0", "out of range"),
        ("--idle-timeout", "1.5.0s", "is not a duration"),
        ("--header-timeout", "1d", "unknown unit \"d\""),
        ("--max-connections", "0", "invalid value '0'"),
        ("--max-connections", "many", "invalid value 'many'"),
    ] {
        assert_usage_error(&[&base[..], &listen, &[flag, value]].concat(), &[flag, says]);
    }
    // Without an endpoint to apply to.
    for flag in ["--idle-timeout", "--header-timeout", "--max-connections"] {
        assert_usage_error(
            &[&base[..], &[flag, "5"]].concat(),
            &[&format!("{flag} applies to --metrics-listen")],
        );
    }
}
