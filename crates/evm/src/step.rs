//! One step of a block — one deposit or one transaction — re-executed from the state root
//! before it, with the block it belongs to as evidence: what a fault proof's last move runs (on
//! L1 through the EXECUTE precompile) and what the node runs to prepare that move.
//!
//! The block travels whole, as `rlp([header, [tx…]])`: its hash binds it to an output root, its
//! transactions root binds the transactions to the header, and its step count bounds the game.

use alloy::{
    consensus::{Header, proofs::ordered_trie_root_with_encoder, transaction::SignerRecoverable},
    eips::{Decodable2718, Encodable2718},
    primitives::{B256, Bytes},
};
use alloy_rlp::{Decodable, Encodable};

use crate::{
    block::ChainTx,
    rules::ChainRules,
    stateless::{Malformed, StatelessError, Witness, execute_stateless, input_of},
    tx::TxBody,
};

/// A block as a step proof carries it.
#[derive(Clone, Debug)]
pub struct StepBlock {
    pub header: Header,
    pub txs: Vec<ChainTx>,
}

/// What one step gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    pub post_root: B256,
    pub block_hash: B256,
    /// Steps in the block (deposits and transactions).
    pub steps: u64,
    pub gas_used: u64,
}

impl StepBlock {
    pub fn new(header: Header, txs: Vec<ChainTx>) -> Self {
        Self { header, txs }
    }

    pub fn hash(&self) -> B256 {
        self.header.hash_slow()
    }

    /// `rlp([header, [tx…]])`, each transaction in its EIP-2718 form.
    pub fn encode(&self) -> Vec<u8> {
        let txs: Vec<Bytes> = self.txs.iter().map(|t| t.envelope.encoded_2718().into()).collect();
        let mut out = Vec::new();
        alloy_rlp::Header { list: true, payload_length: self.header.length() + txs.length() }.encode(&mut out);
        self.header.encode(&mut out);
        txs.encode(&mut out);
        out
    }

    /// Reads [`Self::encode`]'s format, recovers each sender and checks the transactions
    /// against the header's transactions root.
    pub fn decode(mut raw: &[u8]) -> Result<Self, StatelessError> {
        let bad = |source| StatelessError::from(Malformed::Rlp { what: "block", source });
        crate::stateless::one_list(&mut raw, "block")?;
        let header = Header::decode(&mut raw).map_err(bad)?;
        let raw_txs = Vec::<Bytes>::decode(&mut raw).map_err(bad)?;
        if !raw.is_empty() {
            return Err(Malformed::Trailing("block").into());
        }
        let mut txs = Vec::with_capacity(raw_txs.len());
        for (i, r) in raw_txs.iter().enumerate() {
            let body =
                TxBody::decode_2718(&mut r.as_ref()).map_err(|source| Malformed::Transaction { index: i, source })?;
            let sender = match &body {
                TxBody::Deposit(d) => d.from,
                TxBody::Ethereum(e) => {
                    e.recover_signer().map_err(|source| Malformed::Signature { index: i, source })?
                }
            };
            let hash = body.hash();
            txs.push(ChainTx { envelope: body, sender, hash });
        }
        let root = ordered_trie_root_with_encoder(&txs, |t: &ChainTx, buf| t.envelope.encode_2718(buf));
        if root != header.transactions_root {
            return Err(StatelessError::Block(format!(
                "transactions root {root} differs from the header's {}",
                header.transactions_root
            )));
        }
        Ok(Self { header, txs })
    }

    /// Re-executes step `k` over the state with root `pre_root`, reading only `witness`.
    pub fn execute_step(
        &self,
        rules: &ChainRules,
        pre_root: B256,
        witness: &Witness,
        k: u64,
    ) -> Result<StepOutcome, StatelessError> {
        let input = input_of(rules, &self.header, &self.txs);
        let steps = input.step_count() as u64;
        let one = usize::try_from(k)
            .ok()
            .and_then(|k| input.step(k))
            .ok_or_else(|| StatelessError::Block(format!("step {k} of a block with {steps} steps")))?;
        let out = execute_stateless(rules, pre_root, witness, one)?;
        Ok(StepOutcome { post_root: out.post_root, block_hash: self.hash(), steps, gas_used: out.gas_used })
    }
}
