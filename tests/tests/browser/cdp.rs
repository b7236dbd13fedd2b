//! A minimal Chrome DevTools Protocol client: JSON commands and events over
//! the browser's WebSocket, in "flat" session mode (one connection, each
//! page command tagged with its `sessionId`).
//!
//! <https://chromedevtools.github.io/devtools-protocol/>

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// How long one protocol answer may take before the test fails, not hangs.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A headless Chromium, killed when dropped.
pub struct Browser {
    process: Child,
    socket: WebSocket<TcpStream>,
    next_id: u64,
    /// Events read while waiting for an answer, not yet looked at.
    events: VecDeque<Value>,
}

/// A tab, driven through its session.
pub struct Page {
    pub session_id: String,
}

impl Browser {
    /// Starts `chromium` headless with a throw-away profile and connects.
    pub fn launch(chromium: &Path, profile_dir: &Path) -> Result<Browser, String> {
        let mut process = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", chromium.display()))?;

        // Chromium prints "DevTools listening on ws://..." on stderr once
        // its debugging port is open; the rest of stderr is noise (D-Bus).
        let stderr = process
            .stderr
            .take()
            .ok_or("chromium's stderr is not piped")?;
        let (found, announced) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = found.send(url.trim().to_string());
                }
            }
        });
        let url = match announced.recv_timeout(ANSWER_TIMEOUT) {
            Ok(url) => url,
            Err(_) => {
                let _ = process.kill();
                return Err("chromium did not open its DevTools port within 60 s".into());
            }
        };
        let address = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| format!("unexpected DevTools URL {url}"))?
            .to_string();
        let stream = TcpStream::connect(&address)
            .map_err(|error| format!("cannot connect to DevTools at {address}: {error}"))?;
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .map_err(|error| error.to_string())?;
        let (socket, _) = tungstenite::client(url.as_str(), stream)
            .map_err(|error| format!("DevTools WebSocket handshake failed: {error}"))?;
        Ok(Browser {
            process,
            socket,
            next_id: 1,
            events: VecDeque::new(),
        })
    }

    /// Opens a new tab and attaches to it.
    pub fn new_page(&mut self) -> Result<Page, String> {
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }))?;
        let target_id = target["targetId"]
            .as_str()
            .ok_or("no targetId")?
            .to_string();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        )?;
        let session_id = attached["sessionId"]
            .as_str()
            .ok_or("no sessionId")?
            .to_string();
        Ok(Page { session_id })
    }

    /// Sends a command and returns its `result`, keeping the events that
    /// arrive meanwhile for [`Browser::take_events`].
    pub fn call(
        &mut self,
        page: Option<&Page>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(page) = page {
            command["sessionId"] = Value::String(page.session_id.clone());
        }
        self.socket
            .send(Message::Text(command.to_string().into()))
            .map_err(|error| format!("{method}: cannot send: {error}"))?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            if Instant::now() > deadline {
                return Err(format!("{method}: no answer within 60 s"));
            }
            let message = self
                .socket
                .read()
                .map_err(|error| format!("{method}: waiting for the answer: {error}"))?;
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str())
                .map_err(|error| format!("{method}: unreadable answer: {error}"))?;
            if value["id"].as_u64() == Some(id) {
                if let Some(error) = value.get("error") {
                    return Err(format!("{method} failed: {error}"));
                }
                return Ok(value["result"].clone());
            }
            if value.get("method").is_some() {
                self.events.push_back(value);
            }
        }
    }

    /// The requests (from `Network` events not yet taken) that neither
    /// finished nor failed: what a page stuck "loading" is waiting for.
    fn unfinished_requests(&self) -> String {
        let mut pending = std::collections::BTreeMap::new();
        for event in &self.events {
            let id = event["params"]["requestId"].to_string();
            match event["method"].as_str() {
                Some("Network.requestWillBeSent") => {
                    let url = event["params"]["request"]["url"].as_str().unwrap_or("?");
                    pending.insert(id, url.to_string());
                }
                Some("Network.loadingFinished" | "Network.loadingFailed") => {
                    pending.remove(&id);
                }
                _ => {}
            }
        }
        if pending.is_empty() {
            String::new()
        } else {
            let urls: Vec<String> = pending.into_values().collect();
            format!("; requests still unanswered: {}", urls.join(", "))
        }
    }

    /// The events received so far, in order; the buffer is emptied.
    pub fn take_events(&mut self) -> Vec<Value> {
        self.events.drain(..).collect()
    }

    /// Evaluates a JavaScript expression in the page and returns its value
    /// (awaiting it if it is a promise). A thrown exception is an `Err`.
    pub fn evaluate(&mut self, page: &Page, expression: &str) -> Result<Value, String> {
        let result = self.call(
            Some(page),
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )?;
        if let Some(exception) = result.get("exceptionDetails") {
            return Err(format!("`{expression}` threw: {exception}"));
        }
        Ok(result["result"]["value"].clone())
    }

    /// Polls `condition` (a JavaScript expression) until it is `true`.
    ///
    /// The browser works at its own pace, so this waits for a state rather
    /// than for a time; the deadline only turns a hang into a failure.
    pub fn wait_for(&mut self, page: &Page, condition: &str, what: &str) -> Result<(), String> {
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut last_error = String::new();
        loop {
            // While the page navigates, evaluating fails ("Inspected target
            // navigated", a half-built document): that is "not yet", not a
            // failure. The last such error is reported if time runs out.
            match self.evaluate(page, condition) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(_) => last_error.clear(),
                Err(error) => last_error = error,
            }
            if Instant::now() > deadline {
                let at = self
                    .evaluate(page, "`${location.href} (${document.readyState})`")
                    .unwrap_or_else(Value::String);
                let last_error = if last_error.is_empty() {
                    String::new()
                } else {
                    format!("; last error: {last_error}")
                };
                return Err(format!(
                    "{what}: still not true after 60 s, at {at}: {condition}{last_error}{}",
                    self.unfinished_requests()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.socket.close(None);
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
