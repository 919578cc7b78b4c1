//! The fast bridge's core, sans-IO (DESIGN D10): what contracts/src/bridge decides, mirrored so
//! that a relayer proposes only bundles the hub cannot refute and a watcher finds the entry to
//! refute in anyone else's, plus the fee model a relayer quotes from.
//!
//! - [`relay`]: a deposit's [`RelayData`] and its hash (its leaf and the key of its fill).
//! - [`bundle`]: [`expected`] — what a bundle proposed at a given time must pay for one deposit
//!   (`HubPool.expected`); the next honest bundle; the first wrong entry of a proposed one; the
//!   bundle and deposit trees.
//! - [`fee`]: the relayer's fee: destination gas, capital for the repayment window, and a
//!   utilisation premium on Across's rate curve.

pub mod bundle;
pub mod fee;
pub mod relay;

pub use bundle::{BundleTree, FillState, deposit_tree, expected, first_wrong, next_bundle};
pub use fee::{FeeModel, Quote, RateCurve};
pub use relay::{Entry, RelayData, entry_leaf, from_spoke, outcome, relay_hash};
