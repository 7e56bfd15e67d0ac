//! raindrops' text format, byte for byte as `Raindrops::Middleware#stats_response` prints it,
//! except that a listener's name is escaped ([`raindrops::escape_bytes`]): a Unix socket name
//! with a newline would otherwise forge lines.

use std::fmt::Write;

use super::snapshot::Snapshot;

pub(super) fn render(snapshot: &Snapshot) -> String {
    let mut out = format!("calling: {}\nwriting: {}\n", snapshot.calling, snapshot.writing);
    for listener in &snapshot.listeners {
        let addr = listener.addr.escaped();
        // Writing to a String cannot fail.
        let _ =
            write!(out, "{addr} active: {}\n{addr} queued: {}\n", listener.active, listener.queued);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{ListenerSample, Snapshot};

    #[test]
    fn matches_ruby_raindrops() {
        let snapshot = Snapshot {
            calling: 0,
            writing: 0,
            requests: Some(3),
            listeners: vec![
                ListenerSample { addr: "127.0.0.1:8080".into(), active: 1, queued: 0, wait: None },
                ListenerSample { addr: "/run/app.sock".into(), active: 0, queued: 0, wait: None },
            ],
            // Not part of raindrops' format: never printed.
            counters: vec![super::super::LabeledCounter {
                name: "recycles".into(),
                values: vec![("memory".into(), 1)],
                ..Default::default()
            }],
            accept_waits: Some({
                let waits = raindrops::SharedAggregate::new(1).unwrap();
                waits.recorder(0).record(300);
                waits.snapshot()
            }),
        };
        let forged = ListenerSample {
            addr: "/tmp/x active: 9\n\x1b[31m".into(),
            active: 0,
            queued: 0,
            wait: None,
        };
        let text = super::render(&Snapshot { listeners: vec![forged], ..Snapshot::default() });
        assert_eq!(
            text,
            "calling: 0\nwriting: 0\n/tmp/x active: 9\\n\\x1b[31m active: 0\n\
             /tmp/x active: 9\\n\\x1b[31m queued: 0\n"
        );
        assert_eq!(
            super::render(&snapshot),
            "calling: 0\n\
             writing: 0\n\
             127.0.0.1:8080 active: 1\n\
             127.0.0.1:8080 queued: 0\n\
             /run/app.sock active: 0\n\
             /run/app.sock queued: 0\n"
        );
    }
}
