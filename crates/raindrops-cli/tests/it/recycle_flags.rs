//! Issue 17: `raindrops recycle`'s flags not covered elsewhere: `--pidfile`, `--memory-metric
//! pss`, `--max-restarting K` over more workers due at once.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::recycle_metrics::{dry_run_with, scrape_until, sleeping_master};
use crate::recycle_process::{KillOnDrop, LONG, Sidecar, children, metrics_addr};
use crate::recycle_scrape::{RecyclingGauges, value};
use crate::util::BIN;

/// `--pidfile FILE`: a file holding the master's pid is followed like `--master`; a file
/// holding something else, or no file, exits 1 naming the file.
#[test]
fn pidfile_names_the_master_or_the_bad_file() {
    let (master, workers) = sleeping_master(1);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.pid");
    std::fs::write(&good, format!("{}\n", master.0.id())).unwrap();
    let good = good.to_str().unwrap();
    let args = ["--pidfile", good, "--max-memory", "1..1", "--dry-run", "--interval", "50ms"];
    let sidecar = Sidecar::start(&args);
    let watching = format!("recycle: watching the workers of master {} ", master.0.id());
    sidecar.wait_lines(1, LONG, |l| l.contains(&watching));
    let would = format!("would recycle worker {}: ", workers[0]);
    sidecar.wait_lines(1, LONG, |l| l.contains(&would));

    let bad = dir.path().join("bad.pid");
    std::fs::write(&bad, "twelve\n").unwrap();
    let missing = dir.path().join("missing.pid");
    for (file, says) in [(&bad, "\"twelve\" is not a pid"), (&missing, "No such file")] {
        let out = Command::new(BIN)
            .args(["recycle", "--max-memory", "1G", "--pidfile"])
            .arg(file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", file.display());
        let named = format!("--pidfile {}", file.display());
        assert!(stderr.contains(&named) && stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `--memory-metric pss`: the decision line and the drawn limit are PSS, and the bytes the
/// decision names are PSS, between the worker's USS and RSS as scraped.
#[test]
fn memory_metric_pss_decides_on_pss() {
    let (master, workers) = sleeping_master(1);
    let worker = workers[0];
    let (sidecar, addr) = dry_run_with(master.0.id(), "1..2", &["--memory-metric", "pss"]);
    let would = format!("recycle: dry run: would recycle worker {worker}: pss ");
    let line = sidecar.wait_lines(1, LONG, |l| l.contains(&would))[0].clone();
    let decided: f64 = line
        .split(&would)
        .nth(1)
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no bytes in {line:?}"));
    let series = |family: &str, metric: &str| {
        format!("raindrops_recycle_{family}{{pid=\"{worker}\",metric=\"{metric}\"}}")
    };
    let text =
        scrape_until(addr, |text| value(text, &series("worker_memory_bytes", "pss")).is_some());
    let limit = value(&text, &series("worker_limit_bytes", "pss"));
    assert!(limit.is_some_and(|l| (1.0..=2.0).contains(&l)), "no PSS limit:\n{text}");
    let [uss, pss, rss] =
        ["uss", "pss", "rss"].map(|m| value(&text, &series("worker_memory_bytes", m)).unwrap());
    assert!(uss < rss, "a sleep shares its libc: {uss} {pss} {rss}");
    assert!((uss..rss).contains(&decided), "{decided} is not PSS ({uss} {pss} {rss}): {line}");
}

/// A master of 3 workers that die at the first QUIT, all past a 1 ms lifetime, under
/// `--max-restarting 2`: two are recycled at once, the third waits (logged once, `due`), and
/// `raindrops_recycle_recycling_max` ends at exactly 2, never more recycling in any scrape.
/// The master replaces nobody, so the third waits for the replacements (up to a minute).
#[test]
fn max_restarting_2_recycles_two_of_three_due_at_once() {
    let script = "for i in 1 2 3; do env --default-signal sleep 300 & done
while :; do wait -n; [ $? = 127 ] && { read -r _; exit 0; }; done";
    let master = Command::new("bash").args(["-c", script]).stdin(Stdio::piped()).spawn();
    let master = KillOnDrop(master.expect("bash"));
    let pid = master.0.id();
    let start = Instant::now();
    while children(pid).len() != 3 {
        assert!(start.elapsed() < LONG, "the master did not start 3 workers");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = pid.to_string();
    let sidecar = Sidecar::start(&[
        "--master",
        &pid,
        "--max-lifetime",
        "1ms..1ms",
        "--max-restarting",
        "2",
        "--interval",
        "100ms",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let addr = metrics_addr(&sidecar);
    let mut gauges = RecyclingGauges::new(addr);
    let gone = |l: &str| {
        l.contains("recycle: recycled worker ") && l.contains(" is gone, after 1 signal(s) in ")
    };
    sidecar.wait_lines_polling(2, LONG, gone, || gauges.scrape());
    // Logged in the first interval, the wait is not logged again in the later ones.
    let waits = " but waits: 2 recycling already (--max-restarting)";
    let held = sidecar.wait_lines(1, LONG, |l| l.contains(waits));
    gauges.scrape();
    gauges.check(2);
    let text = scrape_until(addr, |_| true);
    assert_eq!(value(&text, "raindrops_recycle_recycling_max"), Some(2.0), "{text}");
    let log = sidecar.log();
    assert_eq!(held.len(), 1, "the wait is logged once: {log:#?}");
    let recycled = log.iter().filter(|l| l.contains("recycle: recycling worker ")).count();
    assert_eq!(recycled, 2, "{log:#?}");
    assert_eq!(children(master.0.id()).len(), 1, "{log:#?}");
}

/// `--metrics-listen PORT` is `127.0.0.1:PORT`; another address than loopback is a warning
/// (tried with a TEST-NET address no interface has, so nothing listens beyond loopback: the
/// warning comes, then exit 1 naming the address it cannot listen on); a bad one is a usage
/// error naming the flag.
#[test]
fn metrics_listen_defaults_to_loopback_and_warns_otherwise() {
    let (master, _) = sleeping_master(1);
    let (_sidecar, addr) = dry_run_with(master.0.id(), "1G", &["--metrics-listen", "0"]);
    assert!(addr.ip().is_loopback() && addr.is_ipv4(), "{addr}");
    assert_ne!(addr.port(), 0);
    scrape_until(addr, |text| text.ends_with("# EOF\n"));

    let pid = master.0.id().to_string();
    let args = ["--master", &pid, "--max-memory", "1G", "--metrics-listen", "192.0.2.1:0"];
    let out = Command::new(BIN).arg("recycle").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let warned = "warning: recycle: --metrics-listen 192.0.2.1:0 is not a loopback address";
    assert!(stderr.contains(warned), "{stderr}");
    assert!(stderr.contains("--metrics-listen 192.0.2.1:0: cannot listen"), "{stderr}");

    let args = ["--master", &pid, "--max-memory", "1G", "--metrics-listen", "localhost:x"];
    let out = Command::new(BIN).arg("recycle").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--metrics-listen") && stderr.contains("localhost:x"), "{stderr}");
}
