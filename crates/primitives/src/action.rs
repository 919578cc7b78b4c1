//! What a service does after an error (DESIGN D13, in the manner of kona's pipeline errors):
//! every service error says whether to try again, to rewind, or to stop, so one loop
//! (`aqueduct-service`) can apply it everywhere.

/// The next action after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextAction {
    /// Temporary: the cause may pass (an unreachable endpoint, a transaction not yet mined).
    /// Try the same step again after a pause.
    Retry,
    /// What was built on no longer holds (a reorg): rewind to what still does and derive again.
    Reset,
    /// Critical: going on would lose or misstate data (a failed write, a corrupt store, the
    /// anchor gone). Stop the service with a message that says what to do.
    Stop,
}

/// An error that knows its [`NextAction`].
pub trait Classify {
    fn next_action(&self) -> NextAction;
}
