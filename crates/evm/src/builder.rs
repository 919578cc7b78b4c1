//! Executes a block body: deposits first, then given transactions, then the pool. Shared by
//! every rule set; L2 rules add deposits and the L1 data fee.

use alloy::{
    consensus::Transaction,
    eips::{Typed2718, eip2718::Encodable2718},
    primitives::{Address, B256, Bytes, U256},
};
use revm::{
    ExecuteCommitEvm,
    context::{CfgEnv, TxEnv, result::EVMError},
};
use tracing::warn;

use crate::{
    block::{ChainReceipt, ChainTx},
    deposit::{DEPOSIT_TX_TYPE, DepositTx},
    error::ChainError,
    executor::{BlockContext, block_env, build_evm, cfg_env, deposit_env, precompiles_for, tx_env},
    overlay::{BlockHashes, Overlay},
    rules::{ChainRules, L1Prices},
    state::StateView,
};

/// What a block is made of, beyond what the chain decides itself (DESIGN D1). L1 mines from the
/// pool; an L2 sequencer adds deposits; an L2 verifier replays exactly what the batch says.
#[derive(Clone, Debug, Default)]
pub struct BlockAttributes {
    /// The block's timestamp (None: now, at least parent + 1).
    pub timestamp: Option<u64>,
    /// None: derived from the parent hash.
    pub prevrandao: Option<B256>,
    /// Executed first, in order (an L2's system deposit, then L1 deposits).
    pub deposits: Vec<DepositTx>,
    /// Then these signed transactions in order; invalid ones are skipped, the same way everywhere.
    pub transactions: Vec<ChainTx>,
    /// Then transactions from the pool, while gas lasts.
    pub from_pool: bool,
    /// Pool transactions of these senders are left where they are (a censoring sequencer, for
    /// the attack suite and the forced-inclusion tests).
    pub exclude_senders: Vec<Address>,
    /// L1 prices the L1 data fee is charged at (L2 rules only).
    pub l1_prices: L1Prices,
    pub extra_data: Bytes,
    /// A check every pool transaction passes before it runs (an L2 sequencer's check of the
    /// messages of other rollups a transaction consumes).
    pub gate: Option<TxGate>,
}

/// What a [`TxGate`] says about one pool transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Pass,
    /// Not in this block; it stays in the pool.
    Later,
    /// Never: it leaves the pool, with why.
    Drop(String),
}

/// A check on pool transactions, run while the block is built (so it must be quick and must not
/// touch this chain).
#[derive(Clone)]
pub struct TxGate(pub std::sync::Arc<dyn Fn(&ChainTx) -> Gate + Send + Sync>);

impl std::fmt::Debug for TxGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TxGate")
    }
}

/// Why a transaction was left out.
#[derive(Debug)]
pub enum Skip {
    /// Does not fit the block's gas or blob space now; may fit a later block.
    Full,
    /// Can never be executed in this state (bad nonce, no funds…).
    Invalid(String),
}

type Evm<'o, 'a, S, H> = revm::handler::MainnetEvm<
    revm::context::Context<
        revm::context::BlockEnv,
        revm::context::TxEnv,
        revm::context::CfgEnv,
        &'o mut Overlay<'a, S, H>,
    >,
>;

/// Runs transactions one by one over an overlay, collecting receipts.
pub struct BodyExecutor<'r, 'o, 'a, S: StateView + ?Sized, H: BlockHashes + ?Sized> {
    pub evm: Evm<'o, 'a, S, H>,
    pub rules: &'r ChainRules,
    pub l1_prices: L1Prices,
    pub blob_fee: u128,
    pub max_blob_gas: u64,
    pub gas_used: u64,
    pub blob_gas_used: u64,
    pub included: Vec<ChainTx>,
    pub receipts: Vec<ChainReceipt>,
}

