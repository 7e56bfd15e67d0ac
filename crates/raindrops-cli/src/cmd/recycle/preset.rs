//! Each server's own signals for stopping one worker, from its documentation or source.
//!
//! | preset | graceful | abrupt | source |
//! |---|---|---|---|
//! | unicorn | `QUIT`: "gracefully exit after finishing the current request" | `TERM` (or `INT`): "quick shutdown, immediately exit" | unicorn's `SIGNALS` ("Worker Processes"), Debian `unicorn` 6.0 `/usr/share/doc/unicorn/SIGNALS.gz` |
//! | puma | `TERM`: the cluster worker's trap calls `server.stop`, which finishes the requests in progress | none: the worker ignores `INT` (`Signal.trap "SIGINT", "IGNORE"`) | puma 5.6 `lib/puma/cluster/worker.rb` |
//! | gunicorn | `TERM`: `handle_exit` sets `alive = False`; the worker finishes its request and leaves its loop | `QUIT` (or `INT`): `handle_quit` calls `worker_int` and `sys.exit(0)` at once | gunicorn 20.1 `gunicorn/workers/base.py` (`init_signals`), and its docs' "Signal Handling": "TERM: Graceful shutdown", "QUIT, INT: Quick shutdown" |
//!
//! In all three the master replaces a worker that exits. After the graceful signal ×10 and
//! the abrupt one ×5, a second apart, comes `SIGKILL` (the killer crate's [`Escalation`]).

use nix::sys::signal::Signal;
use raindrops_killer::Escalation;

/// A server whose worker signals `recycle` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Preset {
    /// unicorn (and Rainbows): QUIT graceful, TERM immediate.
    Unicorn,
    /// puma in cluster mode: TERM graceful, no immediate signal (INT is ignored).
    Puma,
    /// gunicorn: TERM graceful, QUIT immediate.
    Gunicorn,
}

impl Preset {
    /// The graceful and abrupt signals of a worker.
    pub(crate) fn signals(self) -> (Signal, Option<Signal>) {
        match self {
            Preset::Unicorn => (Signal::SIGQUIT, Some(Signal::SIGTERM)),
            Preset::Puma => (Signal::SIGTERM, None),
            Preset::Gunicorn => (Signal::SIGTERM, Some(Signal::SIGQUIT)),
        }
    }
}

/// The escalation for `preset`, or for explicit signals (`--graceful`, `--abrupt`).
pub(crate) fn escalation(
    preset: Option<Preset>,
    graceful: Option<Signal>,
    abrupt: Option<Signal>,
) -> Escalation {
    let (graceful, abrupt) = match graceful {
        Some(graceful) => (graceful, abrupt),
        None => preset.unwrap_or(Preset::Unicorn).signals(),
    };
    Escalation::new(graceful, abrupt)
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal::{SIGINT, SIGKILL, SIGQUIT, SIGTERM, SIGUSR1};

    use super::{Preset, escalation};

    #[test]
    fn presets_follow_each_servers_documentation() {
        let unicorn: Vec<_> = escalation(Some(Preset::Unicorn), None, None).steps().collect();
        assert_eq!(&unicorn[..10], [SIGQUIT; 10]);
        assert_eq!(&unicorn[10..], [SIGTERM, SIGTERM, SIGTERM, SIGTERM, SIGTERM, SIGKILL]);
        let puma: Vec<_> = escalation(Some(Preset::Puma), None, None).steps().collect();
        assert_eq!(puma.len(), 11);
        assert_eq!(puma[10], SIGKILL);
        assert_eq!(Preset::Gunicorn.signals(), (SIGTERM, Some(SIGQUIT)));
        assert_eq!(escalation(None, None, None), escalation(Some(Preset::Unicorn), None, None));
        assert_eq!(escalation(None, Some(SIGUSR1), Some(SIGINT)).abrupt, Some(SIGINT));
    }
}
