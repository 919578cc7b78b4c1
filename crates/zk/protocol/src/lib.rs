#![doc = include_str!("../README.md")]

mod account;
pub mod blob;
mod commitment;
mod eddsa;
pub mod fe;
mod op;
mod poseidon;
mod replay;
mod state;
mod tree;

pub use account::{Account, TreeShape, address_to_field, empty_leaf, leaf};
pub use blob::BlobFr;
pub use commitment::{BlockCommitment, INPUT_BITS, RECORD_BYTES, data_hash, records};
pub use eddsa::{PubkeyBytes, PublicKey, SecretKey, Signature, SignatureBytes, challenge, field_from_be};
pub use op::{
    Amount32, CHUNK_BYTES, Chunk, OnchainOp, Op, OpKind, PriorityOp, PubdataLength, SignedTx, chunks_from_pubdata,
    field_to_u128, pubdata, tx_message,
};
pub use poseidon::{Poseidon, hash2, hash4};
pub use state::{
    AccountWitness, BlockWitness, OpError, SlotWitness, UnsignedTx, ZkState, change_key, deposit, full_exit,
};
pub use tree::{ARITY, MerklePath, QuadTree, hash_children, place};

/// BN254's scalar field: the field of the circuit, of Poseidon and of Baby Jubjub's coordinates.
pub type F = ark_bn254::Fr;
/// Baby Jubjub's scalar field (the order of its prime subgroup).
pub type Scalar = ark_ed_on_bn254::Fr;
