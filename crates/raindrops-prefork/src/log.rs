/*!
The supervisor's log: `tracing` events, and [`Lines`], the one-line format they have always
been written in (`raindrops-prefork[PID]: message`).

The master and every worker log their events (a worker started, serving, replaced, killed; a
signal received) through `tracing`, like the other raindrops libraries, so a program decides
where they go. Each event about one worker comes inside a `worker` span whose `row` and `pid`
fields are there for subscribers that record spans (JSON, journald); the message says the same
for people. Without a subscriber nothing is written: install one before
[`Prefork::run`](crate::Prefork::run), in the master, and the workers inherit it with `fork`.

[`Builder::log_file`](crate::Builder::log_file) points standard error at a file that SIGUSR1
reopens (after `logrotate` renamed it), in the master and in every worker; a subscriber
writing to `std::io::stderr` follows it. [`Lines`] formats each event into one buffer written
with one `write`: with `O_APPEND`, lines of the master and of the workers never interleave.

```
use raindrops_prefork::log::Lines;

// In `main`, before building the supervisor.
let _ = tracing_subscriber::fmt().event_format(Lines::with_pid()).with_writer(std::io::stderr).try_init();
```
*/

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// A `tracing_subscriber` event format: one line per event, `CRATE[PID]: message key=value`
/// (or `CRATE: …` without the pid), the crate named from the event's target with dashes, and
/// `warning: ` or `error: ` before the message of a warning or an error. Spans are left out.
///
/// ```
/// use raindrops_prefork::log::Lines;
///
/// let subscriber = tracing_subscriber::fmt()
///     .event_format(Lines::without_pid())
///     .with_writer(std::io::stderr)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     // Written as `raindrops-prefork: warning: worker 3: cannot start a runtime`.
///     tracing::warn!(target: "raindrops_prefork::worker", "worker 3: cannot start a runtime");
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Lines {
    pid: bool,
}

impl Lines {
    /// Lines that name the writing process: `raindrops-prefork[41022]: …`, as a supervisor's
    /// master and workers write to one standard error.
    ///
    /// ```
    /// let _format = raindrops_prefork::log::Lines::with_pid();
    /// ```
    pub fn with_pid() -> Self {
        Lines { pid: true }
    }

    /// Lines without the process id: `raindrops-metrics: warning: …`.
    ///
    /// ```
    /// let _format = raindrops_prefork::log::Lines::without_pid();
    /// ```
    pub fn without_pid() -> Self {
        Lines { pid: false }
    }
}

impl<S, N> FormatEvent<S, N> for Lines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let metadata = event.metadata();
        let source = metadata.target().split("::").next().unwrap_or_default();
        let mut line = source.replace('_', "-");
        if self.pid {
            write!(line, "[{}]", std::process::id())?;
        }
        line.push_str(": ");
        match *metadata.level() {
            Level::ERROR => line.push_str("error: "),
            Level::WARN => line.push_str("warning: "),
            _ => {}
        }
        writer.write_str(&line)?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Sends this process's `tracing` events at INFO and above to standard error, one [`Lines`]
/// line each with the pid: the supervisor's master and workers, the killer, the servers. A
/// library logs nothing until a program installs a subscriber; a program with no other wish
/// calls this once, before [`Prefork::run`](crate::Prefork::run) forks, so every worker
/// inherits it. Does nothing if a subscriber is already set.
///
/// ```
/// raindrops_prefork::log::init();
/// tracing::info!(target: "raindrops_prefork::master", "master exiting");
/// // stderr: raindrops-prefork[41022]: master exiting
/// ```
pub fn init() {
    let _already_set = tracing_subscriber::fmt()
        .event_format(Lines::with_pid())
        .with_writer(io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
}

/// The span of the events about worker `row`, process `pid`: their structured fields.
pub(crate) fn worker(row: usize, pid: impl std::fmt::Display) -> tracing::Span {
    tracing::info_span!("worker", row, pid = %pid)
}

/// Opens `path` for appending (creating it, mode 0644) and makes it this process's standard
/// error. Opening first means a bad path leaves the old standard error in place.
pub(crate) fn redirect_stderr(path: &Path) -> io::Result<()> {
    let file: File = OpenOptions::new().append(true).create(true).mode(0o644).open(path)?;
    nix::unistd::dup2_stderr(&file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::Lines;

    /// A writer into a shared buffer, for a subscriber in a test.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(format: Lines, log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(format)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn a_line_names_the_crate_and_process_and_ends_with_the_fields() {
        let text = lines(Lines::with_pid(), || {
            let _worker = super::worker(0, 41).entered();
            tracing::info!("worker 0 (pid 41) serving");
            tracing::warn!(target: "raindrops_killer::prefork", total = 9, "memory budget exceeded");
            tracing::error!("cannot fork worker 1: EAGAIN");
        });
        let pid = std::process::id();
        assert_eq!(
            text,
            format!(
                "raindrops-prefork[{pid}]: worker 0 (pid 41) serving\n\
                 raindrops-killer[{pid}]: warning: memory budget exceeded total=9\n\
                 raindrops-prefork[{pid}]: error: cannot fork worker 1: EAGAIN\n"
            )
        );
        let text = lines(Lines::without_pid(), || tracing::warn!("full"));
        assert_eq!(text, "raindrops-prefork: warning: full\n");
    }

    #[test]
    fn a_missing_directory_is_an_error_and_stderr_stays() {
        let dir = tempfile::tempdir().unwrap();
        let err = super::redirect_stderr(&dir.path().join("no/such/dir/log")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
