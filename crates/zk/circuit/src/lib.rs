#![doc = include_str!("../README.md")]

mod bits;
mod blob;
mod block;
mod curve;
pub mod evm;
mod path;
mod poseidon;
mod prover;
pub mod sha256;
mod slot;

pub use block::BlockCircuit;
pub use curve::PointVar;
pub use prover::{CIRCUIT_VERSION, CircuitParams, Prover, ProverError, check_satisfied, default_onchain_slots};
pub use slot::BALANCE_BITS;

pub use ark_bn254::Bn254;
pub use ark_groth16::{Proof, VerifyingKey};
pub use ark_std::rand::{SeedableRng, rngs::StdRng};
