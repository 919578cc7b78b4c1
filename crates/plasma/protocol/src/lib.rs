//! The plasma chain's core, sans-IO (D10): what a payment is and how it is signed, encoded and
//! committed in a block, which payments are valid against the UTXO set, and the exit-game rules
//! a watcher follows. Everything here mirrors `contracts/src/plasma` exactly: a transaction's
//! bytes, its EIP-712 digest, its leaf and a block's root are the ones the contract computes.

mod ledger;
mod tree;
mod tx;
mod watch;

pub use ledger::{Ledger, LedgerError, Utxo};
pub use tree::{BlockTree, DEPTH, MAX_TXS, verify_inclusion};
pub use tx::{
    BLOCK_INTERVAL, Domain, MAX_INPUTS, MAX_OUTPUTS, Output, Payment, Position, PositionError, SignedTx, TxError,
    output_id,
};
pub use watch::{Alarm, Challenge, ExitPlan, InFlightPlan, Included, WatchState};
