//! `raindrops dump FILE`: print a file-backed segment's counters, from the schema in its header.
//!
//! Three kinds of segment files exist, and each prints its own way:
//!
//! * a workers segment (`Workers::create`): the sum of every field first, then each worker row
//!   (`worker.N.NAME`, with its pid and heartbeat age) and the retired row (`retired.NAME`);
//! * a named-counters segment (`counters!` struct's `create`): `NAME: value`;
//! * a plain `Drops::create` file: `INDEX: value` per slot.

use std::io::{self, Write};

use anyhow::Context;
use raindrops::{Drops, Field, Kind, WorkersSnapshot};
use serde_json::{Map, Value, json};

use crate::cli::{DumpArgs, Format};
use crate::exit::Code;

impl super::Run for DumpArgs {
    fn run(&self) -> anyhow::Result<Code> {
        let drops = Drops::open(&self.file).context("cannot dump")?;
        let dump = Dump::read(&drops);
        let out = match self.format {
            Format::Text => dump.text(),
            Format::Json => dump.json(),
            Format::Prometheus => dump.prometheus(),
        };
        let mut stdout = io::stdout().lock();
        stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).context("stdout")?;
        Ok(Code::Success)
    }
}

/// What a segment holds, read once.
enum Dump {
    Workers { snapshot: WorkersSnapshot, now_ms: u64 },
    Named { fields: Vec<Field>, values: Vec<u64> },
    Plain { values: Vec<u64> },
}

impl Dump {
    fn read(drops: &Drops) -> Dump {
        if let Some(snapshot) = WorkersSnapshot::of(drops) {
            Dump::Workers { snapshot, now_ms: raindrops::monotonic_ms() }
        } else if drops.fields().is_empty() {
            Dump::Plain { values: drops.snapshot() }
        } else {
            let fields = drops.fields().to_vec();
            let values = drops.iter().take(fields.len()).collect();
            Dump::Named { fields, values }
        }
    }

    /// `name: value` lines; the sums come first so `grep '^name:'` finds the total.
    fn text(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &dyn std::fmt::Display, value: &dyn std::fmt::Display| {
            out.push_str(&format!("{key}: {value}\n"));
        };
        match self {
            Dump::Workers { snapshot, now_ms } => {
                let fields = &snapshot.fields;
                for (field, value) in fields.iter().zip(&snapshot.total) {
                    line(&field.name, value);
                }
                for row in &snapshot.workers {
                    let i = row.index;
                    if let Some(pid) = row.pid {
                        line(&format_args!("worker.{i}.pid"), &pid);
                    }
                    if let Some(age) = heartbeat_age(row.heartbeat_ms, *now_ms) {
                        line(&format_args!("worker.{i}.heartbeat_age_ms"), &age);
                    }
                    for (field, value) in fields.iter().zip(&row.values) {
                        line(&format_args!("worker.{i}.{}", field.name), value);
                    }
                }
                for (field, value) in counters(fields, &snapshot.retired) {
                    line(&format_args!("retired.{}", field.name), &value);
                }
            }
            Dump::Named { fields, values } => {
                for (field, value) in fields.iter().zip(values) {
                    line(&field.name, value);
                }
            }
            Dump::Plain { values } => {
                for (index, value) in values.iter().enumerate() {
                    line(&index, value);
                }
            }
        }
        out
    }

    /// One JSON object: `total` (by name), plus `workers` and `retired` for a workers segment;
    /// `slots` (an array) for a plain segment.
    fn json(&self) -> String {
        let by_name = |fields: &[Field], values: &[u64]| -> Value {
            let map: Map<String, Value> =
                fields.iter().zip(values).map(|(f, v)| (f.name.to_string(), json!(v))).collect();
            Value::Object(map)
        };
        let value = match self {
            Dump::Workers { snapshot, now_ms } => {
                let fields = &snapshot.fields;
                let workers: Vec<Value> = snapshot
                    .workers
                    .iter()
                    .map(|row| {
                        json!({
                            "worker": row.index,
                            "pid": row.pid,
                            "heartbeat_age_ms": heartbeat_age(row.heartbeat_ms, *now_ms),
                            "counters": by_name(fields, &row.values),
                        })
                    })
                    .collect();
                let (names, retired): (Vec<Field>, Vec<u64>) =
                    counters(fields, &snapshot.retired).map(|(f, v)| (f.clone(), v)).unzip();
                json!({
                    "total": by_name(fields, &snapshot.total),
                    "workers": workers,
                    "retired": by_name(&names, &retired),
                })
            }
            Dump::Named { fields, values } => json!({ "total": by_name(fields, values) }),
            Dump::Plain { values } => json!({ "slots": values }),
        };
        format!("{value:#}\n")
    }

    /// The Prometheus text exposition format. A workers segment has one sample per worker row
    /// (label `worker`), and counters one more for the retired row (`worker="retired"`), so
    /// that PromQL's `sum()` gives the total.
    fn prometheus(&self) -> String {
        let mut out = String::new();
        match self {
            Dump::Workers { snapshot, .. } => {
                for (i, field) in snapshot.fields.iter().enumerate() {
                    let name = family(field);
                    out.push_str(&format!("# TYPE {name} {}\n", field.kind));
                    for row in &snapshot.workers {
                        out.push_str(&format!(
                            "{name}{{worker=\"{}\"}} {}\n",
                            row.index, row.values[i]
                        ));
                    }
                    if field.kind == Kind::Counter {
                        out.push_str(&format!(
                            "{name}{{worker=\"retired\"}} {}\n",
                            snapshot.retired[i]
                        ));
                    }
                }
            }
            Dump::Named { fields, values } => {
                for (field, value) in fields.iter().zip(values) {
                    let name = family(field);
                    out.push_str(&format!("# TYPE {name} {}\n{name} {value}\n", field.kind));
                }
            }
            Dump::Plain { values } => {
                out.push_str("# TYPE raindrops_slot untyped\n");
                for (index, value) in values.iter().enumerate() {
                    out.push_str(&format!("raindrops_slot{{index=\"{index}\"}} {value}\n"));
                }
            }
        }
        out
    }
}

/// The metric name of a field: `raindrops_NAME`, with `_total` for counters.
fn family(field: &Field) -> String {
    match field.kind {
        Kind::Counter => format!("raindrops_{}_total", field.name),
        Kind::Gauge => format!("raindrops_{}", field.name),
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
