//! The one JSON writer: [`json_line`] (one line, safe to print), [`insert_json_name`] (a
//! listener's name), [`PrettyObject`] (a pretty-printed object written a member at a time), and
//! the stats endpoint's object: `calling`, `writing`, `requests` (when known) and `listeners`, an array of
//! `{addr, active, queued}` in the configured order, then one object per labelled counter
//! (`"recycles": {"memory": 3, ...}`). A name that is not UTF-8 is escaped
//! ([`raindrops::escape_bytes`]) and flagged `"addr_escaped": true`.

use std::fmt::Write as _;
use std::io;

use raindrops::ListenerName;
use serde_json::{Map, Value, json};

use super::snapshot::Snapshot;

/// Inserts a listener's name under `key` as the JSON string of its text when it is UTF-8
/// (exactly what Ruby raindrops writes); a name that is not UTF-8 is written escaped
/// ([`raindrops::escape_bytes`], reversed by [`raindrops::unescape_bytes`]) with
/// `"{key}_escaped": true` after it.
///
/// ```
/// use raindrops::ListenerName;
/// use raindrops_http::exposition::insert_json_name;
///
/// let mut o = serde_json::Map::new();
/// insert_json_name(&mut o, "addr", &ListenerName::from("/a\\b"));
/// assert_eq!(serde_json::Value::from(o).to_string(), r#"{"addr":"/a\\b"}"#);
///
/// let mut o = serde_json::Map::new();
/// insert_json_name(&mut o, "addr", &ListenerName::from(b"/\xde\xad\xbe\xef".to_vec()));
/// assert_eq!(
///     serde_json::Value::from(o).to_string(),
///     r#"{"addr":"/\\xde\\xad\\xbe\\xef","addr_escaped":true}"#
/// );
/// ```
pub fn insert_json_name(object: &mut Map<String, Value>, key: &str, name: &ListenerName) {
    object.insert(key.to_owned(), Value::from(name.to_text()));
    if name.to_str().is_none() {
        object.insert(format!("{key}_escaped"), Value::Bool(true));
    }
}

/// `value` as one line of JSON text: the characters JSON leaves raw but a terminal acts on
/// (DEL, C1 controls, bidirectional-text controls; see [`raindrops::is_terminal_control`]) are
/// written as `\uXXXX` escapes, so any JSON parser reads the same value, ordinary text is
/// byte-identical, and the line is safe to print (JSON escapes the other controls itself).
///
/// ```
/// use raindrops_http::exposition::json_line;
///
/// let value = serde_json::json!({ "addr": "/tmp/a\u{9b}31m\u{202e}", "n": 1 });
/// assert_eq!(json_line(&value), "{\"addr\":\"/tmp/a\\u009b31m\\u202e\",\"n\":1}\n");
/// let plain = serde_json::json!({ "addr": "/run/app.sock" });
/// assert_eq!(json_line(&plain), "{\"addr\":\"/run/app.sock\"}\n");
/// let del = serde_json::json!({ "addr": "/tmp/a\u{7f}", "bell": "\u{7}" });
/// assert_eq!(json_line(&del), "{\"addr\":\"/tmp/a\\u007f\",\"bell\":\"\\u0007\"}\n");
/// ```
pub fn json_line(value: &Value) -> String {
    let mut text = value.to_string();
    // ASCII short of DEL (nearly every line): nothing a terminal acts on, JSON escaped the rest.
    if text.bytes().all(|b| b < 0x7f) {
        text.push('\n');
        return text;
    }
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if raindrops::is_terminal_control(c) {
            // Only inside strings: JSON text has no other place for such a character.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    out
}

/// A JSON object written a member at a time, formatted like `serde_json`'s pretty printer
/// (two-space indent): for outputs too long to build as one [`Value`] (`raindrops dump`
/// writes a workers segment's rows as it reads them).
///
/// ```
/// use raindrops_http::exposition::PrettyObject;
///
/// let mut out = Vec::new();
/// let mut object = PrettyObject::start(&mut out)?;
/// object.member("total", &serde_json::json!({ "requests": 3 }))?;
/// object.array("slots", [1, 2].into_iter().map(serde_json::Value::from))?;
/// object.end()?;
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "{\n  \"total\": {\n    \"requests\": 3\n  },\n  \"slots\": [\n    1,\n    2\n  ]\n}\n"
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct PrettyObject<'w> {
    out: &'w mut dyn io::Write,
    members: usize,
}

impl std::fmt::Debug for PrettyObject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrettyObject").field("members", &self.members).finish_non_exhaustive()
    }
}

