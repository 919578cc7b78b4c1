//! How every long-running service in Aqueduct runs (DESIGN D13): a [`Service`] does one step at a
//! time; [`run`] repeats it until cancelled and applies each error's [`NextAction`] — retry after
//! a pause that grows while the error lasts, reset (the service rewinds), or stop: the shared
//! [`Halt`] records why and every part that watches it stops too (the devnet exits non-zero with
//! that message). One shutdown mechanism: cancellation tokens.

use std::{
    fmt::Display,
    future::Future,
    sync::{Arc, OnceLock},
    time::Duration,
};

pub use aqueduct_primitives::{Classify, NextAction};
pub use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// A stop signal with its reason: cancelled once, by the first critical error; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Halt {
    token: CancellationToken,
    why: Arc<OnceLock<String>>,
}

impl Halt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops: records `why` (the first reason wins) and cancels the token. Returns the reason kept.
    pub fn halt(&self, why: impl Into<String>) -> &str {
        let kept = self.why.get_or_init(|| why.into());
        self.token.cancel();
        kept
    }

    /// Why it stopped, once it has.
    pub fn why(&self) -> Option<&str> {
        self.why.get().map(String::as_str)
    }

    pub fn is_halted(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Cancelled when it stops.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Completes when it stops.
    pub async fn halted(&self) {
        self.token.cancelled().await
    }
}

/// Whether a step found work (then the next runs at once) or nothing to do (then the loop waits
/// its poll interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Busy,
    Idle,
}

/// A long-running service, one step at a time.
pub trait Service: Send {
    type Error: Classify + Display + Send;

    /// Named in logs and in the reason a halt gives.
    fn name(&self) -> &'static str;

    /// One round of work.
    fn step(&mut self) -> impl Future<Output = Result<Progress, Self::Error>> + Send;

    /// Rewinds to what still holds after an error that asks for a [`NextAction::Reset`].
    fn reset(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        async { Ok(()) }
    }
}

/// Longest pause between retries of an error that lasts.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// Runs `service` until `cancel` is cancelled or `halt` stops (by this service or another that
/// shares it). Returns the reason when this service stopped it.
pub async fn run<S: Service>(mut service: S, poll: Duration, cancel: CancellationToken, halt: Halt) -> Option<String> {
    let name = service.name();
    info!(target: "aqueduct::service", service = name, "running");
    let mut failures = 0u32;
    loop {
        let pause = match service.step().await {
            Ok(p) => {
                failures = 0;
                if p == Progress::Busy { Duration::ZERO } else { poll }
            }
            Err(e) => match e.next_action() {
                NextAction::Retry => {
                    failures = failures.saturating_add(1);
                    let pause = poll.saturating_mul(1 << failures.min(6)).min(MAX_RETRY_PAUSE).max(poll);
                    warn!(target: "aqueduct::service", service = name, error = %e, failures, ?pause, "retrying");
                    pause
                }
                NextAction::Reset => {
                    warn!(target: "aqueduct::service", service = name, error = %e, "resetting");
                    match service.reset().await {
                        Ok(()) => Duration::ZERO,
                        Err(e) => return Some(stop(name, &e, &halt)),
                    }
                }
                NextAction::Stop => return Some(stop(name, &e, &halt)),
            },
        };
        tokio::select! {
            _ = cancel.cancelled() => return None,
            _ = halt.halted() => return None,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

fn stop(name: &str, e: &impl Display, halt: &Halt) -> String {
    let why = format!("{name} stopped: {e}");
    error!(target: "aqueduct::service", service = name, error = %e, "stopping");
    halt.halt(why.clone());
    why
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Debug)]
    struct Fail(NextAction);

    impl Display for Fail {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "failed ({:?})", self.0)
        }
    }

    impl Classify for Fail {
        fn next_action(&self) -> NextAction {
            self.0
        }
    }

    /// Fails with the scripted actions in turn, then idles; counts steps and resets.
    struct Scripted {
        script: Vec<NextAction>,
        steps: Arc<AtomicUsize>,
        resets: Arc<AtomicUsize>,
    }

    impl Service for Scripted {
        type Error = Fail;

        fn name(&self) -> &'static str {
            "scripted"
        }

        async fn step(&mut self) -> Result<Progress, Fail> {
            self.steps.fetch_add(1, Ordering::SeqCst);
            if self.script.is_empty() { Ok(Progress::Idle) } else { Err(Fail(self.script.remove(0))) }
        }

        async fn reset(&mut self) -> Result<(), Fail> {
            self.resets.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn scripted(script: Vec<NextAction>) -> (Scripted, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (steps, resets) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        (Scripted { script, steps: steps.clone(), resets: resets.clone() }, steps, resets)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_and_resets_go_on_and_a_stop_halts_everyone_with_the_reason() {
        use NextAction::*;
        let (s, steps, resets) = scripted(vec![Retry, Retry, Reset, Stop]);
        let halt = Halt::new();
        let why = run(s, Duration::from_millis(10), CancellationToken::new(), halt.clone()).await;
        assert_eq!(why.as_deref(), Some("scripted stopped: failed (Stop)"));
        assert_eq!(steps.load(Ordering::SeqCst), 4, "every error but the stop was followed by another step");
        assert_eq!(resets.load(Ordering::SeqCst), 1);
        assert!(halt.is_halted());
        assert_eq!(halt.why(), Some("scripted stopped: failed (Stop)"));
        // A second reason does not replace the first.
        assert_eq!(halt.halt("later"), "scripted stopped: failed (Stop)");
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_and_another_services_halt_end_the_loop_without_a_reason() {
        let (s, steps, _) = scripted(vec![]);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(s, Duration::from_millis(10), cancel.clone(), Halt::new()));
        tokio::time::sleep(Duration::from_millis(55)).await;
        cancel.cancel();
        assert_eq!(task.await.unwrap(), None);
        let n = steps.load(Ordering::SeqCst);
        assert!((5..=7).contains(&n), "an idle service steps once per poll: {n}");

        let (s, _, _) = scripted(vec![]);
        let halt = Halt::new();
        let task = tokio::spawn(run(s, Duration::from_millis(10), CancellationToken::new(), halt.clone()));
        halt.halt("the sequencer stopped");
        assert_eq!(task.await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lasting_error_is_retried_with_a_growing_pause() {
        let (s, steps, _) = scripted(vec![NextAction::Retry; 10]);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(s, Duration::from_millis(100), cancel.clone(), Halt::new()));
        // Pauses 200, 400, 800, 1600 ms, …: after 3.1 s four steps have run, not 31.
        tokio::time::sleep(Duration::from_millis(3_100)).await;
        cancel.cancel();
        task.await.unwrap();
        assert_eq!(steps.load(Ordering::SeqCst), 5);
    }
}
