//! The libraries' log lines (`tracing`), on stderr.

/// Sends `tracing` events at INFO and above to stderr, one line each, without colours. Does
/// nothing if a subscriber is already set.
pub(crate) fn init() {
    let _already_set = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
}
