//! The EXECUTE precompile (DESIGN D6, in the spirit of EIP-8079 "native rollups"): the embedded
//! L1 (which installs it through `ChainRules::extra_precompiles`, knowing nothing of rollups) re-executes one step of an L2 block statelessly, with the very executor the L2 nodes run,
//! so a fault proof's last move costs one call instead of an on-chain EVM interpreter.
//!
//! Input and output are ABI-encoded as `contracts/src/fault/IExecute.sol` declares (bound from its
//! artifact, so the two cannot drift); a refusal is
//! a revert carrying one of its custom errors, never a halt, so callers can tell why.

use crate::evidence::{
    DeriveEvidence, DeriveRules, EvidenceError, L1Records, RecordWindow, config_of, derive_proven, kind,
};
use alloy::{
    primitives::{Address, B256, Bytes, U256, address},
    sol_types::{SolCall, SolError, SolInterface, SolValue},
};
use aqueduct_evm::{ChainRules, L2Rules, StatelessError, StepBlock, Witness, build_stateless, call_stateless};
use revm::precompile::{Precompile, PrecompileHalt, PrecompileId, PrecompileOutput, PrecompileResult};

pub use aqueduct_contracts::rollup::IExecute;

pub use IExecute::{executeStepCall, staticCallCall};

/// Where the precompile lives on the embedded L1.
pub const EXECUTE_ADDRESS: Address = address!("0x0000000000000000000000000000000000000a00");

/// Fixed cost of a call.
const BASE_GAS: u64 = 50_000;
/// Per blob whose KZG commitment a derivation proof computes (EIP-4844's point evaluation costs
/// 50,000 for comparable work).
const PER_BLOB_GAS: u64 = 50_000;
/// Per byte of block and witness decoded, hashed and checked.
const PER_BYTE_GAS: u64 = 12;

/// The precompile, for [`ChainRules::extra_precompiles`].
pub fn execute_precompile() -> Precompile {
    Precompile::new(PrecompileId::custom("EXECUTE"), EXECUTE_ADDRESS, run)
}

/// `abi.encode(L2Rules)` for an L2 with these parameters.
pub fn encode_rules(chain_id: u64, gas_limit: u64, l2: &L2Rules) -> Bytes {
    aqueduct_contracts::rollup::step_verifier::IExecute::L2Rules {
        chainId: chain_id,
        gasLimit: gas_limit,
        l1FeeVault: l2.l1_fee_vault,
        compressionPpm: l2.compression_ppm,
        minL1Bytes: l2.min_l1_bytes,
        baseFeeScalar: l2.base_fee_scalar,
        blobBaseFeeScalar: l2.blob_base_fee_scalar,
    }
    .abi_encode()
    .into()
}

fn decode_rules(raw: &[u8]) -> Result<ChainRules, Refusal> {
    let r = aqueduct_contracts::rollup::step_verifier::IExecute::L2Rules::abi_decode(raw)
        .map_err(|e| Refusal::malformed(format!("rules: {e}")))?;
    if r.gasLimit < 21_000 {
        return Err(Refusal::malformed(format!("rules: gas limit {} is below one transfer", r.gasLimit)));
    }
    let l2 = L2Rules {
        l1_fee_vault: r.l1FeeVault,
        compression_ppm: r.compressionPpm,
        min_l1_bytes: r.minL1Bytes,
        base_fee_scalar: r.baseFeeScalar,
        blob_base_fee_scalar: r.blobBaseFeeScalar,
    };
    Ok(l2_execution_rules(r.chainId, r.gasLimit, l2))
}

/// The execution rules of an Aqueduct rollup: the L2 rule set with EXECUTE installed too, so a
/// rollup settling on this one (an L3) can end its fault proofs here as an L2 does on L1. Every
/// node and every re-execution of the rollup's blocks use these same rules.
pub fn l2_execution_rules(chain_id: u64, gas_limit: u64, l2: L2Rules) -> ChainRules {
    let mut rules = ChainRules::l2_execution(chain_id, gas_limit, l2);
    rules.extra_precompiles = vec![execute_precompile()];
    rules
}

/// Why a call was refused: the revert data it returns.
struct Refusal(Bytes);

impl Refusal {
    fn malformed(reason: String) -> Self {
        Self(IExecute::MalformedInput { reason }.abi_encode().into())
    }
}

impl From<EvidenceError> for Refusal {
    fn from(e: EvidenceError) -> Self {
        Self(IExecute::BadEvidence { reason: e.to_string() }.abi_encode().into())
    }
}

impl From<StatelessError> for Refusal {
    fn from(e: StatelessError) -> Self {
        let reason = e.to_string();
        Self(
            match e {
                StatelessError::Malformed(_) => IExecute::MalformedInput { reason }.abi_encode(),
                StatelessError::Block(_) | StatelessError::NotExecutable { .. } | StatelessError::Chain(_) => {
                    IExecute::BadBlock { reason }.abi_encode()
                }
                StatelessError::BadWitness(_) | StatelessError::Trie(_) => IExecute::BadWitness { reason }.abi_encode(),
            }
            .into(),
        )
    }
}

