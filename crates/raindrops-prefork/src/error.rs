//! [`PreforkError`]: what can go wrong when starting or running the supervisor.

use std::io;
use std::time::Duration;

/// An error of the supervisor, naming the input or the step at fault.
///
/// The message includes the kernel's reason; it is not also given as
/// [`source`](std::error::Error::source), so that printing the error with its causes (anyhow's
/// `{:#}`) says it once. [`PreforkError::io_error`] gives the `io::Error` itself.
///
/// ```
/// use raindrops_prefork::{ConfigError, Prefork, PreforkError};
///
/// let err = Prefork::builder().workers(0).build().unwrap_err();
/// assert_eq!(err.to_string(), "workers is 0: give at least 1");
/// assert!(matches!(err, PreforkError::Config(ConfigError::NoWorkers)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreforkError {
    /// A setting is out of range, or there is no listener.
    #[error("{0}")]
    Config(ConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address, as given.
        addr: String,
        /// What the kernel said.
        error: io::Error,
    },
    /// `LISTEN_FDS`/`LISTEN_PID` announce descriptors that are not usable listeners.
    #[error("socket activation: {0}")]
    Activation(String),
    /// A system call of the supervisor failed.
    #[error("{what}: {error}")]
    Io {
        /// The step that failed.
        what: String,
        /// What the kernel said.
        error: io::Error,
    },
}

/// Which setting of a [`Builder`](crate::Builder) is wrong: the kind of a
/// [`PreforkError::Config`], so that a caller can tell a usage error from a failure, or which
/// flag to blame, without reading the message.
///
/// ```
/// use raindrops_prefork::{ConfigError, Prefork, PreforkError};
///
/// let err = Prefork::builder().workers(2).max_workers(1).build().unwrap_err();
/// let PreforkError::Config(kind) = err else { panic!("{err}") };
/// assert_eq!(kind, ConfigError::MaxWorkersBelowWorkers { max_workers: 1, workers: 2 });
/// assert_eq!(kind.to_string(), "max_workers 1 is below workers 2");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `workers(0)`.
    #[error("workers is 0: give at least 1")]
    NoWorkers,
    /// `max_workers` below `workers`.
    #[error("max_workers {max_workers} is below workers {workers}")]
    MaxWorkersBelowWorkers {
        /// The `max_workers` given.
        max_workers: usize,
        /// The `workers` given.
        workers: usize,
    },
    /// `max_restarting(0)`.
    #[error("max_restarting is 0: give at least 1")]
    NoRestarting,
    /// A heartbeat `timeout` below 100 ms.
    #[error("timeout {timeout:?} is below 100ms")]
    TimeoutTooShort {
        /// The timeout given.
        timeout: Duration,
    },
    /// `max_workers + max_restarting` rows are more than the 65,536 a supervisor keeps.
    #[error("max_workers + max_restarting over 65536")]
    TooManyRows,
    /// No address, listener or `LISTEN_FDS`.
    #[error("no listener: give an address, a listener, or LISTEN_FDS")]
    NoListener,
}

impl PreforkError {
    /// Wraps an I/O error with the step that failed.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> PreforkError {
        let what = what.into();
        move |error| PreforkError::Io { what, error }
    }

    /// The kernel's error behind a [`Bind`](PreforkError::Bind) or [`Io`](PreforkError::Io)
    /// failure.
    ///
    /// ```
    /// use raindrops_prefork::Prefork;
    ///
    /// let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let err = Prefork::builder().listen(taken.local_addr()?.into()).build().unwrap_err();
    /// let kind = err.io_error().map(std::io::Error::kind);
    /// assert_eq!(kind, Some(std::io::ErrorKind::AddrInUse));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            PreforkError::Bind { error, .. } | PreforkError::Io { error, .. } => Some(error),
            PreforkError::Config(_) | PreforkError::Activation(_) => None,
        }
    }
}
