//! Progress on the waits a user would otherwise sit through in silence: a spinner with the time
//! spent on a terminal, and a line at the start and the end in any case (logs, CI, pipes).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One long step.
pub struct Step {
    bar: ProgressBar,
    what: String,
    started: Instant,
}

/// Starts a step; `what` is said as it starts ("deploying the rollup contracts on L1").
pub fn step(what: &str) -> Step {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let bar = if terminal {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"));
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        eprintln!("{what}…");
        ProgressBar::hidden()
    };
    Step { bar, what: what.to_string(), started: Instant::now() }
}

impl Step {
    /// What the step waits for now (an ETA, a block number).
    pub fn set(&self, now: impl Into<String>) {
        self.bar.set_message(format!("{}: {}", self.what, now.into()));
    }

    /// Ends the step, saying how long it took.
    pub fn done(self) {
        self.bar.finish_and_clear();
        eprintln!("{}: done in {:.1} s", self.what, self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
