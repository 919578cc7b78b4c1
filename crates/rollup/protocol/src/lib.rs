#![doc = include_str!("../README.md")]

mod batch;
mod blobs;
mod channel;
mod compress;
mod config;
mod deposit;
mod derive;
pub mod dispute;
pub mod evidence;
mod execute;
mod frame;
pub mod interop;
mod output;

pub use batch::{Batch, BatchError};
pub use blobs::{blobs_payload, payload_blobs, payload_sidecar, versioned_hashes};
pub use channel::{ChannelAssembler, ChannelBuilder, ChannelError, ChannelOut};
pub use compress::{CompressError, Compressor};
pub use config::{Predeploys, RollupConfig};
pub use deposit::{
    DepositError, L1Origin, apply_alias, deposit_from_event, deposit_from_log, l1_info_deposit, l1_info_from_deposit,
    undo_alias, user_deposit_source,
};
pub use derive::{DeriveError, DerivedBlock, ForcedPolicy, L1BlockData, Pipeline, SafeHead, decode_meta, encode_meta};
pub use execute::{
    EXECUTE_ADDRESS, IExecute, decode_step_return, encode_rules, execute_precompile, l2_execution_rules,
};
pub use frame::{DERIVATION_VERSION, Frame, FrameError, MAX_FRAME_DATA, decode_frames, encode_frames};
pub use output::{MessageTree, OutputRoot, TREE_DEPTH, Withdrawal};
