//! Outside programs, interpreter libraries and files some tests need, each named with the
//! Debian package that provides it.
//!
//! A test asks for what it drives with [`require`] (or [`require_external!`](crate::require_external)).
//! When it is there, the test gets its path. When it is missing, one line goes to stderr,
//! past the test harness' capture so `cargo test` shows it:
//!
//! ```text
//! skipped: chromium not found (apt-get install chromium)
//! ```
//!
//! and the test returns early, passing. With the environment variable
//! [`RAINDROPS_REQUIRE_EXTERNAL`](ENV)`=1` (`.ci/run` sets it) the same message is a panic: on
//! CI nothing may be skipped.
//!
//! [`ALL`] lists every requirement the tests use; `.ci/run` installs their packages and the
//! README lists which tests need which (`tests/packages.rs` checks both).

use std::fmt;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that turns a missing requirement from a skip into a failure:
/// `1` fails, unset, empty or `0` skips.
pub const ENV: &str = "RAINDROPS_REQUIRE_EXTERNAL";

/// Headless Chromium (`chromium`), which renders the Watcher's pages.
pub const CHROMIUM: Requirement = Requirement::program("chromium", "chromium");
/// The Prometheus server, which scrapes `/metrics`.
pub const PROMETHEUS: Requirement = Requirement::program("prometheus", "prometheus");
/// Prometheus' `promtool`, which checks exposition text.
pub const PROMTOOL: Requirement = Requirement::program("promtool", "prometheus");
/// The terminal multiplexer that drives `raindrops top` on a real terminal.
pub const TMUX: Requirement = Requirement::program("tmux", "tmux");
/// `stress-ng`, which loads the machine in the soak tests.
pub const STRESS_NG: Requirement = Requirement::program("stress-ng", "stress-ng");
/// `ps`, the RSS fallback without procfs.
pub const PS: Requirement = Requirement::program("ps", "procps");
/// Debian's Python 3 interpreter (other Pythons on `PATH` do not see Debian's modules).
pub const PYTHON3: Requirement = Requirement::program("/usr/bin/python3", "python3");
/// The Ruby interpreter (Ruby library packages such as `ruby-raindrops` do not pull it in).
pub const RUBY: Requirement = Requirement::program("ruby", "ruby");
/// Python's official Prometheus client, whose parsers read our exposition output back.
pub const PROMETHEUS_CLIENT: Requirement =
    Requirement::python3_module("prometheus_client", "python3-prometheus-client");
/// Ruby raindrops, the reference implementation.
pub const RUBY_RAINDROPS: Requirement = Requirement::ruby_library("raindrops", "ruby-raindrops");
/// Ruby's `aggregate` gem, which Ruby raindrops' histograms use.
pub const RUBY_AGGREGATE: Requirement = Requirement::ruby_library("aggregate", "ruby-aggregate");
/// Rack, which Ruby raindrops' Watcher is written against.
pub const RUBY_RACK: Requirement = Requirement::ruby_library("rack", "ruby-rack");
/// Ruby raindrops' `linux-listener-stats.rb`, the tool `raindrops stats` copies byte for byte.
pub const RUBY_LISTENER_STATS: Requirement = Requirement::file(
    "/usr/share/doc/ruby-raindrops/examples/linux-listener-stats.rb",
    "ruby-raindrops",
);

/// zsh, whose completion system loads `raindrops completions zsh`.
pub const ZSH: Requirement = Requirement::program("zsh", "zsh");
/// fish, which sources `raindrops completions fish`.
pub const FISH: Requirement = Requirement::program("fish", "fish");

/// unicorn, the prefork Rack server `raindrops recycle` is first written for.
pub const UNICORN: Requirement = Requirement::program("unicorn", "unicorn");
/// puma, a Rack server whose cluster mode forks workers.
pub const PUMA: Requirement = Requirement::program("puma", "puma");
/// gunicorn, Python's prefork WSGI server.
pub const GUNICORN: Requirement = Requirement::program("gunicorn", "gunicorn");

/// util-linux's `unshare`, which makes a pid namespace where a test decides the next pid.
pub const UNSHARE: Requirement = Requirement::program("unshare", "util-linux");
/// util-linux's `setpriv`, which runs a program as another user.
pub const SETPRIV: Requirement = Requirement::program("setpriv", "util-linux");

/// `man` (man-db, with groff), which renders `raindrops man` as a reader sees it.
pub const MAN: Requirement = Requirement::program("man", "man-db");
/// systemd's `systemd-analyze`, which verifies `deploy/systemd`'s unit and rates its hardening.
pub const SYSTEMD_ANALYZE: Requirement = Requirement::program("systemd-analyze", "systemd");

