//! Transactions and calls re-run under an inspector: `debug_traceTransaction`,
//! `debug_traceCall` (geth's tracers — struct logs, `callTracer`, `prestateTracer`,
//! `4byteTracer`, … — through revm-inspectors) and `eth_createAccessList`.

use alloy::{
    consensus::Header,
    eips::eip2930::AccessList,
    primitives::B256,
    rpc::types::trace::geth::{GethDebugTracingOptions, GethTrace},
};
use revm::{
    InspectEvm,
    context::{BlockEnv, CfgEnv, TxEnv},
};
use revm_inspectors::{
    access_list::AccessListInspector,
    tracing::{DebugInspector, TransactionContext},
};

use super::{BlockRef, CallArgs, Chain, call_error};
use crate::{
    builder::BodyExecutor,
    error::ChainError,
    executor::{block_env, build_inspecting_evm},
    overlay::{BlockHashes, Overlay},
    state::StateView,
};

/// Struct logs a default (opcode) trace keeps when the request sets no `limit`. geth keeps all,
/// but one entry with its stack is some hundreds of bytes: a 30M-gas transaction's full log
/// would take gigabytes of one node's memory on one request.
pub const STRUCT_LOG_LIMIT: u64 = 100_000;

/// What `eth_createAccessList` answers.
#[derive(Clone, Debug)]
pub struct AccessListResult {
    pub access_list: AccessList,
    /// Gas the call uses with the list.
    pub gas_used: u64,
    /// Why the call reverted or halted, if it did (the list is still what it touched).
    pub error: Option<String>,
}

fn tracer_error(e: impl std::fmt::Display) -> ChainError {
    ChainError::InvalidParams(format!("tracer: {e}"))
}

impl Chain {
    /// `debug_traceTransaction`: block `n`'s steps before the transaction re-run over its parent's
    /// state, then the transaction under the tracer `opts` names. `None` for an unknown hash.
    pub fn trace_transaction(
        &self,
        hash: B256,
        opts: GethDebugTracingOptions,
    ) -> Result<Option<GethTrace>, ChainError> {
        let mut inspector = DebugInspector::new(bounded(opts)).map_err(tracer_error)?;
        let inner = self.inner.lock();
        let Some(&(n, i)) = inner.tx_index.get(&hash) else { return Ok(None) };
        let (block, pre_root) = Self::transition(&inner, n)?;
        let input = crate::stateless_input(&self.rules, &block);
        let state = inner.state.at_root(pre_root);
        let mut overlay = Overlay::new(&state, inner.hashes.as_slice());
        let deposits = input.deposits.len();
        let (cfg, tx) = {
            let prices = input.l1_prices.as_in_header();
            let mut exec = BodyExecutor::new(&self.rules, &mut overlay, &input.ctx, prices);
            for d in input.deposits.iter().take(i) {
                exec.apply_deposit(d.clone())?;
            }
            for t in input.transactions.iter().take(i.saturating_sub(deposits)) {
                exec.apply_tx(t)?.map_err(|skip| {
                    ChainError::Internal(format!("block {n}: transaction {} no longer runs: {skip:?}", t.hash))
                })?;
            }
            match input.deposits.get(i) {
                Some(d) => exec.prepare_deposit(d)?,
                None => exec.prepare_tx(&input.transactions[i - deposits])?,
            }
        };
        let context = TransactionContext { block_hash: Some(block.hash), tx_index: Some(i), tx_hash: Some(hash) };
        let block = block_env(&self.rules, &input.ctx);
        self.traced(&mut overlay, cfg, block, tx, &mut inspector, Some(context)).map(Some)
    }

    /// `debug_traceCall`: the call as `eth_call` runs it, under the tracer `opts` names.
    pub fn trace_call(
        &self,
        call: &CallArgs,
        r: BlockRef,
        opts: GethDebugTracingOptions,
    ) -> Result<GethTrace, ChainError> {
        let mut inspector = DebugInspector::new(bounded(opts)).map_err(tracer_error)?;
        self.at_call_state(call, r, |this, overlay, header| {
            let (cfg, block, tx) = this.call_env(header, call);
            this.traced(overlay, cfg, block, tx, &mut inspector, None)
        })
    }

