//! One JSON object: `calling`, `writing`, `requests` (when known) and `listeners`, an array of
//! `{addr, active, queued}` in the configured order.

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
        };
        let value: serde_json::Value = serde_json::from_str(&super::render(&snapshot)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "calling": 2, "writing": 1,
                "listeners": [{"addr": "[::1]:80", "active": 3, "queued": 4}],
            })
        );
    }
}
