//! Recycling real forked workers: signal escalation in order, and request limits drawn per
//! worker.
#![cfg(target_os = "linux")]

use std::convert::Infallible;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use raindrops::Drops;
use raindrops_killer::{
    Escalation, Escalator, KillerLayer, Limits, Policy, Reason, Recycler, Signals, Step, Trigger,
};
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// Forks a child running `body`; it exits with the returned code (101 on a panic).
fn fork_child(body: impl FnOnce() -> i32) -> Pid {
    // SAFETY: the child runs `body` (which may start threads of its own) and leaves with
    // `_exit`; glibc's fork handlers keep malloc usable in the child.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
            // SAFETY: ends the child without running the test harness's exit code.
            unsafe { nix::libc::_exit(code) }
        }
        ForkResult::Parent { child } => child,
    }
}

/// Kills `pid` (a child of this test) if it is still running when a test fails.
struct Reap(Pid);

impl Drop for Reap {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = kill(self.0, Signal::SIGKILL);
            let _ = waitpid(self.0, None);
        }
    }
}

/// QUIT and TERM, blocked in the calling thread (and the threads it starts) so that
/// `sigwait` receives them.
fn block_quit_and_term() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGQUIT);
    set.add(Signal::SIGTERM);
    set.thread_block().expect("pthread_sigmask");
    set
}

/// A `tracing` subscriber that holds each escalation step (the escalator logs it, with its
/// number, just before it signals) until the worker has noted every signal sent before it.
/// Two signals of one kind pending at once would merge into one; in lockstep none is ever
/// pending when the next is sent, however late the busy machine runs the worker.
struct Lockstep {
    noted: Arc<AtomicUsize>,
}

/// The `step` field of an event, if it has one.
struct StepField(Option<u64>);

impl tracing::field::Visit for StepField {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "step" {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl tracing::Subscriber for Lockstep {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut step = StepField(None);
        event.record(&mut step);
        let Some(step) = step.0 else { return };
        // Bounded: a worker that never notes its signals fails the test's count instead.
        let deadline = Instant::now() + Duration::from_secs(30);
        while (self.noted.load(Ordering::SeqCst) as u64) < step - 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_worker_ignoring_the_graceful_signal_gets_the_abrupt_one_then_sigkill() {
    let (mut parent, mut child_end) = UnixStream::pair().unwrap();
    let child = fork_child(move || {
        let signals = block_quit_and_term();
        let noted = Arc::new(AtomicUsize::new(0));
        let lockstep = Lockstep { noted: Arc::clone(&noted) };
        if tracing::subscriber::set_global_default(lockstep).is_err() {
            return 4;
        }
        // The unicorn preset, stepping every 50 ms (or once the worker noted the last
        // signal, if later), signals this very process.
        let adapter = Signals::unicorn().interval(Duration::from_millis(50));
        let limits = Limits { requests: Some(1), ..Limits::default() };
        let recycler = Recycler::with_limits(limits, adapter).expect("recycler");
        recycler.response_sent();
        // A stuck worker: it notes every signal and never exits by itself.
        loop {
            let Ok(signal) = signals.wait() else { return 2 };
            if child_end.write_all(&[signal as u8]).is_err() {
                return 3;
            }
            noted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let _reap = Reap(child);
    // 15 steps of 50 ms: done in about 0.8 s; a worker still alive after 30 s is a failure.
    parent.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut received = Vec::new();
    parent.read_to_end(&mut received).expect("the child's signals, then EOF at its death");
    let mut expected = vec![Signal::SIGQUIT as u8; 10];
    expected.extend([Signal::SIGTERM as u8; 5]);
    assert_eq!(
        received,
        expected,
        "QUIT = {}, TERM = {}",
        Signal::SIGQUIT as u8,
        Signal::SIGTERM as u8
    );
    assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Signaled(child, Signal::SIGKILL, false));
}

#[test]
fn a_supervisor_stops_escalating_once_the_worker_is_reaped() {
    let (mut parent, mut child_end) = UnixStream::pair().unwrap();
    let child = fork_child(move || {
        let signals = block_quit_and_term();
        if child_end.write_all(b"ready").is_err() {
            return 2;
        }
        // A well-behaved worker: exits at the graceful signal.
        match signals.wait() {
            Ok(Signal::SIGQUIT) => 0,
            _ => 1,
        }
    });
    let _reap = Reap(child);
    parent.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    parent.read_exact(&mut [0u8; 5]).expect("the child blocks its signals within 30 s");
    let trigger = Trigger { pid: child.as_raw() as u32, reason: Reason::Requested };
    let mut escalator =
        Escalator::new(Escalation::new(Signal::SIGQUIT, Some(Signal::SIGTERM)), trigger);
    assert_eq!(escalator.step().unwrap(), Step::Sent(Signal::SIGQUIT));
    assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
    assert_eq!(escalator.step().unwrap(), Step::Gone);
}

const WORKERS: usize = 8;
const MIN: u64 = 100;
const MAX: u64 = 200;
const REQUESTS: u64 = 250;

/// A worker serving `REQUESTS` requests through the layer; it stores in `results` the count
/// at which its adapter was called (slot `index`), how often it was called (`WORKERS +
/// index`) and the limit it drew (`2 * WORKERS + index`).
fn max_requests_worker(index: usize, results: &Arc<Drops>) -> i32 {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else { return 1 };
    let recycled = Arc::clone(results);
    let adapter = move |trigger: &Trigger| {
        recycled.set(index, trigger.reason.measured());
        recycled.incr(WORKERS + index);
    };
    let Ok(recycler) = Recycler::new(&Policy::new().max_requests(MIN..=MAX), adapter) else {
        return 2;
    };
    results.set(2 * WORKERS + index, recycler.limits().requests.unwrap_or(0));
    let layer = KillerLayer::new(recycler);
    let app =
        ServiceBuilder::new().layer(layer).service(service_fn(|_: http::Request<String>| async {
            Ok::<_, Infallible>(http::Response::new(String::from("hello")))
        }));
    runtime.block_on(async {
        for _ in 0..REQUESTS {
            let Ok(response) = app.clone().oneshot(http::Request::new(String::new())).await;
            // The body is read to its end, like a server writing it.
            if response.into_body().collect().await.is_err() {
                return 4;
            }
        }
        0
    })
}

#[test]
fn max_requests_with_jitter_differs_between_workers_and_stays_in_range() {
    let results = Arc::new(Drops::new(3 * WORKERS).unwrap());
    let children: Vec<Pid> =
        (0..WORKERS).map(|index| fork_child(|| max_requests_worker(index, &results))).collect();
    for child in children {
        assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
    }
    let points: Vec<u64> = (0..WORKERS).map(|i| results.get(i)).collect();
    for (i, &point) in points.iter().enumerate() {
        assert_eq!(results.get(WORKERS + i), 1, "worker {i}'s adapter calls");
        assert_eq!(point, results.get(2 * WORKERS + i), "worker {i} recycled at its limit");
        assert!((MIN..=MAX).contains(&point), "worker {i} recycled at {point}");
    }
    let mut distinct = points.clone();
    distinct.sort_unstable();
    distinct.dedup();
    // 8 draws among 101 values: all equal with probability 101^-7.
    assert!(distinct.len() > 1, "every worker recycled at {points:?}");
}
