//! Aqueduct's plasma services: the operator (signed payments in over JSON-RPC, child blocks out,
//! roots on L1), the watcher (every block verified; exits and challenges when the operator
//! cheats or withholds), and the L1 calls users make (deposits, exits, challenges, processing).

mod error;
mod l1;
mod operator;
mod rpc;
mod stack;
mod store;
mod wallet;
mod watcher;

pub use error::PlasmaError;
pub use l1::{DepositEvent, ExitEvent, InputInfo, PlasmaL1, PlasmaParams, Sent, deploy_plasma};
pub use operator::{MAX_PENDING, Operator, OperatorConfig, Status};
pub use rpc::{
    Accepted, BlockLoop, BlockView, InclusionView, PlasmaApiClient, PlasmaApiServer, PlasmaService, TxBytes,
    plasma_client, serve_operator,
};
pub use stack::{PlasmaSpec, PlasmaStackError, PlasmaStackOptions, start_plasma_stack};
pub use store::{BlockRecord, DepositRecord, PlasmaStore, StoreError};
pub use wallet::Wallet;
pub use watcher::{WatchReport, Watcher, WatcherConfig};
