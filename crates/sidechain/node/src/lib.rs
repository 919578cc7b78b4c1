//! A sidechain validator (DESIGN D9): consensus by commonware's simplex between validator
//! processes, the shared chain engine executing what they finalize (D1), L1 deposits minted and
//! checkpoints signed, gathered and posted to `SidechainBridge`.
//!
//! ```text
//!  consensus thread (commonware tokio runtime)          validator's tokio runtime
//!  ┌──────────────────────────────────────────┐        ┌─────────────────────────────┐
//!  │ simplex engine ◄─ votes, certificates ─► │        │ Ethereum JSON-RPC + sidechain_*
//!  │      │ propose / verify / finalized      │        │ L1 duties: deposits, validator
//!  │      ▼                                   │ Shared │   set, checkpoints to L1      │
//!  │ App: bodies (persisted before votes),    │◄──────►│                             │
//!  │  fetch, tx gossip, execution, checkpoint │        └─────────────────────────────┘
//!  │  signatures                              │
//!  └──────────────────────────────────────────┘
//! ```

mod app;
mod checkpoints;
pub mod consensus;
mod deploy;
pub mod engine;
mod error;
pub mod l1;
mod local;
pub mod rpc;
mod shared;
mod spec;
mod store;
mod validator;
pub mod wire;

pub use app::{AppNet, Channel};
pub use checkpoints::{checkpoint_at, withdrawals_in};
pub use deploy::{Layout, deploy_sidechain};
pub use error::NodeError;
pub use local::{LocalSidechain, start_local_sidechain};
pub use shared::{Progress, Shared};
pub use spec::{FEE_VAULT, SidechainSpec, ValidatorInfo, ValidatorKeys, consensus_key};
pub use store::SideStore;
pub use validator::{Validator, ValidatorOptions, start_validator};
