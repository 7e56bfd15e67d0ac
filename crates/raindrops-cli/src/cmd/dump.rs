//! `raindrops dump FILE`: print a file-backed segment's counters, from the schema in its header.
//!
//! Three kinds of segment files exist, and each prints its own way:
//!
//! * a workers segment (`Workers::create`): the sum of every field first, then each worker row
//!   (`worker.N.NAME`, with its pid and heartbeat age) and the retired row (`retired.NAME`);
//! * a named-counters segment (`counters!` struct's `create`): `NAME: value`;
//! * a plain `Drops::create` file: `INDEX: value` per slot.
//!
//! The file is opened read-only and its header checked against the segment limits before it
//! is mapped; rows are then read and written out one at a time, never all held in memory. The
//! sums are read first (consistently with retires), the rows after: on a live file, a row may
//! have moved on since the sums were taken.

use std::io::{self, BufWriter, Write};

use anyhow::Context;
use raindrops::{DropsReader, Field, Kind, RowSnapshot, WorkersView};
use serde_json::{Map, Value, json};

use raindrops_http::exposition::writer::{Dialect, Exposition, Family, Labels, Type, number};
use raindrops_http::exposition::{PrettyObject, families};

use crate::cli::{DumpArgs, Format};
use crate::exit::Code;

impl super::Run for DumpArgs {
    fn run(&self) -> anyhow::Result<Code> {
        let drops = DropsReader::open(&self.file).context("cannot dump")?;
        let mut out = BufWriter::new(io::stdout().lock());
        let segment = Segment::of(&drops);
        match self.format {
            Format::Json => segment.json(&mut out),
            Format::OpenMetrics => segment.prometheus(&mut out),
            _ => segment.text(&mut out),
        }
        .and_then(|()| out.flush())
        .context("stdout")?;
        Ok(Code::Success)
    }
}

