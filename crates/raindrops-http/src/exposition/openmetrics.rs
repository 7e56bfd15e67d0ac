//! OpenMetrics text: `raindrops_calling`, `raindrops_writing`, `raindrops_requests` (a counter,
//! when known), `raindrops_listener_active{addr}` / `raindrops_listener_queued{addr}` gauges,
//! then the labelled counters (`raindrops_recycles_total{reason}`).

use std::fmt::Write;

use raindrops::ListenerName;

use super::Snapshot;

/// Escapes a label value: backslash, double quote and newline, as OpenMetrics (and the
/// Prometheus text format) require.
///
/// ```
/// assert_eq!(raindrops_http::exposition::escape_label("/tmp/\"x\""), "/tmp/\\\"x\\\"");
/// ```
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A listener's name as a label value: [`escape_bytes`](raindrops::escape_bytes) (the same
/// spelling as the text outputs: an ordinary name is unchanged, a name with a control character,
/// a backslash or bytes that are not UTF-8 is escaped, so the value is UTF-8, as label values
/// must be, and prints safely), then [`escape_label`].
///
/// ```
/// use raindrops::ListenerName;
/// use raindrops_http::exposition::escape_name_label;
///
/// assert_eq!(escape_name_label(&"/run/app.sock".into()), "/run/app.sock");
/// assert_eq!(escape_name_label(&"/a\n\x1b".into()), "/a\\\\n\\\\x1b");
/// assert_eq!(escape_name_label(&ListenerName::from(b"/\xff".to_vec())), "/\\\\xff");
/// ```
pub fn escape_name_label(name: &ListenerName) -> String {
    escape_label(&name.escaped())
}

pub(super) fn render(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "# TYPE raindrops_calling gauge\n\
         # HELP raindrops_calling Requests inside the application.\n\
         raindrops_calling {}\n\
         # TYPE raindrops_writing gauge\n\
         # HELP raindrops_writing Responses whose body is being written.\n\
         raindrops_writing {}\n",
        snapshot.calling, snapshot.writing
    );
    if let Some(requests) = snapshot.requests {
        let _ = write!(
            out,
            "# TYPE raindrops_requests counter\n\
             # HELP raindrops_requests Requests received.\n\
             raindrops_requests_total {requests}\n"
        );
    }
    if !snapshot.listeners.is_empty() {
        for (name, help, value) in [
            (
                "active",
                "Accepted connections still established.",
                (|l: &super::ListenerSample| l.active) as fn(&_) -> u64,
            ),
            ("queued", "Connections waiting for accept().", |l| l.queued),
        ] {
            let _ = writeln!(out, "# TYPE raindrops_listener_{name} gauge");
            let _ = writeln!(out, "# HELP raindrops_listener_{name} {help}");
            for listener in &snapshot.listeners {
                let _ = writeln!(
                    out,
                    "raindrops_listener_{name}{{addr=\"{}\"}} {}",
                    escape_name_label(&listener.addr),
                    value(listener)
                );
            }
        }
    }
    for counter in &snapshot.counters {
        let (name, label) = (&counter.name, &counter.label);
        let _ = writeln!(out, "# TYPE raindrops_{name} counter");
        let _ = writeln!(out, "# HELP raindrops_{name} {}", escape_label(&counter.help));
        for (value, count) in &counter.values {
            let _ = writeln!(
                out,
                "raindrops_{name}_total{{{label}=\"{}\"}} {count}",
                escape_label(value)
            );
        }
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::{ListenerSample, Snapshot};

    #[test]
    fn gauges_and_eof() {
        let snapshot = Snapshot {
            calling: 1,
            writing: 2,
            requests: Some(7),
            listeners: vec![ListenerSample { addr: "/tmp/a\"b".into(), active: 3, queued: 4 }],
            counters: vec![super::super::LabeledCounter {
                name: "recycles".into(),
                help: "Workers recycled.".into(),
                label: "reason".into(),
                values: vec![("memory".into(), 5), ("a\"b".into(), 0)],
            }],
        };
        assert_eq!(
            super::render(&snapshot),
            "# TYPE raindrops_calling gauge\n\
             # HELP raindrops_calling Requests inside the application.\n\
             raindrops_calling 1\n\
             # TYPE raindrops_writing gauge\n\
             # HELP raindrops_writing Responses whose body is being written.\n\
             raindrops_writing 2\n\
             # TYPE raindrops_requests counter\n\
             # HELP raindrops_requests Requests received.\n\
             raindrops_requests_total 7\n\
             # TYPE raindrops_listener_active gauge\n\
             # HELP raindrops_listener_active Accepted connections still established.\n\
             raindrops_listener_active{addr=\"/tmp/a\\\"b\"} 3\n\
             # TYPE raindrops_listener_queued gauge\n\
             # HELP raindrops_listener_queued Connections waiting for accept().\n\
             raindrops_listener_queued{addr=\"/tmp/a\\\"b\"} 4\n\
             # TYPE raindrops_recycles counter\n\
             # HELP raindrops_recycles Workers recycled.\n\
             raindrops_recycles_total{reason=\"memory\"} 5\n\
             raindrops_recycles_total{reason=\"a\\\"b\"} 0\n\
             # EOF\n"
        );
    }
}
