//! `raindrops stats [ADDR...]`: active and queued connections of listeners, compatible with
//! raindrops' `examples/linux-listener-stats.rb` in text mode (byte for byte).
//!
//! Names are the exact bytes of a Unix socket path (any bytes, as given or as the kernel
//! reports them). Text output escapes them ([`raindrops::escape_bytes`]): a socket named with a
//! newline or an escape code can neither forge rows nor reach the terminal raw. JSON writes a
//! UTF-8 name as it is (escaped by JSON's rules); a name that is not UTF-8 is escaped and
//! flagged `"address_escaped": true`. Prometheus label values use the text outputs' escaping.
//!
//! `--wait` adds the ages of the connections waiting in each TCP accept queue
//! ([`raindrops::QueueWait`], looked up after the same dump): text columns `oldest_ms p50_ms p99_ms`,
//! JSON fields `waiting`, `oldest_ms`, `p50_ms`, `p99_ms` (null when there is no age: an idle
//! listener, or a Unix one, whose `waiting` is null too since its kernel keeps no clock), and
//! the families `raindrops_listener_queue_oldest_seconds` (only for listeners where something
//! waits) and `raindrops_listener_queue_wait_seconds` (TCP listeners).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use raindrops::{
    Aggregate, ListenStats, ListenerAddr, ListenerName, QueueWait, RubyFloat, SockDiag,
};
use raindrops_http::exposition::families::{LISTENER_ACTIVE, LISTENER_QUEUED};
use raindrops_http::exposition::time::iso8601;
use raindrops_http::exposition::writer::{Dialect, Exposition, Family, Labels};
use raindrops_http::exposition::{insert_json_name, json_line};
use signal_hook::consts::{SIGINT, SIGUSR1, SIGUSR2};

use crate::cli::{Format, StatsArgs};
use crate::exit::{Code, UsageError};

/// The Ruby tool's width limits for the address column.
const MIN_LEN: usize = "address".len();
const MAX_LEN: usize = 35;

/// One printed line: the address as the user wrote it (or as the kernel reports it).
#[derive(Debug)]
struct Row {
    addr: ListenerName,
    stats: ListenStats,
    /// With `--wait`, for a TCP listener.
    wait: Option<QueueWait>,
}

/// Reads one number (ms) from a wait, `None` when there is no age.
type WaitField = fn(&QueueWait) -> Option<u32>;

/// The `--wait` text columns and JSON fields: a name and how to read it from a wait.
const WAIT_COLUMNS: [(&str, WaitField); 3] = [
    ("oldest_ms", QueueWait::oldest_ms),
    ("p50_ms", |w| w.percentile_ms(50.0)),
    ("p99_ms", |w| w.percentile_ms(99.0)),
];

/// What to ask each sample.
#[derive(Debug)]
enum Targets {
    /// The arguments, deduplicated by spelling (the Ruby tool keys a Hash by them).
    Given { tcp: Vec<(ListenerName, SocketAddr)>, unix: Vec<(ListenerName, PathBuf)> },
    /// Every TCP listener, and every Unix listener with `--unix`.
    All { unix: bool },
}

impl super::Run for StatsArgs {
    fn run(&self) -> anyhow::Result<Code> {
        let targets = self.targets()?;
        let mut diag = SockDiag::new().context("cannot query listener stats")?;
        let stderr = &mut io::stderr().lock();
        if let Targets::Given { tcp, .. } = &targets {
            warn_wildcard(&mut diag, tcp, stderr)?;
        }
        let signals = match self.delay {
            Some(_) => Some(signal_channel()?),
            None => None,
        };
        if signals.is_some() {
            writeln!(
                stderr,
                "USR1(dump_aggregate) and USR2(reset) handlers ready for PID={}",
                std::process::id()
            )?;
        }
        let mut out = io::stdout().lock();
        let mut aggs = Aggregates::default();
        let mut width = match &targets {
            Targets::Given { tcp, unix } => {
                let longest =
                    tcp.iter().map(|(s, _)| s).chain(unix.iter().map(|(s, _)| s)).map(width_of);
                Some(longest.fold(MIN_LEN, usize::max).min(MAX_LEN))
            }
            Targets::All { .. } => None,
        };
        if let Some(len) = width {
            self.header(stderr, len)?;
        }
        let start = Instant::now();
        let mut tick: u32 = 0;
        loop {
            let rows = self.sample(&mut diag, &targets)?;
            let len = match width {
                Some(len) => len,
                None => {
                    let len = rows.iter().map(|r| width_of(&r.addr)).fold(MIN_LEN, usize::max);
                    let len = len.min(MAX_LEN);
                    self.header(stderr, len)?;
                    width = Some(len);
                    len
                }
            };
            if signals.is_some() {
                aggs.add(&rows, self.queued_only);
            }
            let text = self.render(&rows, len, &iso8601(SystemTime::now()));
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("writing to stdout")?;
            let (Some(delay), Some(rx)) = (self.delay, &signals) else { return Ok(Code::Success) };
            // A fixed schedule (start + k × delay), not sleep(delay) after the work: no drift.
            // Ticks missed while we were busy are skipped, as timerfd expirations would be.
            let period = delay;
            let elapsed = start.elapsed();
            tick = tick.saturating_add(1).max(div_ceil(elapsed, period));
            let next = start + period.saturating_mul(tick);
            loop {
                let wait = next.saturating_duration_since(Instant::now());
                match rx.recv_timeout(wait) {
                    Ok(SIGUSR1) => aggs.dump(stderr)?,
                    Ok(SIGUSR2) => aggs.reset(),
                    Ok(SIGINT) => return Ok(Code::Interrupted),
                    Ok(_) => {}
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(wait);
                        break;
                    }
                }
            }
        }
    }
}

