//! Transactions in: decoding, the pool's checks, impersonation.

use super::*;

impl Chain {
    /// `eth_sendRawTransaction`: decodes, validates and pools a signed transaction.
    pub fn send_raw(&self, raw: &[u8]) -> Result<B256, TxError> {
        let (env, sender) = Self::decode_raw(raw, &self.rules)?;
        self.submit(env, sender)
    }

    /// Decodes a signed transaction and recovers its sender, as `eth_sendRawTransaction` does
    /// (an L2 node uses it for the transactions of batches and the forced queue).
    pub fn decode_raw_tx(&self, raw: &[u8]) -> Result<ChainTx, TxError> {
        let (env, sender) = Self::decode_raw(raw, &self.rules)?;
        Ok(ChainTx::new(env, sender))
    }

    /// Decodes a signed transaction under `rules` and recovers its sender (no state checks).
    pub fn decode_raw_tx_for(rules: &ChainRules, raw: &[u8]) -> Result<ChainTx, TxError> {
        let (env, sender) = Self::decode_raw(raw, rules)?;
        Ok(ChainTx::new(env, sender))
    }

    pub(super) fn decode_raw(raw: &[u8], rules: &ChainRules) -> Result<(TxEnvelope, Address), TxError> {
        aqueduct_evm::decode_raw_tx(rules, raw)
    }

    /// Pools a transaction whose sender is known (signed here for a dev account, or impersonated).
    pub fn submit(&self, env: TxEnvelope, sender: Address) -> Result<B256, TxError> {
        if let Some(why) = self.halt.why() {
            return Err(TxError::Stopped(why.to_string()));
        }
        let hash = self.submit_locked(&mut self.inner.lock(), env, sender)?;
        debug!(target: "chain::pool", %hash, %sender, "accepted");
        self.pending.notify_one();
        Ok(hash)
    }

    pub(super) fn submit_locked(&self, inner: &mut Inner, env: TxEnvelope, sender: Address) -> Result<B256, TxError> {
        let ty = env.ty();
        if !self.rules.tx_types.accepts(ty) {
            return Err(TxError::TypeNotSupported);
        }
        let (env, sidecar) = match env {
            TxEnvelope::Eip4844(signed) => {
                let (tx, sig, hash) = signed.into_parts();
                let (tx, sidecar) = tx.strip_sidecar();
                (TxEnvelope::Eip4844(alloy::consensus::Signed::new_unchecked(tx, sig, hash)), sidecar)
            }
            other => (other, None),
        };
        let body_len = alloy::eips::eip2718::Encodable2718::encode_2718_len(&env);
        if body_len > self.rules.pool.max_tx_bytes {
            return Err(TxError::Oversized { size: body_len, limit: self.rules.pool.max_tx_bytes });
        }
        if let Some(id) = env.chain_id()
            && id != self.rules.chain_id
        {
            return Err(TxError::ChainId { expected: self.rules.chain_id, got: id });
        }
        let needed = intrinsic_gas(&env);
        if env.gas_limit() < needed {
            return Err(TxError::IntrinsicGas { gas: env.gas_limit(), needed });
        }
        if env.gas_limit() > self.rules.gas_limit {
            return Err(TxError::GasLimit { gas: env.gas_limit(), limit: self.rules.gas_limit });
        }
        if let Some(tip) = env.max_priority_fee_per_gas()
            && ty >= 2
            && tip > env.max_fee_per_gas()
        {
            return Err(TxError::TipAboveFeeCap);
        }
        let (base_fee, blob_fee) = self.fees_after(&inner.blocks.last().expect("genesis").header);
        if env.max_fee_per_gas() < base_fee as u128 {
            return Err(TxError::FeeCapTooLow { max_fee: env.max_fee_per_gas(), base_fee });
        }
        let mut cost = U256::from(env.gas_limit()) * U256::from(env.max_fee_per_gas()) + env.value();
        if ty == 3 {
            let hashes = env.blob_versioned_hashes().unwrap_or_default();
            let sidecar = sidecar.as_ref().ok_or(TxError::MissingSidecar)?;
            let max = self.rules.blob_params.map(|p| p.max_blobs_per_tx).unwrap_or(0);
            if hashes.is_empty() || hashes.len() as u64 > max {
                return Err(TxError::BlobCount { count: hashes.len(), max });
            }
            sidecar.validate(hashes, EnvKzgSettings::Default.get())?;
            let max_blob_fee = env.max_fee_per_blob_gas().unwrap_or_default();
            if max_blob_fee < blob_fee {
                return Err(TxError::BlobFeeCapTooLow { max_fee: max_blob_fee, blob_fee });
            }
            cost += U256::from(hashes.len() as u64 * 131_072) * U256::from(max_blob_fee);
        }
        let tx = ChainTx::new(env, sender);
        let hash = tx.hash;
        {
            let acc = inner.state.account(&sender).ok().flatten().unwrap_or_default();
            if tx.nonce() < acc.nonce {
                return Err(TxError::NonceTooLow { tx: tx.nonce(), state: acc.nonce });
            }
            if acc.balance < cost {
                return Err(TxError::InsufficientFunds { address: sender, have: acc.balance, want: cost });
            }
            let bytes = body_len + sidecar.as_ref().map_or(0, |s| s.blobs().len() * 131_072);
            let now = now_secs();
            let Inner { pool, state, sidecars, last_expiry, .. } = inner;
            let nonce_of = |a: &Address| state.account(a).ok().flatten().map(|a| a.nonce).unwrap_or(0);
            if now >= *last_expiry + 60 {
                *last_expiry = now;
                for h in pool.expire(now, nonce_of) {
                    debug!(target: "chain::pool", hash = %h, "queued transaction expired");
                    sidecars.remove(&h);
                }
            }
            for old in pool.insert(tx, acc.nonce, bytes, now, nonce_of)? {
                sidecars.remove(&old);
            }
            if let Some(s) = sidecar {
                inner.sidecars.insert(hash, s);
            }
        }
        Ok(hash)
    }

    /// Whether `address` may send unsigned transactions (anvil_impersonateAccount).
    pub fn is_impersonated(&self, address: &Address) -> bool {
        self.inner.lock().impersonated.contains(address)
    }

    pub fn set_impersonated(&self, address: Address, on: bool) {
        let mut inner = self.inner.lock();
        if on {
            inner.impersonated.insert(address);
        } else {
            inner.impersonated.remove(&address);
        }
    }
}
