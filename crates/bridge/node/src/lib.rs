#![doc = include_str!("../README.md")]

mod chains;
mod deploy;
mod error;
mod relayer;
pub mod router;
mod spec;

pub use chains::{Delivery, Hub, ProposedBundle, Spoke};
pub use deploy::{DeployParams, deploy};
pub use error::FastBridgeError;
pub use relayer::{Relayer, RelayerConfig, RelayerStats};
pub use spec::BridgeSpec;
