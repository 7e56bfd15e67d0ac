//! The master under test and its workers' app: one command line per connection.
//!
//! | command | answer |
//! |---------|--------|
//! | `pid` | `PID ROW` |
//! | `sleep MS` | `sleeping PID` at once, `slept PID` after MS milliseconds |
//! | `spin` | `spinning PID`, then blocks the runtime (busy) for up to 60 s |
//! | `restart REASON` | asks the master for a replacement, `requested PID` |
//! | `env` | the worker's `LISTEN_FDS`, or `-` |
//!
//! Role `stubborn`: workers ignore SIGQUIT and SIGTERM (and accept nothing); the master
//! replaces row 0 once, as in role `tick`.

use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use raindrops_prefork::{Escalation, Listener, Prefork, WorkerContext};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Set (to the app's name) in the environment of a master under test.
pub(crate) const ROLE: &str = "PREFORK_TEST_MASTER";

fn setting(name: &str) -> Option<String> {
    std::env::var(format!("PREFORK_TEST_{name}")).ok().filter(|v| !v.is_empty())
}

/// The master: settings from `PREFORK_TEST_*`, prints `listening on ADDR` on stderr.
pub(crate) fn master() -> ExitCode {
    // The supervisor's events, as its lines on stderr (inherited by the workers).
    tracing_subscriber::fmt()
        .event_format(raindrops_prefork::log::Lines::with_pid())
        .with_writer(std::io::stderr)
        .init();
    let number = |name, default: u64| setting(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let mut builder = Prefork::builder()
        .workers(number("WORKERS", 2) as usize)
        .timeout(Duration::from_millis(number("TIMEOUT_MS", 30_000)))
        .graceful_timeout(Duration::from_secs(20));
    if let Some(addr) = setting("LISTEN") {
        builder = builder.listen(addr.parse().expect("PREFORK_TEST_LISTEN"));
    }
    if let Some(path) = setting("LOG") {
        builder = builder.log_file(path);
    }
    if let Some(ms) = setting("ESCALATION_MS") {
        let interval = Duration::from_millis(ms.parse().expect("PREFORK_TEST_ESCALATION_MS"));
        let escalation = Escalation::new(Signal::SIGQUIT, Some(Signal::SIGTERM));
        builder = builder.escalation(escalation.interval(interval));
    }
    let prefork = match builder.build() {
        Ok(prefork) => prefork,
        Err(err) => {
            eprintln!("test master: {err}");
            return ExitCode::FAILURE;
        }
    };
    for listener in prefork.listeners() {
        eprintln!("listening on {}", listener.addr().expect("listener address"));
    }
    let role = std::env::var(ROLE).unwrap_or_default();
    let prefork = if role == "tick" || role == "stubborn" {
        // The master replaces the worker of row 0 once, when it serves.
        let mut done = false;
        prefork.on_tick(Duration::from_millis(100), move |workers| {
            let due = workers.iter().find(|w| w.row == 0 && w.serving && !done);
            done |= due.is_some();
            due.map(|w| w.replace("tick test")).into_iter().collect()
        })
    } else {
        prefork
    };
    let panic_at_start = role == "panic";
    let stubborn = role == "stubborn";
    let result = prefork.run(move |ctx| {
        assert!(!panic_at_start, "this worker panics at start");
        async move { if stubborn { ignore_quit_and_term(ctx).await } else { serve(ctx).await } }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("test master: {err}");
            ExitCode::FAILURE
        }
    }
}

/// A worker that ignores SIGQUIT (never looks at its shutdown) and catches SIGTERM, saying
/// so on stderr: only SIGKILL ends it.
async fn ignore_quit_and_term(ctx: WorkerContext) -> io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let pid = std::process::id();
    while term.recv().await.is_some() {
        eprintln!("stubborn {pid} (row {}): SIGTERM ignored", ctx.row());
    }
    Ok(())
}

/// Accepts until shutdown, then waits for the connections in flight.
async fn serve(ctx: WorkerContext) -> io::Result<()> {
    let Listener::Tcp(listener) = &ctx.listeners()[0] else {
        return Err(io::Error::other("a TCP listener expected"));
    };
    let listener = tokio::net::TcpListener::from_std(listener.try_clone()?)?;
    let (in_flight, mut done) = mpsc::channel::<()>(1);
    let shutdown = ctx.shutdown();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let (ctx, token) = (ctx.clone(), in_flight.clone());
                tokio::spawn(async move {
                    let _ = answer(stream, &ctx).await;
                    drop(token);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drop(in_flight);
    // Every connection task holds a sender: `None` once the last one is done.
    let _ = done.recv().await;
    Ok(())
}

async fn answer(stream: TcpStream, ctx: &WorkerContext) -> io::Result<()> {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let pid = std::process::id();
    let mut words = line.trim().splitn(2, ' ');
    let reply = match (words.next(), words.next()) {
        (Some("pid"), _) => format!("{pid} {}\n", ctx.row()),
        (Some("sleep"), Some(ms)) => {
            let ms: u64 = ms.parse().map_err(io::Error::other)?;
            stream.write_all(format!("sleeping {pid}\n").as_bytes()).await?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            format!("slept {pid}\n")
        }
        (Some("spin"), _) => {
            stream.write_all(format!("spinning {pid}\n").as_bytes()).await?;
            stream.flush().await?;
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            "spun\n".to_owned()
        }
        (Some("restart"), reason) => {
            ctx.request_restart(reason.unwrap_or(""))?;
            format!("requested {pid}\n")
        }
        (Some("env"), _) => format!("{}\n", std::env::var("LISTEN_FDS").as_deref().unwrap_or("-")),
        _ => "unknown\n".to_owned(),
    };
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}
