//! The libraries' log lines (`tracing`), on stderr.

/// Sends `tracing` events at INFO and above to stderr, one line each
/// (`raindrops-prefork[PID]: message key=value`, see [`Lines`](raindrops_prefork::log::Lines)):
/// the supervisor's master and workers, the killer, the servers. Does nothing if a subscriber
/// is already set.
pub(crate) fn init() {
    let _already_set = tracing_subscriber::fmt()
        .event_format(raindrops_prefork::log::Lines::with_pid())
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
}
