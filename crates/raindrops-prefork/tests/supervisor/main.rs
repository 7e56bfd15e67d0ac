//! Supervisor tests: a real master process (this binary, re-executed with
//! `PREFORK_TEST_MASTER` set, so it is single-threaded as a master must be), real workers,
//! real signals, raw TCP on loopback.
//!
//! Without libtest (`harness = false`): the test binary's own `main` either becomes the master
//! or runs the cases one after another. `cargo test -p raindrops-prefork --test supervisor
//! NAME` runs the cases whose name contains NAME.
#![cfg(target_os = "linux")]

mod app;
mod cases;
mod util;

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::var_os(app::ROLE).is_some() {
        return app::master();
    }
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let selected: Vec<_> = cases::ALL
        .iter()
        .filter(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, case) in &selected {
        print!("test {name} ... ");
        let _ = std::io::stdout().flush();
        match catch_unwind(AssertUnwindSafe(case)) {
            Ok(()) => println!("ok"),
            Err(_) => {
                println!("FAILED");
                failed.push(*name);
            }
        }
    }
    let passed = selected.len() - failed.len();
    for name in &failed {
        println!("failed: {name}");
    }
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        failed.len(),
        cases::ALL.len() - selected.len()
    );
    if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