/// Every requirement above: what `.ci/run` must install.
pub const ALL: &[Requirement] = &[
    MAN,
    SYSTEMD_ANALYZE,
    UNSHARE,
    SETPRIV,
    UNICORN,
    PUMA,
    GUNICORN,
    CHROMIUM,
    PROMETHEUS,
    PROMTOOL,
    TMUX,
    STRESS_NG,
    PS,
    PYTHON3,
    RUBY,
    PROMETHEUS_CLIENT,
    RUBY_RAINDROPS,
    RUBY_AGGREGATE,
    RUBY_RACK,
    RUBY_LISTENER_STATS,
    ZSH,
    FISH,
];

/// How long a probe (`python3 -c 'import M; ...'`, `ruby -rL -e ''`) may take before it counts as
/// failed; generous for a busy machine.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Something outside the workspace a test drives, and the Debian package that provides it.
///
/// ```
/// use raindrops_test_support::external::Requirement;
///
/// let sh = Requirement::program("sh", "dash");
/// assert_eq!(sh.package(), "dash");
/// assert!(sh.find().is_some());
/// let missing = Requirement::program("no-such-program-anywhere", "no-such-package");
/// assert_eq!(missing.find(), None);
/// assert_eq!(
///     missing.to_string(),
///     "no-such-program-anywhere not found (apt-get install no-such-package)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    what: What,
    package: &'static str,
}

/// What a [`Requirement`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    /// An executable: a name looked up in `PATH`, or an absolute path.
    Program(&'static str),
    /// A module `/usr/bin/python3` can import.
    Python3Module(&'static str),
    /// A library `ruby` can require.
    RubyLibrary(&'static str),
    /// A file.
    File(&'static str),
}

impl Requirement {
    /// An executable, by name (looked up in `PATH`) or absolute path.
    ///
    /// ```
    /// let tmux = raindrops_test_support::external::Requirement::program("tmux", "tmux");
    /// assert_eq!(tmux.package(), "tmux");
    /// ```
    pub const fn program(name: &'static str, package: &'static str) -> Self {
        Self { what: What::Program(name), package }
    }

    /// A module Debian's `/usr/bin/python3` can import (with a `__file__`: an empty directory
    /// left where a package was imports as a namespace package, and is not it).
    ///
    /// ```
    /// use raindrops_test_support::external::Requirement;
    ///
    /// let json = Requirement::python3_module("json", "python3");
    /// // /usr/bin/python3 itself when the module imports.
    /// assert!(json.find().is_none_or(|python| python.ends_with("python3")));
    /// ```
    pub const fn python3_module(module: &'static str, package: &'static str) -> Self {
        Self { what: What::Python3Module(module), package }
    }

    /// A library `ruby` can `require`.
    ///
    /// ```
    /// use raindrops_test_support::external::Requirement;
    ///
    /// let set = Requirement::ruby_library("set", "ruby");
    /// // The `ruby` that loaded it.
    /// assert!(set.find().is_none_or(|ruby| ruby.ends_with("ruby")));
    /// ```
    pub const fn ruby_library(library: &'static str, package: &'static str) -> Self {
        Self { what: What::RubyLibrary(library), package }
    }

    /// A file at an absolute path.
    ///
    /// ```
    /// use raindrops_test_support::external::Requirement;
    ///
    /// let passwd = Requirement::file("/etc/passwd", "base-files");
    /// assert_eq!(passwd.find().as_deref(), Some(std::path::Path::new("/etc/passwd")));
    /// ```
    pub const fn file(path: &'static str, package: &'static str) -> Self {
        Self { what: What::File(path), package }
    }

    /// The Debian package to install for it.
    ///
    /// ```
    /// assert_eq!(raindrops_test_support::external::CHROMIUM.package(), "chromium");
    /// ```
    pub fn package(&self) -> &'static str {
        self.package
    }

    /// Its path when it is there: the program, the interpreter that loaded the module or
    /// library, or the file. Never prints, never panics.
    ///
    /// ```
    /// use raindrops_test_support::external::TMUX;
    ///
    /// if let Some(tmux) = TMUX.find() {
    ///     assert!(tmux.is_absolute());
    /// }
    /// ```
    pub fn find(&self) -> Option<PathBuf> {
        self.locate().ok()
    }

    /// Its path, or what is missing: this requirement, or the interpreter it needs.
    fn locate(&self) -> Result<PathBuf, Requirement> {
        let found = match self.what {
            What::Program(name) => executable(name),
            What::File(path) => Some(PathBuf::from(path)).filter(|path| path.is_file()),
            What::Python3Module(module) => {
                // A module, not an empty directory left behind (a namespace package).
                let script = format!("import {module}; assert {module}.__file__");
                probe(&PYTHON3.locate()?, &["-c", &script])
            }
            What::RubyLibrary(library) => {
                probe(&RUBY.locate()?, &[&format!("-r{library}"), "-e", ""])
            }
        };
        found.ok_or(*self)
    }
}

/// `chromium not found (apt-get install chromium)`.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.what {
            What::Program(name) | What::File(name) => write!(f, "{name}")?,
            What::Python3Module(module) => write!(f, "python3 module {module}")?,
            What::RubyLibrary(library) => write!(f, "ruby library {library}")?,
        }
        write!(f, " not found (apt-get install {})", self.package)
    }
}

