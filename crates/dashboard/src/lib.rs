//! The devnet's live dashboard (`aqueduct devnet`, 127.0.0.1:8080): every component is read over
//! its own JSON-RPC — L1, the optimistic sequencer and verifier, the rollup's L1 contracts and
//! dispute games, the ZK operator and its contract, a validium's committee members, payment-channel
//! nodes and their adjudicator, the plasma operator and its contract — once a second into a [`Snapshot`], served as one page (assets
//! embedded, no CDN) that updates over server-sent events (`/events`); `/api/snapshot` answers the
//! same JSON.

mod channels;
mod optimistic;
mod plasma;
mod server;
mod snapshot;
mod zk;

pub use channels::{ChannelView, ChannelsView, NodeView};
pub use optimistic::{BatchView, GameView, L2View, OutputView, RollupAddrs};
pub use plasma::PlasmaView;
pub use server::{Dashboard, serve};
pub use snapshot::{ChainView, Poller, Snapshot, Sources, WithdrawalView};
pub use zk::{MemberView, ZkView};
