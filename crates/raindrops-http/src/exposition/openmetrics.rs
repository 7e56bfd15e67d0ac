//! OpenMetrics text: `raindrops_calling`, `raindrops_writing`, `raindrops_requests` (a counter,
//! when known), `raindrops_listener_active{addr}` / `raindrops_listener_queued{addr}` gauges,
//! then the labelled counters (`raindrops_recycles_total{reason}`) and the accepted
//! connections' waits (`raindrops_accept_wait_seconds`, a histogram), each written through the
//! [`writer`](super::writer) with its [`families`](super::families) entry.

use super::families::{
    ACCEPT_WAIT_SECONDS, CALLING, LISTENER_ACTIVE, LISTENER_QUEUED, REQUESTS, WRITING,
};
use super::snapshot::{ListenerSample, Snapshot};
use super::writer::{Dialect, Exposition, Family, Labels, Type};

/// A listener gauge's family and value.
type Gauge = (&'static Family<'static>, fn(&ListenerSample) -> u64);

pub(super) fn render(snapshot: &Snapshot) -> String {
    let mut out = Exposition::new(Dialect::OpenMetrics);
    out.family(&CALLING).sample(&Labels::none(), snapshot.calling);
    out.family(&WRITING).sample(&Labels::none(), snapshot.writing);
    if let Some(requests) = snapshot.requests {
        out.family(&REQUESTS).sample(&Labels::none(), requests);
    }
    if !snapshot.listeners.is_empty() {
        let gauges: [Gauge; 2] =
            [(&LISTENER_ACTIVE, |l| l.active), (&LISTENER_QUEUED, |l| l.queued)];
        for (family, value) in gauges {
            out.family(family);
            for listener in &snapshot.listeners {
                out.sample(&Labels::addr(&listener.addr), value(listener));
            }
        }
    }
    for counter in &snapshot.counters {
        let name = format!("raindrops_{}", counter.name);
        out.family(&Family {
            name: &name,
            kind: Type::Counter,
            unit: None,
            help: Some(&counter.help),
        });
        for (value, count) in &counter.values {
            out.sample(&Labels::new(&counter.label, value), count);
        }
    }
    if let Some(waits) = &snapshot.accept_waits {
        out.family(&ACCEPT_WAIT_SECONDS)
            .histogram_ms_as_seconds(&Labels::none(), &waits.to_aggregate());
    }
    out.finish()
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
            listeners: vec![ListenerSample {
                addr: "/tmp/a\"b".into(),
                active: 3,
                queued: 4,
                wait: None,
            }],
            counters: vec![super::super::LabeledCounter {
                name: "recycles".into(),
                help: "Workers recycled.".into(),
                label: "reason".into(),
                values: vec![("memory".into(), 5), ("a\"b".into(), 0)],
            }],
            accept_waits: None,
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
