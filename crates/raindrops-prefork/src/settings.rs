//! What a built [`Prefork`] is made of: the checked [`Settings`], the listeners, the
//! supervision rows and the hooks; the master runs with it, the builder makes it.

use std::path::PathBuf;
use std::time::Duration;

use raindrops::Workers;

use crate::supervision::Supervision;
use crate::tick::TickHook;
use crate::{Escalation, Listener};

/// The checked settings the master runs with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) workers: usize,
    pub(crate) max_workers: usize,
    pub(crate) max_restarting: usize,
    pub(crate) timeout: Duration,
    pub(crate) graceful_timeout: Duration,
    pub(crate) escalation: Escalation,
    pub(crate) backoff: (Duration, Duration),
    pub(crate) log_file: Option<PathBuf>,
    /// The Unix socket files bound here (not inherited): removed when the master exits.
    pub(crate) sockets: Vec<PathBuf>,
}

/// A preforking supervisor, ready to run: see the [crate docs](crate).
pub struct Prefork {
    pub(crate) settings: Settings,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) supervision: Workers<Supervision>,
    pub(crate) on_exit: Option<Box<dyn FnMut(usize)>>,
    pub(crate) on_tick: Option<(Duration, Box<TickHook>)>,
}

impl std::fmt::Debug for Prefork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefork")
            .field("settings", &self.settings)
            .field("listeners", &self.listeners)
            .finish_non_exhaustive()
    }
}