/// The Ruby tool counts bytes of what it prints: here, the escaped name.
fn width_of(name: &ListenerName) -> usize {
    name.escaped().len()
}

fn div_ceil(a: Duration, b: Duration) -> u32 {
    let (a, b) = (a.as_nanos(), b.as_nanos().max(1));
    u32::try_from(a.div_ceil(b)).unwrap_or(u32::MAX)
}

impl StatsArgs {
    fn targets(&self) -> anyhow::Result<Targets> {
        if self.addrs.is_empty() {
            return Ok(Targets::All { unix: self.unix });
        }
        let (mut tcp, mut unix) = (Vec::new(), Vec::<(ListenerName, PathBuf)>::new());
        for arg in &self.addrs {
            let addr = ListenerAddr::from_os_str(arg).map_err(|e| UsageError(format!("{e}")))?;
            let arg = ListenerName::from(arg.as_bytes());
            let seen = tcp.iter().any(|(s, _)| *s == arg) || unix.iter().any(|(s, _)| *s == arg);
            if seen {
                continue;
            }
            match addr {
                ListenerAddr::Tcp(sa) => tcp.push((arg, sa)),
                ListenerAddr::Unix(path) => unix.push((arg, path)),
            }
        }
        Ok(Targets::Given { tcp, unix })
    }

    fn sample(&self, diag: &mut SockDiag, targets: &Targets) -> anyhow::Result<Vec<Row>> {
        let ctx = "cannot query listener stats";
        let mut rows = Vec::new();
        match targets {
            Targets::Given { tcp, unix } => {
                let addrs: Vec<SocketAddr> = tcp.iter().map(|(_, a)| *a).collect();
                let sampled: Vec<(ListenStats, Option<QueueWait>)> = if self.queued_only {
                    let q = diag.tcp_queued_many(&addrs).context(ctx)?;
                    q.into_iter().map(|queued| (ListenStats { active: 0, queued }, None)).collect()
                } else if self.wait {
                    let waits = diag.tcp_waits(&addrs).context(ctx)?;
                    waits.into_iter().map(|(stats, wait)| (stats, Some(wait))).collect()
                } else {
                    let stats = diag.tcp_stats_many(&addrs).context(ctx)?;
                    stats.into_iter().map(|stats| (stats, None)).collect()
                };
                rows.extend(tcp.iter().zip(sampled).map(|((s, _), (stats, wait))| Row {
                    addr: s.clone(),
                    stats,
                    wait,
                }));
                let paths: Vec<&PathBuf> = unix.iter().map(|(_, p)| p).collect();
                let stats = diag.unix_stats_many(&paths).context(ctx)?;
                rows.extend(unix.iter().zip(stats).map(|((s, _), stats)| Row {
                    addr: s.clone(),
                    stats,
                    wait: None,
                }));
            }
            Targets::All { unix } => {
                if self.queued_only {
                    let all = diag.tcp_queued_all().context(ctx)?;
                    rows.extend(all.into_iter().map(|(a, queued)| Row {
                        addr: ListenerAddr::from(a).name(),
                        stats: ListenStats { active: 0, queued },
                        wait: None,
                    }));
                } else if self.wait {
                    let all = diag.tcp_all_waits().context(ctx)?;
                    rows.extend(all.into_iter().map(|(a, stats, wait)| Row {
                        addr: ListenerAddr::from(a).name(),
                        stats,
                        wait: Some(wait),
                    }));
                } else {
                    let all = diag.tcp_all().context(ctx)?;
                    rows.extend(all.into_iter().map(|(a, stats)| Row {
                        addr: ListenerAddr::from(a).name(),
                        stats,
                        wait: None,
                    }));
                }
                if *unix {
                    let all = diag.unix_all().context(ctx)?;
                    rows.extend(all.into_iter().map(|(p, stats)| Row {
                        addr: p.into(),
                        stats,
                        wait: None,
                    }));
                }
            }
        }
        Ok(rows)
    }

