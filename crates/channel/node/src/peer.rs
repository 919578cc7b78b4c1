//! Peer connections: the handshake, then frames in and out.
//!
//! Handshake: both sides send `Hello` (their address, chain, adjudicator, a fresh nonce and
//! their fee policy), then `Auth`, a signature over the other side's nonce and their own address,
//! which proves they hold the key of the address they named. A node refuses a peer on another
//! chain or adjudicator. After the handshake each side sends `Reestablish` with its latest state
//! of every channel they share, and resends its pending proposals.
//!
//! Frames that do not decode get an `Error` reply and the connection is closed. Messages that
//! decode but are wrong (forged signatures, replays, overspends) are refused one by one.

use std::{sync::Arc, time::Duration};

use alloy::primitives::{Address, B256};
use aqueduct_channel_protocol::{
    Message,
    wire::{Hello, MAX_FRAME, auth_digest, frame_len},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, tcp::OwnedReadHalf},
    sync::{mpsc, oneshot},
};
use tracing::{debug, info, warn};

use aqueduct_channel_protocol::Outbox;

use crate::node::Node;

/// Sends frames to one connected peer.
#[derive(Clone, Debug)]
pub struct PeerHandle {
    pub tx: mpsc::UnboundedSender<Vec<u8>>,
    pub conn: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid frame: {0}")]
    Wire(#[from] aqueduct_channel_protocol::WireError),
    #[error("handshake: {0}")]
    Handshake(String),
    #[error("the connection closed")]
    Closed,
}

/// Reads whole frames from a socket, a batch at a time.
struct FrameReader {
    r: OwnedReadHalf,
    buf: Vec<u8>,
}

impl FrameReader {
    /// Waits for at least one frame, then returns every complete frame already received.
    async fn batch(&mut self, max: usize) -> Result<Vec<Message>, PeerError> {
        loop {
            let mut out = Vec::new();
            let mut at = 0;
            while out.len() < max && self.buf.len() - at >= 4 {
                let len = frame_len(self.buf[at..at + 4].try_into().expect("4 bytes"))?;
                if self.buf.len() - at - 4 < len {
                    break;
                }
                out.push(Message::decode(&self.buf[at + 4..at + 4 + len])?);
                at += 4 + len;
            }
            self.buf.drain(..at);
            if !out.is_empty() {
                return Ok(out);
            }
            self.buf.reserve(MAX_FRAME.min(64 * 1024));
            if self.r.read_buf(&mut self.buf).await? == 0 {
                return Err(PeerError::Closed);
            }
        }
    }

    async fn one(&mut self) -> Result<Message, PeerError> {
        let mut v = self.batch(1).await?;
        Ok(v.remove(0))
    }
}

/// Runs a connection until it fails or closes. `dialed` is the address we dialed, if we did;
/// `ready` hears the peer's address once the handshake has registered it.
pub async fn run(
    node: Arc<Node>,
    stream: TcpStream,
    dialed: Option<String>,
    ready: Option<oneshot::Sender<Address>>,
) -> Result<Address, PeerError> {
    stream.set_nodelay(true)?;
    let (r, mut w) = stream.into_split();
    let mut reader = FrameReader { r, buf: Vec::with_capacity(64 * 1024) };
    let nonce = B256::from(rand::random::<[u8; 32]>());
    let me = node.address();
    let hello =
        Hello { node: me, chain_id: node.domain.chain_id, adjudicator: node.domain.adjudicator, nonce, fee: node.fee };
    w.write_all(&Message::Hello(hello).encode()).await?;
    let handshake = tokio::time::timeout(Duration::from_secs(10), async {
        let theirs = match reader.one().await? {
            Message::Hello(h) => h,
            m => return Err(PeerError::Handshake(format!("expected hello, got {}", m.name()))),
        };
        if theirs.chain_id != node.domain.chain_id || theirs.adjudicator != node.domain.adjudicator {
            return Err(PeerError::Handshake(format!(
                "peer is on chain {} adjudicator {}, we are on {} {}",
                theirs.chain_id, theirs.adjudicator, node.domain.chain_id, node.domain.adjudicator
            )));
        }
        if theirs.node == me {
            return Err(PeerError::Handshake("connected to ourselves".into()));
        }
        let sig = node.signer().sign(&auth_digest(&theirs.nonce, me));
        w.write_all(&Message::Auth(sig).encode()).await?;
        match reader.one().await? {
            Message::Auth(sig) if sig.recover(&auth_digest(&nonce, theirs.node)) == Some(theirs.node) => Ok(theirs),
            Message::Auth(_) => Err(PeerError::Handshake(format!("authentication failed for {}", theirs.node))),
            m => Err(PeerError::Handshake(format!("expected auth, got {}", m.name()))),
        }
    })
    .await;
    let theirs = match handshake {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            let _ = w.write_all(&Message::Error(e.to_string()).encode()).await;
            return Err(e);
        }
        Err(_) => return Err(PeerError::Handshake("timed out".into())),
    };
    let peer = theirs.node;
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let conn = node.register(peer, theirs.fee, PeerHandle { tx: tx.clone(), conn: 0 }, dialed);
    info!(target: "aqueduct::channel", %peer, "peer connected");
    if let Some(ready) = ready {
        let _ = ready.send(peer);
    }
    let writer = tokio::spawn(async move {
        let mut buf = Vec::with_capacity(64 * 1024);
        while let Some(frame) = rx.recv().await {
            buf.clear();
            buf.extend_from_slice(&frame);
            while let Ok(f) = rx.try_recv() {
                buf.extend_from_slice(&f);
            }
            if w.write_all(&buf).await.is_err() {
                break;
            }
        }
        let _ = w.shutdown().await;
    });
    node.reestablish(peer);
    let result = loop {
        let batch = tokio::select! {
            _ = node.cancelled() => break Ok(peer),
            b = reader.batch(1024) => b,
        };
        match batch {
            Ok(msgs) => {
                let mut ob = Outbox::default();
                node.handle(peer, msgs, &mut ob);
            }
            Err(PeerError::Closed) => break Ok(peer),
            Err(e @ PeerError::Wire(_)) => {
                warn!(target: "aqueduct::channel", %peer, error = %e, "closing the connection");
                let _ = tx.send(Message::Error(e.to_string()).encode());
                break Err(e);
            }
            Err(e) => break Err(e),
        }
    };
    node.unregister(peer, conn);
    drop(tx);
    // The writer ends once every queued frame (an error reply included) is written.
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
    debug!(target: "aqueduct::channel", %peer, "peer disconnected");
    result
}
