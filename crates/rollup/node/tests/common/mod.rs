//! Helpers shared by the rollup node's end-to-end tests.

use std::time::Duration;

/// Polls `f` every 100 ms until it holds; panics after `secs` seconds naming `what`.
pub async fn until<F: Fn() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, secs: u64, f: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}
