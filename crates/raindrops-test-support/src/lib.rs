//! Test helpers shared by the raindrops crates (unpublished; a dev-dependency only).
//!
//! [`external`]: some tests drive outside programs from Debian (Chromium, Prometheus, tmux,
//! Ruby raindrops, Python's `prometheus_client`, ...). On a machine without one, such a test
//! prints one line naming the package and passes; with `RAINDROPS_REQUIRE_EXTERNAL=1` (as
//! `.ci/run` sets) it fails instead. [`require_external!`] is the one way to do that:
//!
//! [`prometheus`] reads an exposition with Python's `prometheus_client`, skipping the same way.
//!
//! ```
//! use raindrops_test_support::external::TMUX;
//! use raindrops_test_support::require_external;
//!
//! # fn a_test() {
//! // Returns from the test early (passing) when tmux is missing.
//! let tmux = require_external!(TMUX);
//! let version = std::process::Command::new(tmux).arg("-V").output().unwrap();
//! assert!(version.status.success());
//! # }
//! # a_test();
//! ```

pub mod external;
pub mod golden;
pub mod prometheus;

/// Finds each outside requirement in turn, or returns from the enclosing function (a test
/// returning `()`) after [`external::require`] printed why; the value is the path found (a
/// tuple of them for several requirements).
///
/// At most one line is printed: the first requirement missing ends the test. With
/// `RAINDROPS_REQUIRE_EXTERNAL=1` a missing requirement panics instead.
///
/// ```
/// use raindrops_test_support::external::{RUBY_RACK, RUBY_RAINDROPS};
/// use raindrops_test_support::require_external;
///
/// # fn a_test() {
/// // `ruby` is the interpreter that loaded both libraries.
/// let (ruby, _) = require_external!(RUBY_RAINDROPS, RUBY_RACK);
/// let out = std::process::Command::new(ruby)
///     .args(["-rraindrops", "-e", "print Raindrops::PAGE_SIZE > 0"])
///     .output()
///     .unwrap();
/// assert_eq!(out.stdout, b"true");
/// # }
/// # a_test();
/// ```
#[macro_export]
macro_rules! require_external {
    ($requirement:expr $(,)?) => {
        match $crate::external::require(&$requirement) {
            ::std::option::Option::Some(found) => found,
            ::std::option::Option::None => return,
        }
    };
    ($($requirement:expr),+ $(,)?) => {
        ($($crate::require_external!($requirement)),+)
    };
}
