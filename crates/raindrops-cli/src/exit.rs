//! Exit codes, a contract with scripts: see [`Code`].

use std::io;

/// The process exit status of `raindrops`.
///
/// | code | meaning |
/// |------|---------|
/// | 0    | success (also: stdout was closed by the reader, e.g. `raindrops stats | head`) |
/// | 1    | a runtime failure (netlink unavailable, a segment file that cannot be read, ...) |
/// | 2    | a usage error (bad flag or address) |
/// | 130  | interrupted by SIGINT |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    /// Everything went well.
    Success,
    /// A runtime failure.
    Failure,
    /// The command line was wrong.
    Usage,
    /// SIGINT arrived.
    Interrupted,
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(match code {
            Code::Success => 0,
            Code::Failure => 1,
            Code::Usage => 2,
            Code::Interrupted => 130,
        })
    }
}

/// A usage error found after clap parsed the command line (a bad address, say): exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// Prints `err` once, with its causes, and picks the exit code.
///
/// A broken pipe anywhere in the chain means the reader went away: exit 0 silently.
pub(crate) fn report(err: &anyhow::Error) -> Code {
    let broken_pipe = err.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return Code::Success;
    }
    eprintln!("raindrops: {err:#}");
    if err.downcast_ref::<UsageError>().is_some() { Code::Usage } else { Code::Failure }
}

/// Text for `--help`: the exit codes.
pub(crate) const HELP: &str = "\
Exit codes:
  0    success (also when stdout is closed early, e.g. piped into head)
  1    runtime failure (netlink unavailable, unreadable segment file, ...)
  2    usage error (bad flag or address)
  130  interrupted (SIGINT)";