/// `requirement`'s path, or `None` after printing one line `skipped: ... not found
/// (apt-get install PACKAGE)` to stderr (the test should then return, passing).
///
/// When a library's interpreter is missing, the line names the interpreter's package.
///
/// # Panics
///
/// With the message above when it is missing and [`ENV`]` = 1`, and when [`ENV`] has another
/// value than `1`, `0` or empty.
///
/// ```
/// use raindrops_test_support::external::{self, PROMETHEUS_CLIENT};
///
/// # fn a_test() {
/// let Some(python) = external::require(&PROMETHEUS_CLIENT) else { return };
/// let status = std::process::Command::new(python)
///     .args(["-c", "import prometheus_client.parser"])
///     .status()
///     .unwrap();
/// assert!(status.success());
/// # }
/// # a_test();
/// ```
#[track_caller]
pub fn require(requirement: &Requirement) -> Option<PathBuf> {
    let missing = match requirement.locate() {
        Ok(found) => return Some(found),
        Err(missing) => missing,
    };
    if required() {
        panic!("{missing}, and {ENV}=1 forbids skipping");
    }
    // Straight to the file descriptor: libtest captures only `eprintln!`, and a skip that
    // nobody sees looks like a pass.
    let _ = std::io::stderr().write_all(format!("skipped: {missing}\n").as_bytes());
    None
}

/// Whether [`ENV`] asks for every requirement (`1`) rather than skips (unset, empty, `0`).
///
/// # Panics
///
/// On any other value, naming it.
///
/// ```
/// // Under `cargo test` this is whatever the caller set; `.ci/run` sets 1.
/// let _: bool = raindrops_test_support::external::required();
/// ```
#[track_caller]
pub fn required() -> bool {
    match std::env::var(ENV).as_deref() {
        Ok("1") => true,
        Ok("" | "0") | Err(std::env::VarError::NotPresent) => false,
        Ok(other) => panic!("{ENV} must be 1 or 0, not {other:?}"),
        Err(std::env::VarError::NotUnicode(other)) => {
            panic!("{ENV} must be 1 or 0, not {other:?}")
        }
    }
}

/// The executable `name` (an absolute path, or looked up in `PATH`).
fn executable(name: &str) -> Option<PathBuf> {
    let runnable = |path: &Path| {
        path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|path| runnable(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|path| runnable(path))
}

/// `interpreter` when running it with `args` succeeds within [`PROBE_TIMEOUT`].
fn probe(interpreter: &Path, args: &[&str]) -> Option<PathBuf> {
    let mut child = Command::new(interpreter)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + PROBE_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success().then(|| interpreter.to_owned()),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_package() {
        assert_eq!(CHROMIUM.to_string(), "chromium not found (apt-get install chromium)");
        assert_eq!(
            PROMETHEUS_CLIENT.to_string(),
            "python3 module prometheus_client not found (apt-get install python3-prometheus-client)"
        );
        assert_eq!(
            RUBY_RACK.to_string(),
            "ruby library rack not found (apt-get install ruby-rack)"
        );
    }

    #[test]
    fn missing_things_are_not_found() {
        let nowhere = "/nonexistent/raindrops-test-support";
        assert_eq!(Requirement::program(nowhere, "p").find(), None);
        assert_eq!(Requirement::file(nowhere, "p").find(), None);
        // A directory is not a program, nor a file.
        assert_eq!(Requirement::program("/", "p").find(), None);
        assert_eq!(Requirement::file("/", "p").find(), None);
    }

    #[test]
    fn a_missing_interpreter_is_what_is_named() {
        let module = Requirement::python3_module("no_such_module_anywhere", "p");
        let expected = if PYTHON3.find().is_some() { module } else { PYTHON3 };
        assert_eq!(module.locate(), Err(expected));
        let library = Requirement::ruby_library("no_such_library_anywhere", "p");
        let expected = if RUBY.find().is_some() { library } else { RUBY };
        assert_eq!(library.locate(), Err(expected));
    }
}
