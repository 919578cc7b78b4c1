//! A real browser for tests: Debian's headless Chromium (`scripts/tools.sh` installs it) driven
//! over the Chrome DevTools Protocol on a WebSocket — navigate, evaluate JavaScript, screenshot.

use std::{path::Path, time::Duration};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async, tungstenite::Message};

use crate::{Proc, free_port};

/// Headless Chromium with one page open.
pub struct Browser {
    _proc: Proc,
    _profile: tempfile::TempDir,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

/// The Chromium binary: `$CHROMIUM`, or `chromium` on the path.
pub fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

impl Browser {
    /// Starts Chromium headless and attaches to its first page. Panics (a test's failure) when
    /// Chromium is missing: `bash scripts/tools.sh` installs it.
    pub async fn launch() -> Self {
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let port = free_port();
        let log = profile.path().join("chromium.log");
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            "--window-size=1200,1600".into(),
            format!("--remote-debugging-port={port}"),
            format!("--user-data-dir={}", profile.path().display()),
            "about:blank".into(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let proc = Proc::spawn(Path::new(&chromium()), &args, &log);
        let list = format!("http://127.0.0.1:{port}/json/list");
        let mut ws_url = None;
        for _ in 0..200 {
            if let Ok(body) = http_get(port, "/json/list").await
                && let Ok(targets) = serde_json::from_str::<Vec<Value>>(&body)
                && let Some(id) = targets.iter().find(|t| t["type"] == "page").and_then(|t| t["id"].as_str())
            {
                // By address, not by the name DevTools reports (`localhost` may resolve to ::1).
                ws_url = Some(format!("ws://127.0.0.1:{port}/devtools/page/{id}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ws_url = ws_url.unwrap_or_else(|| {
            panic!(
                "Chromium ({}) gave no page at {list}; its log: {}",
                chromium(),
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let (ws, _) = connect_async(ws_url.as_str()).await.expect("Chromium's DevTools WebSocket");
        Self { _proc: proc, _profile: profile, ws, next_id: 0 }
    }

    /// Sends a DevTools command and returns its result (panics on a protocol error).
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({ "id": id, "method": method, "params": params }).to_string();
        self.ws.send(Message::Text(msg.into())).await.expect("sending to Chromium");
        loop {
            let m = tokio::time::timeout(Duration::from_secs(60), self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("Chromium did not answer {method} within 60 s"))
                .expect("Chromium closed its DevTools socket")
                .expect("reading Chromium's DevTools socket");
            let Message::Text(text) = m else { continue };
            let v: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Loads `url` and waits for its load event.
    pub async fn navigate(&mut self, url: &str) {
        self.call("Page.enable", json!({})).await;
        self.call("Page.navigate", json!({ "url": url })).await;
        for _ in 0..100 {
            if self.eval("document.readyState").await == "complete" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{url} did not finish loading within 10 s");
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true })).await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expression}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy in the page.
    pub async fn until(&mut self, what: &str, secs: u64, expression: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if self.eval(&format!("Boolean({expression})")).await == json!(true) {
                return;
            }
            if std::time::Instant::now() > deadline {
                let page = self.eval("document.body ? document.body.innerText : ''").await;
                panic!(
                    "timed out after {secs} s waiting for {what} ({expression}); the page reads:\n{}",
                    page.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A PNG of the page as it is rendered.
    pub async fn screenshot(&mut self, path: &Path) -> usize {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true })).await;
        let data = r["data"].as_str().expect("screenshot data");
        let png = base64_decode(data);
        std::fs::write(path, &png).expect("writing the screenshot");
        png.len()
    }
}

async fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    // DevTools keeps the connection open: read the header, then exactly Content-Length bytes.
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "DevTools HTTP"))??;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&out);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok());
            if len.is_some_and(|len| body.len() >= len) {
                return Ok(body.to_string());
            }
        }
    }
    let text = String::from_utf8_lossy(&out).to_string();
    Ok(text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// Standard base64 (what DevTools sends screenshots in).
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::base64_decode("aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(super::base64_decode("iVBORw0KGgo="), [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
    }
}