    fn header(&self, stderr: &mut impl Write, len: usize) -> io::Result<()> {
        if self.format == Format::Text {
            let mut cols = vec!["active", "queued"];
            if self.wait {
                cols.extend(WAIT_COLUMNS.map(|(name, _)| name));
            }
            let line = text_row("timestamp", "address", &cols, len);
            stderr.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// One sample in the chosen format; rows under the `-t` threshold are left out.
    fn render(&self, rows: &[Row], len: usize, ts: &str) -> String {
        let threshold = self.queued_threshold.unwrap_or(0);
        let rows: Vec<&Row> = rows.iter().filter(|r| r.stats.queued >= threshold).collect();
        let mut out = String::new();
        match self.format {
            Format::Json => {
                let listeners: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| {
                        let mut o = serde_json::Map::new();
                        insert_json_name(&mut o, "address", &r.addr);
                        if !self.queued_only {
                            o.insert("active".into(), r.stats.active.into());
                        }
                        o.insert("queued".into(), r.stats.queued.into());
                        if self.wait {
                            let count = r.wait.as_ref().map(QueueWait::count);
                            o.insert("waiting".into(), count.into());
                            for (name, get) in WAIT_COLUMNS {
                                o.insert(name.into(), r.wait.as_ref().and_then(get).into());
                            }
                        }
                        o.into()
                    })
                    .collect();
                let sample = serde_json::json!({ "timestamp": ts, "listeners": listeners });
                out.push_str(&json_line(&sample));
            }
            Format::OpenMetrics => {
                type Gauge = (&'static Family<'static>, fn(&ListenStats) -> u32);
                let gauges: &[Gauge] =
                    &[(&LISTENER_ACTIVE, |s| s.active), (&LISTENER_QUEUED, |s| s.queued)];
                let mut exposition = Exposition::new(Dialect::Prometheus);
                for (family, value) in gauges {
                    if self.queued_only && family.name == LISTENER_ACTIVE.name {
                        continue;
                    }
                    exposition.family(family);
                    for r in &rows {
                        exposition.sample(&Labels::addr(&r.addr), value(&r.stats));
                    }
                }
                if self.wait {
                    write_waits(&mut exposition, &rows);
                }
                out.push_str(&exposition.finish());
            }
            _ => {
                for r in rows {
                    let active =
                        if self.queued_only { "-".to_owned() } else { r.stats.active.to_string() };
                    let mut cols = vec![active, r.stats.queued.to_string()];
                    if self.wait {
                        cols.extend(WAIT_COLUMNS.map(|(_, get)| {
                            r.wait.as_ref().and_then(get).map_or("-".to_owned(), |v| v.to_string())
                        }));
                    }
                    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
                    out.push_str(&text_row(ts, &r.addr.escaped(), &cols, len));
                }
            }
        }
        out
    }
}

/// `"%20s % LENs % 10u % 10u\n"` as the Ruby tool formats it (widths count bytes), with any
/// number of `% 10s` columns after the address.
fn text_row(ts: &str, addr: &str, cols: &[&str], len: usize) -> String {
    let pad = " ".repeat(len.saturating_sub(addr.len()));
    let mut line = format!("{ts:>20} {pad}{addr}");
    for col in cols {
        let _ = write!(line, " {col:>10}");
    }
    line.push('\n');
    line
}

/// The `--wait` families: the oldest age of each listener where something waits, and the
/// ages' histogram of each TCP listener (Unix listeners have none).
fn write_waits(exposition: &mut Exposition, rows: &[&Row]) {
    let ages: Vec<_> =
        rows.iter().filter_map(|r| Some((&r.addr, r.wait.as_ref()?.to_aggregate()))).collect();
    raindrops_http::exposition::queue_waits::write(
        exposition,
        rows.iter().map(|r| (&r.addr, r.wait.as_ref().and_then(QueueWait::oldest_ms))),
        ages.iter().map(|(addr, ages)| (*addr, ages)),
    );
}

/// `W: ADDR not found` / `W: Did you mean 0.0.0.0:PORT?` for a loopback address with no
/// listener of its own while the port's wildcard has one (the Ruby tool's check, IPv6 too).
fn warn_wildcard(
    diag: &mut SockDiag,
    tcp: &[(ListenerName, SocketAddr)],
    stderr: &mut impl Write,
) -> anyhow::Result<()> {
    let loopback: Vec<&(ListenerName, SocketAddr)> =
        tcp.iter().filter(|(_, a)| a.ip().is_loopback()).collect();
    if loopback.is_empty() {
        return Ok(());
    }
    let listeners = diag.tcp_queued_all().context("cannot query listener stats")?;
    let listening = |a: SocketAddr| listeners.iter().any(|(l, _)| *l == a);
    for (arg, addr) in loopback {
        if listening(*addr) {
            continue;
        }
        let port = addr.port();
        let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        let candidates = if addr.is_ipv4() { [v4, v6] } else { [v6, v6] };
        if let Some(wild) = candidates.into_iter().find(|w| listening(*w)) {
            writeln!(stderr, "W: {arg} not found")?;
            writeln!(stderr, "W: Did you mean {wild}?")?;
        }
    }
    Ok(())
}

/// Forwards SIGUSR1, SIGUSR2 and SIGINT to the main loop.
fn signal_channel() -> anyhow::Result<mpsc::Receiver<i32>> {
    let mut signals = signal_hook::iterator::Signals::new([SIGUSR1, SIGUSR2, SIGINT])
        .context("cannot install signal handlers")?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if tx.send(sig).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the signal thread")?;
    Ok(rx)
}

/// Per-address aggregates of active and queued, in first-seen order.
#[derive(Debug, Default)]
struct Aggregates {
    order: Vec<ListenerName>,
    by_addr: HashMap<ListenerName, (Aggregate, Aggregate)>,
}

impl Aggregates {
    fn add(&mut self, rows: &[Row], queued_only: bool) {
        for r in rows {
            let (active, queued) = self.by_addr.entry(r.addr.clone()).or_insert_with(|| {
                self.order.push(r.addr.clone());
                Default::default()
            });
            if !queued_only {
                active.record(i64::from(r.stats.active));
            }
            queued.record(i64::from(r.stats.queued));
        }
    }

