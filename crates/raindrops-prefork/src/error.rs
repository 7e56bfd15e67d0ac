//! [`PreforkError`]: what can go wrong when starting or running the supervisor.

use std::io;

/// An error of the supervisor, naming the input or the step at fault.
///
/// ```
/// use raindrops_prefork::Prefork;
///
/// let err = Prefork::builder().workers(0).build().unwrap_err();
/// assert_eq!(err.to_string(), "workers is 0: give at least 1");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreforkError {
    /// A setting is out of range.
    #[error("{0}")]
    Config(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address, as given.
        addr: String,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// `LISTEN_FDS`/`LISTEN_PID` announce descriptors that are not usable listeners.
    #[error("socket activation: {0}")]
    Activation(String),
    /// A system call of the supervisor failed.
    #[error("{what}: {source}")]
    Io {
        /// The step that failed.
        what: String,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
}

impl PreforkError {
    /// Wraps an I/O error with the step that failed.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> PreforkError {
        let what = what.into();
        move |source| PreforkError::Io { what, source }
    }
}
