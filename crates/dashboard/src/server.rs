//! A small HTTP server for the dashboard: `/` (the page), `/api/snapshot` (the latest snapshot as
//! JSON) and `/events` (server-sent events: one snapshot a second). Requests are read up to their
//! header's end (8 KiB at most); anything else gets 404.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::{RwLock, broadcast},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::snapshot::{Poller, Sources};

const INDEX: &str = include_str!("../assets/index.html");
const MAX_HEADER: usize = 8 * 1024;

/// The running dashboard.
pub struct Dashboard {
    pub addr: SocketAddr,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Dashboard {
    pub async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

/// Listens on `addr` and polls `sources` every `every`.
pub async fn serve(addr: SocketAddr, sources: Sources, every: Duration) -> Result<Dashboard, std::io::Error> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let mut poller = Poller::new(sources).map_err(std::io::Error::other)?;
    let latest = Arc::new(RwLock::new(String::from("{}")));
    let (tx, _) = broadcast::channel::<String>(16);
    let cancel = CancellationToken::new();
    let poll_task = {
        let (latest, tx, cancel) = (latest.clone(), tx.clone(), cancel.clone());
        tokio::spawn(async move {
            loop {
                let json = serde_json::to_string(&poller.poll().await).unwrap_or_else(|_| "{}".into());
                *latest.write().await = json.clone();
                let _ = tx.send(json);
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(every) => {}
                }
            }
        })
    };
    let accept_task = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = listener.accept() => match r {
                        Ok(c) => c,
                        Err(e) => { debug!(target: "dashboard", error = %e, "accept"); continue }
                    },
                };
                let (latest, rx, cancel) = (latest.clone(), tx.subscribe(), cancel.clone());
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, latest, rx, cancel).await {
                        debug!(target: "dashboard", %peer, error = %e, "connection ended");
                    }
                });
            }
        })
    };
    info!(target: "dashboard", %addr, "dashboard up");
    Ok(Dashboard { addr, cancel, tasks: vec![poll_task, accept_task] })
}

async fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await
}

/// Closes our side and drains what the client still sends (a second, 64 KiB at most), so that
/// closing with unread input does not reset the connection before the client reads our answer.
async fn linger(mut stream: TcpStream) -> std::io::Result<()> {
    stream.shutdown().await?;
    let mut sink = [0u8; 4096];
    let mut left: usize = 64 * 1024;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
    Ok(())
}

async fn handle(
    mut stream: TcpStream,
    latest: Arc<RwLock<String>>,
    mut rx: broadcast::Receiver<String>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n");
        if end.unwrap_or(buf.len()) > MAX_HEADER {
            respond(&mut stream, "431 Request Header Fields Too Large", "text/plain", "too large").await?;
            return linger(stream).await;
        }
        if end.is_some() {
            break;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "request header"))??;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf).lines().next().unwrap_or_default().to_string();
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return respond(&mut stream, "405 Method Not Allowed", "text/plain", "GET only").await;
    }
    match path.split('?').next().unwrap_or("") {
        "/" | "/index.html" => respond(&mut stream, "200 OK", "text/html; charset=utf-8", INDEX).await,
        "/api/snapshot" => {
            let body = latest.read().await.clone();
            respond(&mut stream, "200 OK", "application/json", &body).await
        }
        "/events" => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\nconnection: keep-alive\r\n\r\n")
                .await?;
            let first = latest.read().await.clone();
            stream.write_all(format!("data: {first}\n\n").as_bytes()).await?;
            loop {
                let json = tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    r = rx.recv() => match r {
                        Ok(j) => j,
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return Ok(()),
                    },
                };
                stream.write_all(format!("data: {json}\n\n").as_bytes()).await?;
                stream.flush().await?;
            }
        }
        _ => respond(&mut stream, "404 Not Found", "text/plain", "not found").await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `request` raw and returns the whole response (the server closes after answering).
    async fn raw(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn serves_the_page_and_snapshots_and_refuses_what_it_does_not_serve() {
        // An L1 that does not answer: the snapshot says so, and everything else still works.
        let sources = Sources { l1: "http://127.0.0.1:1".into(), ..Default::default() };
        let d = serve("127.0.0.1:0".parse().unwrap(), sources, Duration::from_millis(100)).await.unwrap();
        let page = raw(d.addr, b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").await;
        assert!(page.starts_with("HTTP/1.1 200 OK") && page.contains("<title>Aqueduct devnet</title>"));
        assert!(!page.contains("https://") && !page.contains("<script src"), "no CDN, no external script");
        let mut snap = String::new();
        for _ in 0..50 {
            snap = raw(d.addr, b"GET /api/snapshot HTTP/1.1\r\n\r\n").await;
            if snap.contains("\"errors\":[\"L1:") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let body = snap.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(v["errors"][0].as_str().unwrap().starts_with("L1: "), "{v}");
        assert!(v["l2"].is_null() && v["zk"].is_null() && v["channels"].is_null());

        assert!(raw(d.addr, b"POST / HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 405"));
        assert!(raw(d.addr, b"GET /etc/passwd HTTP/1.1\r\n\r\n").await.starts_with("HTTP/1.1 404"));
        let huge = format!("GET / HTTP/1.1\r\nx: {}\r\n\r\n", "a".repeat(MAX_HEADER + 10));
        let r = raw(d.addr, huge.as_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 431"), "{r:?}");
        assert!(raw(d.addr, b"\xff\xfe garbage\r\n\r\n").await.starts_with("HTTP/1.1 405"));

        // Seeded mutations of a valid request: every one gets an HTTP answer, none ends the server.
        let valid = b"GET /api/snapshot HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let mut req = valid.to_vec();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % (req.len() - 4);
                match next() % 3 {
                    0 => req[at] = next() as u8,
                    1 => {
                        req.remove(at);
                    }
                    _ => req.insert(at, next() as u8),
                }
            }
            if !req.ends_with(b"\r\n\r\n") {
                req.extend_from_slice(b"\r\n\r\n");
            }
            let r = raw(d.addr, &req).await;
            assert!(r.starts_with("HTTP/1.1 "), "{:?} got {r:?}", String::from_utf8_lossy(&req));
        }

        // The event stream starts with the latest snapshot and keeps sending.
        let mut s = TcpStream::connect(d.addr).await.unwrap();
        s.write_all(b"GET /events HTTP/1.1\r\n\r\n").await.unwrap();
        let mut got = String::new();
        let mut buf = [0u8; 4096];
        while got.matches("data: {").count() < 2 {
            let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await.unwrap().unwrap();
            assert!(n > 0, "the stream ended: {got}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(got.starts_with("HTTP/1.1 200 OK") && got.contains("content-type: text/event-stream"));
        d.stop().await;
    }
}
