//! The application side of commonware's simplex (D9): consensus asks to propose and verify
//! payloads (a body's digest), to broadcast them, and reports what it certified, finalized and
//! the evidence of Byzantine votes. All of it goes to the [`crate::app::App`] actor as messages.

use commonware_actor::Feedback;
use commonware_consensus::{
    Automaton, CertifiableAutomaton, Relay, Reporter, Viewable,
    simplex::{Plan, types::Activity, types::Context},
};
use commonware_utils::channel::oneshot;
use futures::channel::mpsc;

pub type Scheme = commonware_consensus::simplex::scheme::ed25519::Scheme;
pub type PublicKey = commonware_cryptography::ed25519::PublicKey;
pub type Digest = commonware_cryptography::sha256::Digest;
pub type Ctx = Context<Digest, PublicKey>;

/// p2p channels: consensus' three, then the application's.
pub const CH_VOTES: u64 = 0;
pub const CH_CERTIFICATES: u64 = 1;
pub const CH_RESOLVER: u64 = 2;
/// Full bodies, sent by their proposer.
pub const CH_BODIES: u64 = 3;
/// Requests for bodies a validator lacks, and the answers.
pub const CH_FETCH: u64 = 4;
/// Checkpoint signatures.
pub const CH_CHECKPOINTS: u64 = 5;
/// Transactions passed on from each validator's pool.
pub const CH_TXS: u64 = 6;

/// Consensus' namespace (signatures of one sidechain never count for another's).
pub fn namespace(chain_id: u64) -> Vec<u8> {
    format!("aqueduct-sidechain-{chain_id}").into_bytes()
}

pub fn to_digest(b: alloy::primitives::B256) -> Digest {
    commonware_cryptography::sha256::Digest(b.0)
}

pub fn from_digest(d: &Digest) -> alloy::primitives::B256 {
    alloy::primitives::B256::from(d.0)
}

/// What consensus asks of, or tells, the application.
pub enum Message {
    Propose { context: Ctx, response: oneshot::Sender<Digest> },
    Verify { context: Ctx, payload: Digest, response: oneshot::Sender<bool> },
    Broadcast { payload: Digest, to: Option<Vec<PublicKey>> },
    Finalized { view: u64, payload: Digest },
    Evidence { view: u64, what: String },
}

/// Consensus' handle on the application.
#[derive(Clone)]
pub struct Mailbox {
    sender: mpsc::UnboundedSender<Message>,
}

impl Mailbox {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Message>) {
        let (sender, receiver) = mpsc::unbounded();
        (Self { sender }, receiver)
    }

    fn send(&self, m: Message) -> Feedback {
        match self.sender.unbounded_send(m) {
            Ok(()) => Feedback::Ok,
            // The application stopped (shutting down): consensus' request goes unanswered.
            Err(_) => Feedback::Closed,
        }
    }
}

impl Automaton for Mailbox {
    type Context = Ctx;
    type Digest = Digest;

    async fn propose(&mut self, context: Ctx) -> oneshot::Receiver<Digest> {
        let (response, receiver) = oneshot::channel();
        let _ = self.send(Message::Propose { context, response });
        receiver
    }

    async fn verify(&mut self, context: Ctx, payload: Digest) -> oneshot::Receiver<bool> {
        let (response, receiver) = oneshot::channel();
        let _ = self.send(Message::Verify { context, payload, response });
        receiver
    }
}

/// Every notarized body is certified (bodies are checked in full before the notarize vote).
impl CertifiableAutomaton for Mailbox {}

impl Relay for Mailbox {
    type Digest = Digest;
    type PublicKey = PublicKey;
    type Plan = Plan<PublicKey>;

    fn broadcast(&mut self, payload: Digest, plan: Plan<PublicKey>) -> Feedback {
        let to = match plan {
            Plan::Prepare { .. } | Plan::Propose { .. } => None,
            Plan::Forward { recipients, .. } => match recipients {
                commonware_p2p::Recipients::All => None,
                commonware_p2p::Recipients::Some(v) => Some(v),
                commonware_p2p::Recipients::One(p) => Some(vec![p]),
            },
        };
        self.send(Message::Broadcast { payload, to })
    }
}

impl Reporter for Mailbox {
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        let view = activity.view().get();
        match activity {
            Activity::Finalization(f) => self.send(Message::Finalized { view, payload: f.proposal.payload }),
            Activity::ConflictingNotarize(e) => {
                self.send(Message::Evidence { view, what: format!("conflicting notarize votes: {e:?}") })
            }
            Activity::ConflictingFinalize(e) => {
                self.send(Message::Evidence { view, what: format!("conflicting finalize votes: {e:?}") })
            }
            Activity::NullifyFinalize(e) => {
                self.send(Message::Evidence { view, what: format!("nullify and finalize in one view: {e:?}") })
            }
            _ => Feedback::Ok,
        }
    }
}
