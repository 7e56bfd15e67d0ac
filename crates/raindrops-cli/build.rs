//! Sets `RAINDROPS_VERSION` for `raindrops --version`: the package version and, when built
//! from a git checkout, the short revision (`0.1.0 (5e77edf)`). From a tarball, or without
//! git, it is the package version alone.

use std::path::Path;
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let full = match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => format!("{version} ({rev})"),
        None => version.to_owned(),
    };
    println!("cargo:rustc-env=RAINDROPS_VERSION={full}");
    // Rebuild when HEAD moves: HEAD itself (a branch switch), the branch's ref file and
    // packed-refs (a commit). Only files that exist: cargo reruns always for a missing one.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            // Relative paths are relative to the directory git ran in.
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// `git ARGS` run in this crate's directory: its trimmed stdout, or `None` when git is
/// missing, this is not a checkout, or the output is empty.
fn git(args: &[&str]) -> Option<String> {
    let output =
        Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}
