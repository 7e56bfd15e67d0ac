//! One JSON object: `calling`, `writing`, `requests` (when known) and `listeners`, an array of
//! `{addr, active, queued}` in the configured order, then one object per labelled counter
//! (`"recycles": {"memory": 3, ...}`).

use serde_json::{Value, json};

use super::Snapshot;

pub(super) fn render(snapshot: &Snapshot) -> String {
    let listeners: Vec<Value> = snapshot
        .listeners
        .iter()
        .map(|l| json!({ "addr": l.addr, "active": l.active, "queued": l.queued }))
        .collect();
    let mut value = json!({ "calling": snapshot.calling, "writing": snapshot.writing });
    if let Some(requests) = snapshot.requests {
        value["requests"] = json!(requests);
    }
    value["listeners"] = Value::Array(listeners);
    for counter in &snapshot.counters {
        let values: serde_json::Map<String, Value> =
            counter.values.iter().map(|(label, n)| (label.clone(), json!(n))).collect();
        value[counter.name.as_str()] = Value::Object(values);
    }
    format!("{value}\n")
}

#[cfg(test)]
mod tests {
    use super::super::{ListenerSample, Snapshot};

    #[test]
    fn one_object() {
        let snapshot = Snapshot {
            calling: 2,
            writing: 1,
            requests: None,
            listeners: vec![ListenerSample { addr: "[::1]:80".into(), active: 3, queued: 4 }],
            counters: vec![super::super::LabeledCounter {
                name: "recycles".into(),
                help: "Workers recycled.".into(),
                label: "reason".into(),
                values: vec![("memory".into(), 2), ("budget".into(), 0)],
            }],
        };
        let value: serde_json::Value = serde_json::from_str(&super::render(&snapshot)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "calling": 2, "writing": 1,
                "listeners": [{"addr": "[::1]:80", "active": 3, "queued": 4}],
                "recycles": {"memory": 2, "budget": 0},
            })
        );
    }
}
