//! Samples for the unit tests of the model and the views.

use raindrops::ListenStats;

use super::sampling::{Listener, Sample, WorkerRow, Workers};

/// A sample of `(address, active, queued)` listeners and no segment; a TCP listener's oldest
/// queued connection has waited 300 ms per queued connection.
pub(super) fn sample(listeners: &[(&str, u32, u32)]) -> Sample {
    let listeners = listeners
        .iter()
        .map(|&(addr, active, queued)| Listener {
            addr: addr.parse().expect("a listener address"),
            stats: ListenStats { active, queued },
            oldest_ms: (queued > 0 && !addr.starts_with('/')).then_some(queued * 300),
        })
        .collect();
    Sample { listeners: Ok(listeners), workers: None, master: None }
}

/// Two workers of the HTTP schema: one busy with a known pid, memory and heartbeat, one not.
pub(super) fn workers() -> Workers {
    let row = |index, pid, values: [u64; 3], memory, heartbeat_age_ms| WorkerRow {
        index,
        pid,
        values: values.to_vec(),
        memory,
        heartbeat_age_ms,
    };
    Workers {
        fields: vec!["calling".into(), "writing".into(), "requests".into()],
        rows: vec![
            row(0, Some(4242), [1, 0, 2], Some(12 << 20), Some(350)),
            row(1, None, [0, 1, 10], None, None),
        ],
        total: vec![1, 1, 17],
        total_memory: Some(12 << 20),
    }
}