fn run(input: &[u8], gas_limit: u64, reservoir: u64) -> PrecompileResult {
    let upfront = BASE_GAS.saturating_add(PER_BYTE_GAS.saturating_mul(input.len() as u64));
    if upfront > gas_limit {
        return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
    }
    match dispatch(input) {
        Ok((out, exec_gas)) => {
            let gas = upfront.saturating_add(exec_gas);
            if gas > gas_limit {
                return Ok(PrecompileOutput::halt(PrecompileHalt::OutOfGas, reservoir));
            }
            Ok(PrecompileOutput::new(gas, out, reservoir))
        }
        Err(Refusal(data)) => Ok(PrecompileOutput::revert(upfront, data, reservoir)),
    }
}

/// Runs a call; returns its ABI-encoded answer and the L2 gas the execution used.
fn dispatch(input: &[u8]) -> Result<(Bytes, u64), Refusal> {
    let call = IExecute::IExecuteCalls::abi_decode(input).map_err(|e| Refusal::malformed(format!("call: {e}")))?;
    match call {
        IExecute::IExecuteCalls::blockInfo(c) => {
            decode_rules(&c.rules)?;
            let block = StepBlock::decode(&c.blockData)?;
            let steps = block.txs.len() as u64;
            let ret = (block.hash(), U256::from(block.header.number), U256::from(steps)).abi_encode_params();
            Ok((ret.into(), 0))
        }
        IExecute::IExecuteCalls::executeStep(c) => {
            let rules = decode_rules(&c.rules)?;
            let block = StepBlock::decode(&c.blockData)?;
            let witness = Witness::decode(&c.witness)?;
            let step =
                u64::try_from(c.step).map_err(|_| Refusal::malformed(format!("step {} is too large", c.step)))?;
            let out = block.execute_step(&rules, c.preRoot, &witness, step)?;
            let ret = (out.post_root, out.block_hash, U256::from(out.steps)).abi_encode_params();
            Ok((ret.into(), out.gas_used))
        }
        IExecute::IExecuteCalls::staticCall(c) => {
            let rules = decode_rules(&c.rules)?;
            let witness = Witness::decode(&c.witness)?;
            let (data, gas) = call_stateless(&rules, c.stateRoot, &witness, c.to, c.data)?;
            Ok((staticCallCall::abi_encode_returns(&data).into(), gas))
        }
        IExecute::IExecuteCalls::deriveBlock(c) => derive_block(c),
    }
}

/// `deriveBlock`: the L2 block L1's data and the agreed parent make.
fn derive_block(c: IExecute::deriveBlockCall) -> Result<(Bytes, u64), Refusal> {
    let rules = decode_rules(&c.rules)?;
    let derive =
        DeriveRules::abi_decode(&c.deriveRules).map_err(|e| Refusal::malformed(format!("derive rules: {e}")))?;
    let (cfg, beneficiary) = config_of(&derive, rules.chain_id)?;
    let input = c.input;
    let mut raw = input.parentHeader.as_ref();
    let parent = <alloy::consensus::Header as alloy::rlp::Decodable>::decode(&mut raw)
        .map_err(|e| Refusal::malformed(format!("parent header: {e}")))?;
    if !raw.is_empty() {
        return Err(Refusal::malformed("parent header: trailing bytes".into()));
    }
    let evidence = DeriveEvidence::decode(&input.evidence)?;
    let window = |r: &IExecute::Records| -> Result<RecordWindow, Refusal> {
        let n = |v: U256| u64::try_from(v).map_err(|_| Refusal::malformed(format!("record index {v}")));
        Ok(RecordWindow { from: n(r.from)?, to: n(r.to)?, total: n(r.total)?, records: r.records.clone() })
    };
    let records = L1Records {
        anchor: (input.anchor, input.anchorHash),
        batches: window(&input.batches)?,
        forced: window(&input.forced)?,
        deposits: window(&input.deposits)?,
    };
    let blobs: u64 = evidence
        .batches
        .items
        .iter()
        .map(|i| match i.kind {
            kind::BLOB_PAYLOAD => crate::payload_blobs(&i.data).len() as u64,
            kind::RAW_BLOBS => (i.data.len() / alloy::eips::eip4844::BYTES_PER_BLOB) as u64,
            _ => 0,
        })
        .sum();
    let derived = derive_proven(&cfg, &parent, &records, &evidence)?;
    let attrs = derived.attributes(&rules);
    let witness = Witness::decode(&input.witness)?;
    let (header, _) = build_stateless(&rules, &parent, beneficiary, &witness, &attrs)?;
    let ret = (header.hash_slow(), parent.hash_slow(), header.state_root).abi_encode_params();
    Ok((ret.into(), header.gas_used.saturating_add(blobs.saturating_mul(PER_BLOB_GAS))))
}

/// The answer to `executeStep`, decoded.
pub fn decode_step_return(raw: &[u8]) -> Option<(B256, B256, U256)> {
    let r = executeStepCall::abi_decode_returns(raw).ok()?;
    Some((r.postRoot, r.blockHash, r.steps))
}