    fn reset(&mut self) {
        self.order.clear();
        self.by_addr.clear();
    }

    /// The Ruby tool's `dump_aggregate`, once per address and column.
    fn dump(&self, stderr: &mut impl Write) -> io::Result<()> {
        let mut out = String::new();
        for addr in &self.order {
            let (active, queued) = &self.by_addr[addr];
            for (label, agg) in [("active", active), ("queued", queued)] {
                if agg.count() == 0 {
                    continue;
                }
                let _ = writeln!(out, "--- {addr} {label} ---");
                describe(agg, &mut out);
            }
        }
        stderr.write_all(out.as_bytes())
    }
}

/// The Ruby tool's `dump_aggregate` block for one column's aggregate.
fn describe(agg: &Aggregate, out: &mut String) {
    let show = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    let _ = write!(
        out,
        "count={}\nmin={}\nmax={}\noutliers_low={}\noutliers_high={}\nmean={}\nstd_dev={}\n{agg}\n\n",
        agg.count(),
        show(agg.min()),
        show(agg.max()),
        agg.outliers_low(),
        agg.outliers_high(),
        RubyFloat(agg.mean()),
        RubyFloat(agg.std_dev()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_match_the_ruby_format() {
        let line = text_row("2026-11-22T21:59:49Z", "127.0.0.1:18091", &["3", "2"], 15);
        assert_eq!(line, "2026-11-22T21:59:49Z 127.0.0.1:18091          3          2\n");
    }

    /// Output of the Ruby gem for `[0,1,2,3,3,5,9]` (see `ruby -raggregate`).
    #[test]
    fn aggregate_matches_the_gem() {
        let a: Aggregate = [0, 1, 2, 3, 3, 5, 9].into_iter().collect();
        let mut out = String::new();
        describe(&a, &mut out);
        let bar = "-".repeat(66);
        let expected = format!(
            "count=7\nmin=0\nmax=9\noutliers_low=1\noutliers_high=0\nmean=3.2857142857142856\n\
             std_dev=2.984084768360628\n\
             value |{bar}| count\n\
             \x20   1 |@{s1}|     1\n\
             \x20   2 |@@@{s3}|     3\n\
             \x20   4 |@{s1}|     1\n\
             \x20   8 |@{s1}|     1\n\
             \x20     ~\n\
             Total |{bar}|     6\n\n\n",
            s1 = " ".repeat(65),
            s3 = " ".repeat(63),
        );
        assert_eq!(out, expected);
        let one: Aggregate = [4].into_iter().collect();
        let mut out = String::new();
        describe(&one, &mut out);
        assert!(out.contains("std_dev=NaN\n"), "{out}");
    }
}
