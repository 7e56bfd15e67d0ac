//! The supervisor's log: one line per event on standard error, which
//! [`Builder::log_file`](crate::Builder::log_file) points at a file that SIGUSR1 reopens
//! (after `logrotate` renamed it), in the master and in every worker.
//!
//! A supervisor owns its process the way unicorn's master does, so it writes its events
//! itself rather than through a logging facade the program may not have set up. Lines are
//! short and written with one `write` each: with `O_APPEND`, lines of the master and of the
//! workers never interleave.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes one event line: `raindrops-prefork[PID]: message`.
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
pub(crate) use log;

/// Writes `message` as one line on standard error, ignoring failures (a closed stderr must not
/// stop the supervisor).
pub(crate) fn line(message: std::fmt::Arguments<'_>) {
    let line = format!("raindrops-prefork[{}]: {message}\n", std::process::id());
    let _ = io::stderr().lock().write_all(line.as_bytes());
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
    #[test]
    fn a_missing_directory_is_an_error_and_stderr_stays() {
        let dir = tempfile::tempdir().unwrap();
        let err = super::redirect_stderr(&dir.path().join("no/such/dir/log")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }
}
