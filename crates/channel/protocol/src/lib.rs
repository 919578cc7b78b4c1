//! Payment channels, sans-IO (the LDK way): this crate holds no sockets, threads, clocks or
//! disks. The caller feeds it messages and the time, persists what it returns before sending the
//! replies it returns, and does the L1 calls.
//!
//! - [`state`]: channel states and HTLCs exactly as the L1 adjudicator checks them, and the
//!   digests both parties sign;
//! - [`signer`]: secp256k1 keys and `ecrecover`-compatible signatures;
//! - [`channel`]: one channel's update protocol (propose, countersign, acknowledge, conflicts,
//!   reconnects, cooperative close);
//! - [`manager`]: every channel of a node: payments batched per channel, HTLCs forwarded and
//!   paired, invoices; handlers fill an [`Outbox`] the driver persists, then sends;
//! - [`wire`]: the binary frames peers exchange over TCP;
//! - [`route`]: route finding over the channel graph by capacity and fee;
//! - [`watch`]: what a party or its watchtower must do on L1 when a channel closes.

pub mod channel;
pub mod manager;
pub mod route;
pub mod state;
pub mod watch;
pub mod wire;

pub use aqueduct_primitives::{Signature, Signer};
pub use channel::{Ack, Change, Channel, ChannelError, CloseSig, FailReason, Hop, Proposal, Received, Reject, Update};
pub use manager::{ChannelRecord, L1Task, Lifecycle, Manager, Outbox, PaymentError, Record, Waiter};
pub use route::{Edge, Graph, RouteError};
pub use state::{ChannelState, Domain, Htlc, MAX_AMOUNT, MAX_HTLCS, Side, SignedState, close_digest, lock_hash};
pub use watch::{OnchainChannel, WatchAction, watch};
pub use wire::{FeePolicy, Hello, Message, WireError};