impl<'w> PrettyObject<'w> {
    /// Writes `{`.
    ///
    /// # Errors
    ///
    /// The writer's.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// raindrops_http::exposition::PrettyObject::start(&mut out)?.end()?;
    /// assert_eq!(out, b"{}\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(out: &'w mut dyn io::Write) -> io::Result<Self> {
        out.write_all(b"{")?;
        Ok(PrettyObject { out, members: 0 })
    }

    /// Starts the next member: `,` after the previous one, a new line, the key.
    fn key(&mut self, key: &str) -> io::Result<()> {
        let comma = if self.members > 0 { "," } else { "" };
        self.members += 1;
        write!(self.out, "{comma}\n  {}: ", Value::from(key))
    }

    /// `key: value`.
    ///
    /// # Errors
    ///
    /// The writer's.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// let mut object = raindrops_http::exposition::PrettyObject::start(&mut out)?;
    /// object.member("a", &serde_json::json!(1))?;
    /// object.end()?;
    /// assert_eq!(out, b"{\n  \"a\": 1\n}\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn member(&mut self, key: &str, value: &Value) -> io::Result<()> {
        self.key(key)?;
        write_nested(self.out, value, "  ")
    }

    /// `key: [...]`, each element written as the iterator yields it.
    ///
    /// # Errors
    ///
    /// The writer's.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// let mut object = raindrops_http::exposition::PrettyObject::start(&mut out)?;
    /// object.array("a", std::iter::empty())?;
    /// object.end()?;
    /// assert_eq!(out, b"{\n  \"a\": []\n}\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn array(&mut self, key: &str, items: impl Iterator<Item = Value>) -> io::Result<()> {
        self.key(key)?;
        self.out.write_all(b"[")?;
        let mut empty = true;
        for item in items {
            self.out.write_all(if empty { b"\n    " } else { b",\n    " })?;
            write_nested(self.out, &item, "    ")?;
            empty = false;
        }
        self.out.write_all(if empty { b"]" } else { b"\n  ]" })
    }

    /// Writes `}` and a newline.
    ///
    /// # Errors
    ///
    /// The writer's.
    ///
    /// ```
    /// let mut out = Vec::new();
    /// raindrops_http::exposition::PrettyObject::start(&mut out)?.end()?;
    /// assert_eq!(out, b"{}\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn end(self) -> io::Result<()> {
        self.out.write_all(if self.members > 0 { b"\n}\n" } else { b"}\n" })
    }
}

/// `value` pretty-printed, its lines after the first indented by `indent`.
fn write_nested(out: &mut dyn io::Write, value: &Value, indent: &str) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    out.write_all(text.replace('\n', &format!("\n{indent}")).as_bytes())
}

pub(super) fn render(snapshot: &Snapshot) -> String {
    let listeners: Vec<Value> = snapshot
        .listeners
        .iter()
        .map(|l| {
            let mut o = Map::new();
            insert_json_name(&mut o, "addr", &l.addr);
            o.insert("active".into(), json!(l.active));
            o.insert("queued".into(), json!(l.queued));
            Value::Object(o)
        })
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
    if let Some(waits) = &snapshot.accept_waits {
        let percentiles = super::histogram::percentiles(waits);
        value["accept_wait_ms"] =
            Value::Object(super::histogram::json(&waits.to_aggregate(), &percentiles));
    }
    json_line(&value)
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
            listeners: vec![ListenerSample {
                addr: "[::1]:80".into(),
                active: 3,
                queued: 4,
                wait: None,
            }],
            counters: vec![super::super::LabeledCounter {
                name: "recycles".into(),
                help: "Workers recycled.".into(),
                label: "reason".into(),
                values: vec![("memory".into(), 2), ("budget".into(), 0)],
            }],
            accept_waits: None,
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
        let bytes = ListenerSample {
            addr: b"/tmp/\xde\xad\xbe\xef".to_vec().into(),
            active: 0,
            queued: 1,
            wait: None,
        };
        let plain = ListenerSample { addr: "/tmp/a\n\\".into(), active: 0, queued: 0, wait: None };
        let snapshot = Snapshot { listeners: vec![bytes, plain], ..Snapshot::default() };
        let text = super::render(&snapshot);
        assert!(
            text.contains(
                r#"{"addr":"/tmp/\\xde\\xad\\xbe\\xef","addr_escaped":true,"active":0,"queued":1}"#
            ),
            "{text}"
        );
        // A UTF-8 name is the name itself, escaped only as JSON requires.
        assert!(text.contains(r#"{"addr":"/tmp/a\n\\","active":0,"queued":0}"#), "{text}");
    }
}
