//! Calls and gas estimates against a block's state, without committing.

use super::*;

impl Chain {
    /// Executes a call against the state after block `r` without committing it.
    pub fn call(&self, call: &CallArgs, r: BlockRef) -> Result<revm::context::result::ExecutionResult, ChainError> {
        let inner = self.inner.lock();
        let n = self.resolve(&inner, r).ok_or(ChainError::UnknownBlock)?;
        let header = inner.blocks[n as usize].header.clone();
        if n + 1 == inner.blocks.len() as u64 {
            self.call_on(&inner.state, inner.hashes.as_slice(), &header, call)
        } else {
            self.call_on(&inner.state.at_root(header.state_root), inner.hashes.as_slice(), &header, call)
        }
    }

    pub(super) fn call_on<S: StateView + ?Sized>(
        &self,
        state: &S,
        hashes: &[B256],
        header: &Header,
        call: &CallArgs,
    ) -> Result<revm::context::result::ExecutionResult, ChainError> {
        let mut overlay = Overlay::new(state, hashes);
        (call.overrides)(&mut overlay)?;
        let (cfg, block, tx) = self.call_env(header, call);
        let mut evm = build_evm(&self.rules, self.precompiles, &mut overlay, cfg, block);
        let caller = tx.caller;
        revm::ExecuteEvm::transact(&mut evm, tx).map(|r| r.result).map_err(|e| call_error(caller, e))
    }

    /// The environments a call at `header`'s state runs in: no nonce or chain id check, no base
    /// fee for an unpriced call, the block's gas limit when the call names none or more.
    pub(super) fn call_env(&self, header: &Header, call: &CallArgs) -> (CfgEnv, BlockEnv, TxEnv) {
        let priced = call.tx.gas_price > 0;
        let ctx = BlockContext {
            number: header.number,
            timestamp: header.timestamp,
            beneficiary: header.beneficiary,
            gas_limit: header.gas_limit,
            base_fee: if priced { header.base_fee_per_gas.unwrap_or_default() } else { 0 },
            prevrandao: header.mix_hash,
            excess_blob_gas: header.excess_blob_gas.unwrap_or_default(),
        };
        let mut cfg = cfg_env(&self.rules);
        cfg.disable_nonce_check = true;
        cfg.tx_chain_id_check = false;
        let mut tx = call.tx.clone();
        if tx.gas_limit == 0 || tx.gas_limit > header.gas_limit {
            tx.gas_limit = header.gas_limit;
        }
        (cfg, block_env(&self.rules, &ctx), tx)
    }

    /// Smallest gas limit with which the call succeeds (binary search, as geth does).
    pub fn estimate_gas(&self, call: &CallArgs, r: BlockRef) -> Result<u64, ChainError> {
        let cap =
            if call.tx.gas_limit > 0 { call.tx.gas_limit.min(self.rules.gas_limit) } else { self.rules.gas_limit };
        let run = |gas: u64| {
            let mut c = call.clone();
            c.tx.gas_limit = gas;
            self.call(&c, r)
        };
        let first = run(cap)?;
        let used = match first {
            revm::context::result::ExecutionResult::Success { .. } => first.tx_gas_used(),
            revm::context::result::ExecutionResult::Revert { output, .. } => {
                return Err(revert_error(output));
            }
            revm::context::result::ExecutionResult::Halt { reason, .. } => {
                return Err(ChainError::Halted(format!("{reason:?}")));
            }
        };
        let ok = |gas: u64| matches!(run(gas), Ok(r) if r.is_success());
        // Most calls succeed with what they used plus the 63/64 reserve; try that first.
        let guess = (used + used / 63 + 2_300).min(cap);
        if ok(used) {
            return Ok(used);
        }
        // Invariant: `lo` fails, `hi` succeeds.
        let (mut lo, mut hi) = (used, cap);
        if ok(guess) {
            hi = guess;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if ok(mid) { hi = mid } else { lo = mid }
        }
        Ok(hi)
    }
}