/// What a segment file holds, read in place.
enum Segment<'a> {
    Workers(WorkersView<'a>),
    Named(&'a DropsReader),
    Plain(&'a DropsReader),
}

impl<'a> Segment<'a> {
    fn of(drops: &'a DropsReader) -> Self {
        if let Some(view) = drops.workers() {
            Segment::Workers(view)
        } else if drops.fields().is_empty() {
            Segment::Plain(drops)
        } else {
            Segment::Named(drops)
        }
    }

    /// `name: value` lines; the sums come first so `grep '^name:'` finds the total.
    fn text(&self, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Segment::Workers(view) => {
                let fields = view.fields();
                let totals = view.totals();
                for (field, value) in fields.iter().zip(&totals.total) {
                    writeln!(out, "{}: {value}", field.name)?;
                }
                let now_ms = raindrops::monotonic_ms();
                for row in view.iter() {
                    let i = row.index;
                    if let Some(pid) = row.pid {
                        writeln!(out, "worker.{i}.pid: {pid}")?;
                    }
                    if let Some(age) = heartbeat_age(row.heartbeat_ms, now_ms) {
                        writeln!(out, "worker.{i}.heartbeat_age_ms: {age}")?;
                    }
                    for (field, value) in fields.iter().zip(&row.values) {
                        writeln!(out, "worker.{i}.{}: {value}", field.name)?;
                    }
                }
                for (field, value) in counters(fields, &totals.retired) {
                    writeln!(out, "retired.{}: {value}", field.name)?;
                }
            }
            Segment::Named(drops) => {
                for (field, value) in drops.fields().iter().zip(drops.iter()) {
                    writeln!(out, "{}: {value}", field.name)?;
                }
            }
            Segment::Plain(drops) => {
                for (index, value) in drops.iter().enumerate() {
                    writeln!(out, "{index}: {value}")?;
                }
            }
        }
        Ok(())
    }

    /// One JSON object, pretty-printed: `total` (by name), plus `workers` and `retired` for a
    /// workers segment; `slots` (an array) for a plain segment. Arrays are written an element
    /// at a time.
    fn json(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut object = PrettyObject::start(out)?;
        match self {
            Segment::Workers(view) => {
                let fields = view.fields();
                let totals = view.totals();
                object.member("total", &by_name(fields, &totals.total))?;
                let now_ms = raindrops::monotonic_ms();
                object
                    .array("workers", view.iter().map(|row| worker_json(fields, &row, now_ms)))?;
                let (names, retired): (Vec<Field>, Vec<u64>) =
                    counters(fields, &totals.retired).map(|(f, v)| (f.clone(), v)).unzip();
                object.member("retired", &by_name(&names, &retired))?;
            }
            Segment::Named(drops) => {
                let values: Vec<u64> = drops.iter().take(drops.fields().len()).collect();
                object.member("total", &by_name(drops.fields(), &values))?;
            }
            Segment::Plain(drops) => object.array("slots", drops.iter().map(Value::from))?,
        }
        object.end()
    }

    /// The Prometheus text exposition format, through the library's writer (a field that is
    /// one of raindrops' [`families`] gets its HELP). A workers segment has one sample per
    /// worker row (label `worker`), and counters one more for the retired row
    /// (`worker="retired"`), so that PromQL's `sum()` gives the total; then each beating
    /// worker's `raindrops_worker_heartbeat_age_seconds` (rows that never beat have none).
    fn prometheus(&self, stream: &mut dyn Write) -> io::Result<()> {
        let mut out = Exposition::new(Dialect::Prometheus);
        match self {
            Segment::Workers(view) => {
                let retired = view.totals().retired;
                for (i, field) in view.fields().iter().enumerate() {
                    let name = format!("raindrops_{}", field.name);
                    out.family(&family(&name, field.kind));
                    for row in 0..view.rows() {
                        let value = view.value(row, i).unwrap_or_default();
                        out.sample(&Labels::new("worker", &row.to_string()), value);
                    }
                    if field.kind == Kind::Counter {
                        out.sample(&Labels::new("worker", "retired"), retired[i]);
                    }
                    stream.write_all(out.drain().as_bytes())?;
                }
                let now_ms = raindrops::monotonic_ms();
                let ages: Vec<(usize, u64)> = view
                    .iter()
                    .filter_map(|row| Some((row.index, heartbeat_age(row.heartbeat_ms, now_ms)?)))
                    .collect();
                if !ages.is_empty() {
                    out.family(&families::WORKER_HEARTBEAT_AGE_SECONDS);
                    for (row, age_ms) in ages {
                        let seconds = number(age_ms as f64 / 1000.0);
                        out.sample(&Labels::new("worker", &row.to_string()), seconds);
                    }
                }
            }
            Segment::Named(drops) => {
                for (field, value) in drops.fields().iter().zip(drops.iter()) {
                    let name = format!("raindrops_{}", field.name);
                    out.family(&family(&name, field.kind)).sample(&Labels::none(), value);
                }
            }
            Segment::Plain(drops) => {
                let slot =
                    Family { name: "raindrops_slot", kind: Type::Unknown, unit: None, help: None };
                out.family(&slot);
                for (index, value) in drops.iter().enumerate() {
                    out.sample(&Labels::new("index", &index.to_string()), value);
                    stream.write_all(out.drain().as_bytes())?;
                }
            }
        }
        stream.write_all(out.finish().as_bytes())
    }
}

/// One worker row as a JSON object.
fn worker_json(fields: &[Field], row: &RowSnapshot, now_ms: u64) -> Value {
    json!({
        "worker": row.index,
        "pid": row.pid,
        "heartbeat_age_ms": heartbeat_age(row.heartbeat_ms, now_ms),
        "counters": by_name(fields, &row.values),
    })
}

/// `{"name": value, ...}` in field order.
fn by_name(fields: &[Field], values: &[u64]) -> Value {
    let map: Map<String, Value> =
        fields.iter().zip(values).map(|(f, v)| (f.name.to_string(), json!(v))).collect();
    Value::Object(map)
}

/// The family of a field named `name` (`raindrops_NAME`): raindrops' own when the table has
/// one of that name and kind (HELP included), else one without HELP.
fn family(name: &str, kind: Kind) -> Family<'_> {
    let kind = match kind {
        Kind::Counter => Type::Counter,
        Kind::Gauge => Type::Gauge,
    };
    match families::lookup(name) {
        Some(known) if known.kind == kind => *known,
        _ => Family { name, kind, unit: None, help: None },
    }
}

/// The counter fields with their values (the retired row's gauges are always zero).
fn counters<'a>(fields: &'a [Field], values: &'a [u64]) -> impl Iterator<Item = (&'a Field, u64)> {
    fields.iter().zip(values.iter().copied()).filter(|(f, _)| f.kind == Kind::Counter)
}

/// Milliseconds since a heartbeat, if there ever was one.
fn heartbeat_age(heartbeat_ms: Option<u64>, now_ms: u64) -> Option<u64> {
    heartbeat_ms.map(|beat| now_ms.saturating_sub(beat))
}
