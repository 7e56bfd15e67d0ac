//! A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe`: headless
//! Chromium reads commands on its descriptor 3 and writes replies and events on 4, each a JSON
//! object ended by a NUL byte. No WebSocket, no port: `sh` puts the two pipes of a plain
//! [`Command`] on those descriptors. Enough to open a page, evaluate script in it, and send
//! it real input (typing, key presses, mouse clicks) as a user would.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one command, or one wait for a condition in the page, may take on a busy machine.
pub(crate) const DEADLINE: Duration = Duration::from_secs(30);

/// A headless Chromium driven over its debugging pipe, in a fresh profile; closed and reaped
/// when dropped.
pub(crate) struct Browser {
    child: Child,
    commands: ChildStdin,
    messages: mpsc::Receiver<Value>,
    next_id: u64,
    /// Events received while waiting for replies (every session's).
    events: Vec<Value>,
    log: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `program` (Chromium) headless with `--remote-debugging-pipe`.
    pub(crate) fn launch(program: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let log = profile.path().join("chromium.log");
        let user_data = format!("--user-data-dir={}", profile.path().join("data").display());
        // The command pipe (our stdin pipe) on 3, the reply pipe (our stdout pipe) on 4.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(program)
            .args([
                "--headless",
                "--no-sandbox", // needed as root; harmless otherwise
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-pipe",
                "--window-size=1280,800",
                &user_data,
                "about:blank",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        let commands = child.stdin.take().unwrap();
        let replies = child.stdout.take().unwrap();
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(replies);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                let json = message.strip_suffix(&[0]).unwrap_or(&message);
                let parsed = serde_json::from_slice(json)
                    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&message)));
                if tx.send(parsed).is_err() {
                    return;
                }
                message.clear();
            }
        });
        Browser {
            child,
            commands,
            messages,
            next_id: 1,
            events: Vec::new(),
            log,
            _profile: profile,
        }
    }

    /// Sends `method` with `params` (to the page of `session`, or to the browser) and waits for
    /// its reply: the `result`, or the protocol's error message.
    pub(crate) fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = session.into();
        }
        let mut bytes = serde_json::to_vec(&command).unwrap();
        bytes.push(0);
        self.commands.write_all(&bytes).unwrap_or_else(|e| panic!("{method}: {e}{}", self.log()));
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(message) => message,
                Err(e) => panic!("{method}: no reply in {DEADLINE:?} ({e}){}", self.log()),
            };
            if message["id"] != id {
                self.events.push(message);
            } else if let Some(error) = message.get("error") {
                return Err(error["message"].as_str().unwrap_or("?").to_owned());
            } else {
                return Ok(message["result"].clone());
            }
        }
    }

    /// A new tab (its own target and session) with scripts' errors reported, at `url` once
    /// its document has loaded.
    pub(crate) fn open(&mut self, url: &str) -> Page<'_> {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let target = target.unwrap()["targetId"].clone();
        let attach = json!({ "targetId": target, "flatten": true });
        let session = self.call(None, "Target.attachToTarget", attach).unwrap();
        let session = session["sessionId"].as_str().unwrap().to_owned();
        let mut page = Page { browser: self, session };
        page.call("Runtime.enable", json!({}));
        let navigated = page.call("Page.navigate", json!({ "url": url }));
        assert!(navigated.get("errorText").is_none(), "{url}: {navigated}");
        page.wait_for(&format!("{url} loaded"), "document.readyState === 'complete'");
        page
    }

    /// Chromium's stderr so far, for a failure message.
    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("\nchromium's stderr:\n{text}")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Asked to close, then killed if it takes too long; reaped either way.
        let mut bytes = br#"{"id":0,"method":"Browser.close"}"#.to_vec();
        bytes.push(0);
        let _ = self.commands.write_all(&bytes);
        let deadline = Instant::now() + DEADLINE;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tab of a [`Browser`].
pub(crate) struct Page<'a> {
    browser: &'a mut Browser,
    session: String,
}

impl Page<'_> {
    /// Sends `method` to this page; a protocol error fails the test.
    pub(crate) fn call(&mut self, method: &str, params: Value) -> Value {
        let result = self.browser.call(Some(&self.session), method, params.clone());
        result.unwrap_or_else(|e| panic!("{method} {params}: {e}"))
    }

    /// The value of the script expression `expression` (a thrown exception fails the test).
    pub(crate) fn eval(&mut self, expression: &str) -> Value {
        let params = json!({ "expression": expression, "returnByValue": true });
        let reply = self.call("Runtime.evaluate", params);
        if let Some(exception) = reply.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        reply["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is truthy (at most [`DEADLINE`]); returns its value.
    #[track_caller]
    pub(crate) fn wait_for(&mut self, what: &str, expression: &str) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let value = self.eval(expression);
            let truthy =
                !matches!(&value, Value::Null | Value::Bool(false)) && value != 0 && value != "";
            if truthy {
                return value;
            }
            assert!(Instant::now() < deadline, "{what}: not after {DEADLINE:?}: {value}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `text` into the focused element, as an input method would (an `input` event).
    pub(crate) fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({ "text": text }));
    }

    /// Presses and releases the key `key` (a DOM `key` name, e.g. `Backspace`) with Windows
    /// virtual key code `code`.
    pub(crate) fn press(&mut self, key: &str, code: u32) {
        for kind in ["rawKeyDown", "keyUp"] {
            let event = json!({
                "type": kind, "key": key, "code": key,
                "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code
            });
            self.call("Input.dispatchKeyEvent", event);
        }
    }

    /// Clicks with the left mouse button at the centre of the element `selector` names,
    /// scrolled into view: the browser hit-tests the point, as for a user's click.
    pub(crate) fn click(&mut self, selector: &str) {
        let selector = serde_json::to_string(selector).unwrap();
        let centre = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector}); e.scrollIntoView(); \
             const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let (x, y) = (centre[0].as_f64().unwrap(), centre[1].as_f64().unwrap());
        self.call("Input.dispatchMouseEvent", json!({ "type": "mouseMoved", "x": x, "y": y }));
        for kind in ["mousePressed", "mouseReleased"] {
            let event = json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 });
            self.call("Input.dispatchMouseEvent", event);
        }
    }

    /// The page's script errors so far: uncaught exceptions and `console.error` calls.
    pub(crate) fn script_errors(&mut self) -> Vec<Value> {
        // A round trip first: events sent before its reply are in.
        self.eval("0");
        let session = self.session.as_str();
        self.browser
            .events
            .iter()
            .filter(|e| e["sessionId"] == session)
            .filter(|e| {
                e["method"] == "Runtime.exceptionThrown"
                    || (e["method"] == "Runtime.consoleAPICalled"
                        && ["error", "assert"]
                            .contains(&e["params"]["type"].as_str().unwrap_or("")))
            })
            .cloned()
            .collect()
    }
}
