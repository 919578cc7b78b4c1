//! Aqueduct's payment-channel services over the sans-IO core (`aqueduct-channel-protocol`):
//!
//! - [`node`]: the node a party runs — its key, channels, peers over TCP ([`peer`]), journal
//!   ([`journal`]), L1 adjudicator calls ([`l1`]) and L1 watcher ([`watcher`]);
//! - [`rpc`]: the node's control JSON-RPC, which the `aqueduct channel` CLI uses;
//! - [`tower`]: the watchtower service and the client a node hands its states to.

mod error;
pub mod journal;
pub mod l1;
pub mod node;
pub mod peer;
pub mod rpc;
pub mod tower;
pub mod watcher;

pub use aqueduct_channel_protocol::Lifecycle;
pub use error::NodeError;
pub use journal::SyncMode;
pub use l1::{Adjudicator, OnchainRecord, Sent};
pub use node::{ChannelInfo, Node, NodeConfig, PaymentResult};
pub use rpc::{Amount, ChannelApiClient, Invoice, NodeInfo, Paid, control_client};
pub use tower::{TowerApiClient, TowerClient, TowerService, TowerStatus, WatchReply, serve_tower};
