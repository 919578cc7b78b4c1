//! Seeded workloads of signed transfers.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_contracts::AqueductToken;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::plan::Plan;

/// What share of the transfers are ERC-20 transfers.
#[derive(Clone, Copy, Debug)]
pub struct TxKindMix {
    pub erc20_share: f64,
}

#[derive(Clone, Debug)]
pub struct WorkloadSpec {
    pub seed: u64,
    pub accounts: usize,
    pub txs: usize,
    pub mix: TxKindMix,
    pub chain_id: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

/// A generated workload: funded senders and their signed transactions, in per-sender nonce order.
pub struct Workload {
    pub senders: Vec<PrivateKeySigner>,
    /// Per sender: raw signed transactions with their expected gas kind (true = ERC-20).
    pub txs: Vec<Vec<(Bytes, alloy::primitives::B256, bool)>>,
}

/// Gas limits used by the generator.
pub const ETH_TRANSFER_GAS: u64 = 21_000;
pub const ERC20_TRANSFER_GAS: u64 = 70_000;

impl Workload {
    /// Deterministic for a seed: the same keys, recipients, amounts and kinds every time.
    pub fn generate(spec: &WorkloadSpec, token: Address) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(spec.seed);
        let senders: Vec<PrivateKeySigner> = (0..spec.accounts)
            .map(|_| {
                loop {
                    let bytes: [u8; 32] = rng.random();
                    if let Ok(s) = PrivateKeySigner::from_slice(&bytes) {
                        break s;
                    }
                }
            })
            .collect();
        let mut txs: Vec<Vec<_>> = vec![Vec::new(); spec.accounts];
        for i in 0..spec.txs {
            let s = i % spec.accounts;
            let nonce = txs[s].len() as u64;
            let to = Address::from(rng.random::<[u8; 20]>());
            let erc20 = rng.random_bool(spec.mix.erc20_share.clamp(0.0, 1.0));
            let mut tx = if erc20 {
                let data =
                    AqueductToken::transferCall { to, value: U256::from(rng.random_range(1..1000u64)) }.abi_encode();
                TxEip1559 {
                    chain_id: spec.chain_id,
                    nonce,
                    gas_limit: ERC20_TRANSFER_GAS,
                    max_fee_per_gas: spec.max_fee_per_gas,
                    max_priority_fee_per_gas: spec.max_priority_fee_per_gas,
                    to: TxKind::Call(token),
                    value: U256::ZERO,
                    input: data.into(),
                    access_list: Default::default(),
                }
            } else {
                TxEip1559 {
                    chain_id: spec.chain_id,
                    nonce,
                    gas_limit: ETH_TRANSFER_GAS,
                    max_fee_per_gas: spec.max_fee_per_gas,
                    max_priority_fee_per_gas: spec.max_priority_fee_per_gas,
                    to: TxKind::Call(to),
                    value: U256::from(rng.random_range(1..1_000_000u64)),
                    input: Bytes::new(),
                    access_list: Default::default(),
                }
            };
            let env = sign(&senders[s], &mut tx);
            txs[s].push((env.encoded_2718().into(), *env.tx_hash(), erc20));
        }
        Self { senders, txs }
    }

    /// The plan's transfers as signed EVM transactions: user `i` is [`Plan::signer`]`(i)`, ERC-20
    /// transfers call `token`. Deterministic for a plan.
    pub fn from_plan(plan: &Plan, spec: &WorkloadSpec, token: Address) -> Self {
        let senders: Vec<PrivateKeySigner> = (0..plan.users).map(|i| plan.signer(i)).collect();
        let mut txs: Vec<Vec<_>> = vec![Vec::new(); plan.users];
        for t in &plan.transfers {
            let nonce = txs[t.from].len() as u64;
            let to = senders[t.to].address();
            let value = U256::from(t.amount());
            let (target, value, input, gas_limit) = if t.erc20 {
                let data = AqueductToken::transferCall { to, value }.abi_encode();
                (token, U256::ZERO, data.into(), ERC20_TRANSFER_GAS)
            } else {
                (to, value, Bytes::new(), ETH_TRANSFER_GAS)
            };
            let mut tx = TxEip1559 {
                chain_id: spec.chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: spec.max_fee_per_gas,
                max_priority_fee_per_gas: spec.max_priority_fee_per_gas,
                to: TxKind::Call(target),
                value,
                input,
                access_list: Default::default(),
            };
            let env = sign(&senders[t.from], &mut tx);
            txs[t.from].push((env.encoded_2718().into(), *env.tx_hash(), t.erc20));
        }
        Self { senders, txs }
    }

    pub fn len(&self) -> usize {
        self.txs.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Signs an EIP-1559 transaction.
pub fn sign(signer: &PrivateKeySigner, tx: &mut TxEip1559) -> TxEnvelope {
    let sig = signer.sign_transaction_sync(tx).expect("local signing cannot fail");
    tx.clone().into_signed(sig).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> WorkloadSpec {
        WorkloadSpec {
            seed,
            accounts: 4,
            txs: 20,
            mix: TxKindMix { erc20_share: 0.5 },
            chain_id: 1,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
        }
    }

    #[test]
    fn same_seed_same_workload() {
        let a = Workload::generate(&spec(1), Address::ZERO);
        let b = Workload::generate(&spec(1), Address::ZERO);
        let c = Workload::generate(&spec(2), Address::ZERO);
        assert_eq!(a.len(), 20);
        assert_eq!(a.txs, b.txs);
        assert_ne!(a.txs, c.txs);
        assert!(a.txs.iter().flatten().any(|t| t.2) && a.txs.iter().flatten().any(|t| !t.2));
    }
}