    /// `eth_createAccessList`: the accounts and slots the call touches (not its sender, its
    /// target or precompiles, as geth leaves them out), and the gas it uses with that list.
    pub fn create_access_list(&self, call: &CallArgs, r: BlockRef) -> Result<AccessListResult, ChainError> {
        self.at_call_state(call, r, |this, overlay, header| {
            let (cfg, block, mut tx) = this.call_env(header, call);
            let caller = tx.caller;
            let mut inspector = AccessListInspector::new(tx.access_list.clone());
            {
                let mut evm = build_inspecting_evm(
                    &this.rules,
                    this.precompiles,
                    &mut *overlay,
                    cfg.clone(),
                    block.clone(),
                    &mut inspector,
                );
                evm.inspect_tx(tx.clone()).map_err(|e| call_error(caller, e))?;
            }
            tx.access_list = inspector.into_access_list();
            let access_list = tx.access_list.clone();
            let mut evm = crate::executor::build_evm(&this.rules, this.precompiles, &mut *overlay, cfg, block);
            let result = revm::ExecuteEvm::transact(&mut evm, tx).map_err(|e| call_error(caller, e))?.result;
            let error = match &result {
                revm::context::result::ExecutionResult::Success { .. } => None,
                revm::context::result::ExecutionResult::Revert { output, .. } => {
                    Some(super::revert_error(output.clone()).to_string())
                }
                revm::context::result::ExecutionResult::Halt { reason, .. } => Some(format!("{reason:?}")),
            };
            Ok(AccessListResult { access_list, gas_used: result.tx_gas_used(), error })
        })
    }

    /// Runs `f` over the state a call at `r` sees, with the call's overrides applied (without
    /// the chain's lock, as [`Chain::call`] does).
    fn at_call_state<T>(
        &self,
        call: &CallArgs,
        r: BlockRef,
        f: impl FnOnce(&Self, &mut Overlay<'_, dyn StateView + '_, dyn BlockHashes + '_>, &Header) -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        match self.call_state(r)? {
            super::call::CallState::Unlocked { header, hashes, reads } => {
                let mut overlay: Overlay<'_, dyn StateView, dyn BlockHashes> = Overlay::new(&reads, &hashes);
                (call.overrides)(&mut overlay)?;
                f(self, &mut overlay, &header)
            }
            super::call::CallState::DevChanges => {
                let inner = self.inner.lock();
                let header = inner.blocks.last().expect("a chain always has its genesis block").header.clone();
                let hashes = super::call::recent_hashes(&inner, header.number);
                let mut overlay: Overlay<'_, dyn StateView, dyn BlockHashes> = Overlay::new(&inner.state, &hashes);
                (call.overrides)(&mut overlay)?;
                f(self, &mut overlay, &header)
            }
        }
    }

    /// Runs `tx` under `inspector` without committing, and builds its trace.
    fn traced<S: StateView + ?Sized, H: BlockHashes + ?Sized>(
        &self,
        overlay: &mut Overlay<'_, S, H>,
        cfg: CfgEnv,
        block: BlockEnv,
        tx: TxEnv,
        inspector: &mut DebugInspector,
        context: Option<TransactionContext>,
    ) -> Result<GethTrace, ChainError> {
        let result = {
            let mut evm =
                build_inspecting_evm(&self.rules, self.precompiles, &mut *overlay, cfg, block.clone(), &mut *inspector);
            evm.inspect_tx(tx.clone()).map_err(|e| call_error(tx.caller, e))?
        };
        inspector.get_result(context, &tx, &block, &result, overlay).map_err(tracer_error)
    }
}

/// The options with a struct-log limit when they set none.
fn bounded(mut opts: GethDebugTracingOptions) -> GethDebugTracingOptions {
    if opts.config.limit.is_none_or(|l| l == 0) {
        opts.config.limit = Some(STRUCT_LOG_LIMIT);
    }
    opts
}
