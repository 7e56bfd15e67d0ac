//! Issue 17: `raindrops recycle`, watching a master it did not start, through /proc.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use raindrops_test_support::external::{GUNICORN, PUMA, UNICORN};
use raindrops_test_support::require_external;

use crate::recycle::KeepAlive;
use crate::recycle_process::wait_sleeping_child;
pub(crate) use crate::recycle_process::{KillOnDrop, LONG, Sidecar, children, metrics_addr};
use crate::recycle_scrape::RecyclingGauges;
use crate::recycle_servers::{RACK_APP, Server, WSGI_APP, free_addr};
use crate::serve::{Load, get};
use crate::util::BIN;

/// The most workers recycling at once, from the `in_flight=N` of each decision line.
fn most_in_flight(log: &[String]) -> usize {
    log.iter()
        .filter_map(|l| l.split(" in_flight=").nth(1)?.split(' ').next()?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// The pid a decision line names: `recycle: recycling worker PID: ...`.
fn recycled_pid(line: &str) -> u32 {
    let rest = line.split("recycling worker ").nth(1).unwrap_or_else(|| panic!("{line}"));
    rest.split(':').next().unwrap().parse().unwrap()
}

/// What a recycling run under load saw.
struct Run {
    ok: usize,
    failed: Vec<String>,
    recycles: usize,
}

/// The kinds of a failed request, as [`Failure::of`] writes them (the first word).
enum Failure {
    /// A response other than 200.
    Status,
    /// The connection was closed (or reset) before a response, on a connection kept alive.
    KeepAliveClosed,
    /// The same on a new connection (or the connection could not be made).
    NewConnection,
}

impl Failure {
    /// A request's result as the load counts it: `Ok` for a 200, else the kind of failure
    /// (its name first) and what happened.
    fn of(result: Result<u16, String>, reused: bool) -> Result<(), String> {
        match result {
            Ok(200) => Ok(()),
            Ok(status) => Err(format!("{} {status}", Failure::Status.name())),
            Err(err) if reused => Err(format!("{} {err}", Failure::KeepAliveClosed.name())),
            Err(err) => Err(format!("{} {err}", Failure::NewConnection.name())),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Failure::Status => "status",
            Failure::KeepAliveClosed => "keep-alive-closed",
            Failure::NewConnection => "new-connection",
        }
    }

    /// How many of `failed` are of this kind.
    fn count(&self, failed: &[String]) -> usize {
        let prefix = format!("{} ", self.name());
        failed.iter().filter(|f| f.starts_with(&prefix)).count()
    }
}

/// Recycles `server`'s workers (limits drawn in 40M..60M of USS, K = 1) under 4 keep-alive
/// clients, half of whose requests leak, until 5 recycles: checks K (from the log, and from
/// `--metrics-listen` scraped at every poll and at the end), the workers' count, and that the
/// master is the same process, watched as the master throughout.
fn recycle_under_load(server: &mut Server, preset: &str, expect_every_200: bool) -> Run {
    let master = server.pid().to_string();
    let mut sidecar = Sidecar::start(&[
        "--master",
        &master,
        "--preset",
        preset,
        "--max-memory",
        "40M..60M",
        "--max-restarting",
        "1",
        "--interval",
        "200ms",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let mut gauges = RecyclingGauges::new(metrics_addr(&sidecar));
    sidecar.wait_lines(2, LONG, |l| l.contains("recycle: new worker "));
    let addr = server.addr;
    let connections = Arc::new(AtomicUsize::new(0));
    let load = Load::start(4, 20_000, LONG, || {
        let mut client = KeepAlive::new(addr, Arc::clone(&connections));
        move |i| {
            let result = client.get(if i % 2 == 0 { "/leak" } else { "/" });
            Failure::of(result, client.reused())
        }
    });
    let recycled = sidecar.wait_lines_polling(
        5,
        LONG,
        |l| l.contains("recycle: recycling worker "),
        || gauges.scrape(),
    );
    let (ok, failed) =
        if expect_every_200 { (load.finish(), Vec::new()) } else { load.finish_counting() };
    let log = sidecar.log();
    assert!(most_in_flight(&log) <= 1, "more than K=1 recycling at once: {log:#?}");
    gauges.scrape();
    gauges.check(1);
    // Only the master's children were signalled, never the master.
    for line in &recycled {
        assert_ne!(recycled_pid(line), server.pid(), "{line}");
    }
    assert!(log.iter().any(|l| l.contains("signal=\"SIG")), "{log:#?}");
    server.wait_workers(2);
    server.check_same_master(&mut sidecar);
    let recycles =
        sidecar.log().iter().filter(|l| l.contains("recycle: recycling worker ")).count();
    Run { ok, failed, recycles }
}

#[test]
fn unicorn_workers_are_recycled_under_load_and_no_request_fails() {
    let unicorn = require_external!(UNICORN);
    let addr = free_addr();
    let conf = format!("worker_processes 2\nlisten \"{addr}\"\ntimeout 60\n");
    let files = [("config.ru", RACK_APP), ("unicorn.conf", conf.as_str())];
    let mut server = Server::start(&unicorn, &["-c", "unicorn.conf", "config.ru"], &files, addr);
    let run = recycle_under_load(&mut server, "unicorn", true);
    assert!(run.recycles >= 5);
    eprintln!("unicorn: {} requests, 0 failed, {} recycles", run.ok, run.recycles);
}

#[test]
fn gunicorn_workers_are_recycled_under_load_and_no_request_fails() {
    let gunicorn = require_external!(GUNICORN);
    let addr = free_addr();
    let bind = addr.to_string();
    let args = ["-w", "2", "-b", &bind, "--graceful-timeout", "30", "app:app"];
    let mut server = Server::start(&gunicorn, &args, &[("app.py", WSGI_APP)], addr);
    let run = recycle_under_load(&mut server, "gunicorn", true);
    assert!(run.recycles >= 5);
    eprintln!("gunicorn: {} requests, 0 failed, {} recycles", run.ok, run.recycles);
}

#[test]
fn puma_cluster_workers_are_recycled_under_load() {
    let puma = require_external!(PUMA);
    let addr = free_addr();
    let bind = format!("tcp://{addr}");
    let args = ["-w", "2", "-t", "1:1", "-b", &bind, "config.ru"];
    let mut server = Server::start(&puma, &args, &[("config.ru", RACK_APP)], addr);
    let run = recycle_under_load(&mut server, "puma", false);
    assert!(run.recycles >= 5);
    // Never a wrong answer. Connections may be closed under a request: puma's stopping
    // worker closes its idle keep-alive connections without a response (README, "Puma").
    let kinds = [Failure::Status, Failure::KeepAliveClosed, Failure::NewConnection];
    let [status, keep_alive, new] = kinds.map(|kind| kind.count(&run.failed));
    assert_eq!(status, 0, "non-200 answers: {:?}", run.failed);
    assert_eq!(status + keep_alive + new, run.failed.len(), "{:?}", run.failed);
    eprintln!(
        "puma: {} requests, {} failed ({keep_alive} keep-alive connections closed before a \
         response, {new} on new connections, {status} non-200: {:?}), {} recycles",
        run.ok + run.failed.len(),
        run.failed.len(),
        &run.failed[..run.failed.len().min(3)],
        run.recycles
    );
}

/// A shell master whose one worker ignores SIGQUIT: the escalation goes QUIT ×10, then TERM,
/// which ends it; then the master exits, and so does `recycle`, with 0. `recycle` starts once
/// the worker is `sleep` (its QUIT ignored): before, a forked shell has QUIT's default action
/// for a moment, and a QUIT then would end it.
#[test]
fn a_worker_ignoring_the_graceful_signal_gets_the_escalation_in_order() {
    let mut master =
        Command::new("sh").args(["-c", "(trap '' QUIT; exec sleep 300) & wait"]).spawn().unwrap();
    wait_sleeping_child(master.id());
    let pid = master.id().to_string();
    let mut sidecar =
        Sidecar::start(&["--master", &pid, "--max-lifetime", "1ms..1ms", "--interval", "100ms"]);
    let sent = sidecar.wait_lines(11, LONG, |l| l.contains("recycling: sending "));
    let signals: Vec<&str> = sent
        .iter()
        .map(|l| l.split("signal=\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    assert_eq!(signals[..10], ["SIGQUIT"; 10]);
    assert_eq!(signals[10], "SIGTERM");
    assert!(master.wait().unwrap().success());
    assert_eq!(sidecar.wait_exit(), Some(0));
    assert!(sidecar.log().iter().any(|l| l.contains(&format!("master {pid} exited"))));
}

/// Over the budget, the largest worker is picked: a shell holding 40 MB, not the idle one.
#[test]
fn budget_mode_recycles_the_largest_worker() {
    let big = r#"x=$(head -c 40000000 /dev/zero | tr "\0" a); while :; do sleep 1; done"#;
    let script = format!("sleep 300 & sh -c '{big}' & wait");
    let master = Command::new("sh").args(["-c", &script]).spawn().unwrap();
    let _master = KillOnDrop(master);
    let pid = _master.0.id();
    let start = Instant::now();
    while children(pid).len() != 2 {
        assert!(start.elapsed() < LONG);
        std::thread::sleep(Duration::from_millis(50));
    }
    let sidecar = Sidecar::start(&[
        "--master",
        &pid.to_string(),
        "--memory-budget",
        "20M",
        "--interval",
        "100ms",
    ]);
    let line = sidecar.wait_lines(1, LONG, |l| l.contains("recycle: recycling worker "))[0].clone();
    assert!(line.contains("budget (workers' uss"), "{line}");
    let picked = recycled_pid(&line);
    let comm = std::fs::read_to_string(format!("/proc/{picked}/cmdline")).unwrap_or_default();
    assert!(
        comm.starts_with("sh\0-c\0x="),
        "picked {picked} ({comm:?}), not the shell holding 40 MB: {line}"
    );
}

#[test]
fn bad_flags_exit_2_naming_the_flag_and_a_missing_master_exits_1() {
    for (args, says) in [
        (&["--master", "x", "--max-memory", "1G"][..], "--master"),
        (&["--master", "2", "--max-memory", "2G..1G"], "--max-memory"),
        (&["--master", "2", "--max-memory", "1G", "--graceful", "FOO"], "--graceful"),
        (&["--master", "2", "--max-memory", "1G", "--memory-metric", "vsz"], "--memory-metric"),
        (&["--master", "2", "--max-memory", "1G", "--max-restarting", "0"], "--max-restarting"),
        (&["--master", "2", "--max-lifetime", "1d"], "--max-lifetime"),
        (&["--master", "2"], "--max-memory"),
        (&["--max-memory", "1G"], "--master"),
    ] {
        let out = Command::new(BIN).arg("recycle").args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = Command::new(BIN)
        .args(["recycle", "--master", "2147483000", "--max-memory", "1G"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("master 2147483000 not found"), "{stderr}");
}

/// A preloaded app: 100 MiB in the master, shared by fork. RSS counts it in every worker, so
/// `--memory-metric rss` would recycle both; USS sees only the worker that leaked 8 MiB.
#[test]
fn on_a_preloaded_app_rss_would_recycle_every_worker_uss_only_the_leaker() {
    let unicorn = require_external!(UNICORN);
    let addr = free_addr();
    let app = format!("BIG = \"y\" * (100 << 20)\n{RACK_APP}");
    let conf = format!("worker_processes 2\nlisten \"{addr}\"\npreload_app true\n");
    let files = [("config.ru", app.as_str()), ("unicorn.conf", conf.as_str())];
    let server = Server::start(&unicorn, &["-c", "unicorn.conf", "config.ru"], &files, addr);
    assert_eq!(get(addr, "/leak").unwrap().0, 200);
    let master = server.pid().to_string();
    let flagged = |metric: &str, limit: &str| {
        let mut sidecar = Sidecar::start(&[
            "--master",
            &master,
            "--memory-metric",
            metric,
            "--max-memory",
            limit,
            "--dry-run",
            "--interval",
            "100ms",
        ]);
        sidecar.wait_lines(1, LONG, |l| l.contains("would recycle worker"));
        // Both workers are measured in the tick that flagged the first: stop it, read it all.
        sidecar.stop();
        sidecar.log().into_iter().filter(|l| l.contains("would recycle worker")).collect::<Vec<_>>()
    };
    let rss = flagged("rss", "60M..60M");
    assert_eq!(rss.len(), 2, "RSS counts the shared 100 MiB in each: {rss:#?}");
    let uss = flagged("uss", "8M..8M");
    assert_eq!(uss.len(), 1, "USS flags only the leaker: {uss:#?}");
}

/// `--rolling-restart`: each unicorn worker is recycled in turn once old enough, one at a time.
#[test]
fn a_rolling_restart_recycles_unicorn_workers_one_at_a_time() {
    let unicorn = require_external!(UNICORN);
    let addr = free_addr();
    let conf = format!("worker_processes 2\nlisten \"{addr}\"\n");
    let files = [("config.ru", RACK_APP), ("unicorn.conf", conf.as_str())];
    let server = Server::start(&unicorn, &["-c", "unicorn.conf", "config.ru"], &files, addr);
    let first = children(server.pid());
    let master = server.pid().to_string();
    let sidecar = Sidecar::start(&[
        "--master",
        &master,
        "--rolling-restart",
        "1s..1500ms",
        "--interval",
        "100ms",
    ]);
    let lines = sidecar.wait_lines(3, LONG, |l| l.contains("recycle: recycling worker "));
    assert!(lines.iter().all(|l| l.contains("rolling restart (age ")), "{lines:#?}");
    let pids: Vec<u32> = lines.iter().map(|l| recycled_pid(l)).collect();
    assert!(first.iter().all(|p| pids.contains(p)), "{first:?} not all in {pids:?}");
    assert!(most_in_flight(&sidecar.log()) <= 1, "{:#?}", sidecar.log());
    server.wait_workers(2);
}
