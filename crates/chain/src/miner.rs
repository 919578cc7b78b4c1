//! The block producer task: instant (on pending transactions), interval, or manual.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::{chain::Chain, rules::MiningMode};

/// Drives block production for a chain until cancelled.
pub struct Miner;

impl Miner {
    /// Spawns the miner; it stops when `cancel` fires.
    pub fn spawn(chain: Arc<Chain>, cancel: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            match chain.rules().mining {
                MiningMode::Manual => cancel.cancelled().await,
                MiningMode::Instant => loop {
                    // Mine whatever can be included, then wait for more. Transactions that cannot
                    // be included yet (nonce gap, fee cap below the base fee) make no empty blocks.
                    while chain.has_ready_transactions() {
                        if !mine_once(&chain).await {
                            break;
                        }
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = chain.pending_notified() => {}
                        // A dev method (time, balance) may have made a pooled transaction valid.
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                },
                MiningMode::Interval(every) => {
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    tick.tick().await;
                    loop {
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tick.tick() => { mine_once(&chain).await; }
                        }
                    }
                }
            }
        })
    }
}

/// Mines one block off the async runtime; false when nothing was included or mining failed.
async fn mine_once(chain: &Arc<Chain>) -> bool {
    let c = chain.clone();
    match tokio::task::spawn_blocking(move || c.mine()).await {
        Ok(Ok(b)) => !b.txs.is_empty(),
        Ok(Err(e)) => {
            error!(target: "chain::miner", error = %e, "block production failed");
            false
        }
        Err(e) => {
            error!(target: "chain::miner", error = %e, "miner task panicked");
            false
        }
    }
}