impl<'r, 'o, 'a, S: StateView + ?Sized, H: BlockHashes + ?Sized> BodyExecutor<'r, 'o, 'a, S, H> {
    /// An executor for the block `ctx` over `overlay`: the one the chain builds blocks with and
    /// stateless re-execution replays them with.
    pub fn new(
        rules: &'r ChainRules,
        overlay: &'o mut Overlay<'a, S, H>,
        ctx: &BlockContext,
        l1_prices: L1Prices,
    ) -> Self {
        let evm = build_evm(rules, precompiles_for(rules), overlay, cfg_env(rules), block_env(rules, ctx));
        Self {
            evm,
            rules,
            l1_prices,
            blob_fee: rules.blob_base_fee(ctx.excess_blob_gas),
            max_blob_gas: rules.blob_params.map(|p| p.max_blob_gas_per_block()).unwrap_or(0),
            gas_used: 0,
            blob_gas_used: 0,
            included: Vec::new(),
            receipts: Vec::new(),
        }
    }

    fn db(&mut self) -> &mut Overlay<'a, S, H> {
        self.evm.ctx.journaled_state.database
    }

    fn nonce_of(&mut self, a: Address) -> Result<u64, ChainError> {
        Ok(self.db().account_of(&a).map_err(state_err)?.map(|a| a.nonce).unwrap_or(0))
    }

    /// A deposit always lands: minted value stays even when the call fails.
    pub fn apply_deposit(&mut self, d: DepositTx) -> Result<(), ChainError> {
        let nonce = self.nonce_of(d.from)?;
        if d.mint > 0 {
            self.db().set_account(d.from, |a| a.balance += U256::from(d.mint)).map_err(state_err)?;
        }
        let cfg = &mut self.evm.ctx.cfg;
        (cfg.disable_nonce_check, cfg.disable_base_fee, cfg.disable_eip3607) = (true, true, true);
        let result = self.evm.transact_commit(deposit_env(&d, nonce));
        let cfg = &mut self.evm.ctx.cfg;
        (cfg.disable_nonce_check, cfg.disable_base_fee, cfg.disable_eip3607) = (false, false, false);
        let (status, gas, logs) = match result {
            Ok(r) => (r.is_success(), r.tx_gas_used(), r.into_logs()),
            Err(EVMError::Transaction(e)) => {
                // Unexecutable (e.g. value above balance): a failed deposit that used its gas.
                warn!(target: "chain::builder", source = %d.source_hash, error = %e, "deposit failed validation");
                self.db().set_account(d.from, |a| a.nonce += 1).map_err(state_err)?;
                (false, d.gas_limit, Vec::new())
            }
            Err(e) => return Err(ChainError::Execution(Box::new(e))),
        };
        self.gas_used += gas;
        let mut receipt = ChainReceipt::new(DEPOSIT_TX_TYPE, status, self.gas_used, logs);
        receipt.deposit_nonce = Some(nonce);
        self.receipts.push(receipt);
        self.included.push(ChainTx::deposit(d));
        Ok(())
    }

    /// What step `d` runs with, for re-running it under a tracer: the environments after what
    /// [`Self::apply_deposit`] does before execution (the mint credited; no nonce, fee or
    /// code-sender check).
    pub fn prepare_deposit(&mut self, d: &DepositTx) -> Result<(CfgEnv, TxEnv), ChainError> {
        let nonce = self.nonce_of(d.from)?;
        if d.mint > 0 {
            self.db().set_account(d.from, |a| a.balance += U256::from(d.mint)).map_err(state_err)?;
        }
        let mut cfg = self.evm.ctx.cfg.clone();
        (cfg.disable_nonce_check, cfg.disable_base_fee, cfg.disable_eip3607) = (true, true, true);
        Ok((cfg, deposit_env(d, nonce)))
    }

    /// As [`Self::prepare_deposit`] for a user transaction: on an L2, its L1 data fee taken.
    pub fn prepare_tx(&mut self, tx: &ChainTx) -> Result<(CfgEnv, TxEnv), ChainError> {
        if let Some(l2) = &self.rules.l2 {
            let fee = l2.l1_fee(tx.envelope.encode_2718_len(), self.l1_prices);
            if let Some(why) = self.charge_l1_fee(tx, fee, l2.l1_fee_vault)? {
                return Err(ChainError::InvalidParams(format!("transaction {} cannot run: {why}", tx.hash)));
            }
        }
        Ok((self.evm.ctx.cfg.clone(), tx_env(tx)))
    }

    /// Executes a signed transaction, or says why it was left out.
    pub fn apply_tx(&mut self, tx: &ChainTx) -> Result<Result<(), Skip>, ChainError> {
        if tx.envelope.is_deposit() {
            return Ok(Err(Skip::Invalid("deposits come only from L1".into())));
        }
        if self.gas_used + tx.envelope.gas_limit() > self.rules.gas_limit {
            return Ok(Err(Skip::Full));
        }
        let blob_gas = tx.blob_count() * 131_072;
        if blob_gas > 0 {
            if self.blob_gas_used + blob_gas > self.max_blob_gas {
                return Ok(Err(Skip::Full));
            }
            if tx.envelope.max_fee_per_blob_gas().unwrap_or(0) < self.blob_fee {
                return Ok(Err(Skip::Invalid("blob fee cap below the blob base fee".into())));
            }
        }
        let l1_fee = match &self.rules.l2 {
            Some(l2) => {
                let fee = l2.l1_fee(tx.envelope.encode_2718_len(), self.l1_prices);
                if let Some(reason) = self.charge_l1_fee(tx, fee, l2.l1_fee_vault)? {
                    return Ok(Err(Skip::Invalid(reason)));
                }
                Some((fee, l2.l1_fee_vault))
            }
            None => None,
        };
        match self.evm.transact_commit(tx_env(tx)) {
            Ok(result) => {
                self.gas_used += result.tx_gas_used();
                self.blob_gas_used += blob_gas;
                let mut receipt =
                    ChainReceipt::new(tx.envelope.ty(), result.is_success(), self.gas_used, result.into_logs());
                receipt.l1_fee = l1_fee.map(|(f, _)| f);
                self.receipts.push(receipt);
                self.included.push(tx.clone());
                Ok(Ok(()))
            }
            Err(EVMError::Transaction(e)) => {
                if let Some((fee, vault)) = l1_fee {
                    self.refund_l1_fee(tx.sender, fee, vault)?;
                }
                Ok(Err(Skip::Invalid(e.to_string())))
            }
            Err(e) => Err(ChainError::Execution(Box::new(e))),
        }
    }

    /// Takes the L1 data fee up front, after checking the sender can pay everything. Returns why
    /// the transaction is invalid, if it is.
    fn charge_l1_fee(&mut self, tx: &ChainTx, fee: u128, vault: Address) -> Result<Option<String>, ChainError> {
        let acc = self.db().account_of(&tx.sender).map_err(state_err)?.unwrap_or_default();
        if tx.nonce() != acc.nonce {
            return Ok(Some(format!("nonce {} but the account is at {}", tx.nonce(), acc.nonce)));
        }
        let e = &tx.envelope;
        let cost = U256::from(e.gas_limit()) * U256::from(e.max_fee_per_gas()) + e.value() + U256::from(fee);
        if acc.balance < cost {
            return Ok(Some(format!(
                "insufficient funds for gas * price + value + L1 fee: have {} want {cost}",
                acc.balance
            )));
        }
        let fee = U256::from(fee);
        self.db().set_account(tx.sender, |a| a.balance -= fee).map_err(state_err)?;
        self.db().set_account(vault, |a| a.balance += fee).map_err(state_err)?;
        Ok(None)
    }

    fn refund_l1_fee(&mut self, sender: Address, fee: u128, vault: Address) -> Result<(), ChainError> {
        let fee = U256::from(fee);
        self.db().set_account(vault, |a| a.balance -= fee).map_err(state_err)?;
        self.db().set_account(sender, |a| a.balance += fee).map_err(state_err)
    }
}

fn state_err(e: crate::overlay::StateError) -> ChainError {
    ChainError::State(e)
}
