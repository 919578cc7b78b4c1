//! Dev methods under anvil's names: mining, time, snapshots, state edits, impersonation, reorgs.

use alloy::primitives::{Address, B256, Bytes, U64, U256};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};

use super::{RpcContext, error::chain_err, error::invalid_params, error::parse_params};
use crate::{chain::Chain, error::ChainError};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Mines `count` blocks `interval` seconds apart.
fn mine_n(chain: &Chain, count: u64, interval: Option<u64>) -> RpcResult<()> {
    if count > 100_000 {
        return Err(invalid_params("at most 100000 blocks per call"));
    }
    for i in 0..count {
        let ts = match interval {
            Some(iv) if i > 0 => Some(chain.head().header.timestamp + iv),
            _ => None,
        };
        chain.mine_at(ts).map_err(chain_err)?;
    }
    Ok(())
}

pub fn register(m: &mut RpcModule<RpcContext>) {
    let r = |res: Result<(), jsonrpsee::core::RegisterMethodError>| res.expect("method names are unique");

    r(m.register_blocking_method("evm_mine", |p, c, _| -> RpcResult<&'static str> {
        // evm_mine [timestamp] (ganache/hardhat) or [{ blocks, timestamp }] (anvil).
        let arg: Option<serde_json::Value> = p.sequence().optional_next()?;
        match arg {
            None | Some(serde_json::Value::Null) => mine_n(&c.chain, 1, None)?,
            Some(serde_json::Value::Object(o)) => {
                let blocks = o.get("blocks").and_then(|v| v.as_u64()).unwrap_or(1);
                if let Some(ts) = o.get("timestamp").and_then(|v| v.as_u64()) {
                    c.chain.set_next_timestamp(ts).map_err(chain_err)?;
                }
                mine_n(&c.chain, blocks, None)?
            }
            Some(v) => {
                let ts: U64 = serde_json::from_value(v).map_err(|e| invalid_params(e.to_string()))?;
                c.chain.mine_at(Some(ts.to())).map_err(chain_err)?;
            }
        }
        Ok("0x0")
    })
    .map(|_| ()));
    r(m.register_blocking_method("anvil_mine", |p, c, _| -> RpcResult<()> {
        let (count, interval): (Option<U256>, Option<U256>) = parse_params(&p, 2)?;
        mine_n(&c.chain, count.map(|c| c.saturating_to()).unwrap_or(1), interval.map(|i| i.saturating_to()))
    })
    .map(|_| ()));
    r(m.register_method("evm_increaseTime", |p, c, _| -> RpcResult<U64> {
        let (secs,): (serde_json::Value,) = parse_params(&p, 1)?;
        let secs = json_int(&secs)?;
        Ok(U64::from(c.chain.increase_time(secs).max(0) as u64))
    })
    .map(|_| ()));
    r(m.register_method("evm_setNextBlockTimestamp", |p, c, _| -> RpcResult<()> {
        let (ts,): (serde_json::Value,) = parse_params(&p, 1)?;
        let ts = json_int(&ts)?;
        c.chain
            .set_next_timestamp(u64::try_from(ts).map_err(|_| invalid_params("negative timestamp"))?)
            .map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_method("evm_snapshot", |_, c, _| Ok::<_, ErrorObjectOwned>(U64::from(c.chain.snapshot())))
        .map(|_| ()));
    r(m.register_blocking_method("evm_revert", |p, c, _| -> RpcResult<bool> {
        let (id,): (U64,) = parse_params(&p, 1)?;
        c.chain.revert_to_snapshot(id.to()).map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_blocking_method("anvil_setBalance", |p, c, _| -> RpcResult<()> {
        let (a, bal): (Address, U256) = parse_params(&p, 2)?;
        c.chain.dev_change(|o| o.set_account(a, |acc| acc.balance = bal).map_err(internal)).map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_blocking_method("anvil_setNonce", |p, c, _| -> RpcResult<()> {
        let (a, n): (Address, U64) = parse_params(&p, 2)?;
        c.chain.dev_change(|o| o.set_account(a, |acc| acc.nonce = n.to()).map_err(internal)).map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_blocking_method("anvil_setCode", |p, c, _| -> RpcResult<()> {
        let (a, code): (Address, Bytes) = parse_params(&p, 2)?;
        c.chain.dev_change(|o| o.set_code(a, code).map_err(internal)).map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_blocking_method("anvil_setStorageAt", |p, c, _| -> RpcResult<bool> {
        let (a, slot, v): (Address, U256, B256) = parse_params(&p, 3)?;
        c.chain
            .dev_change(|o| {
                // Make sure the account exists so the slot is committed under it.
                o.set_account(a, |_| {}).map_err(internal)?;
                o.set_storage(a, slot, U256::from_be_bytes(v.0));
                Ok(())
            })
            .map_err(chain_err)?;
        Ok(true)
    })
    .map(|_| ()));
    r(m.register_method("anvil_impersonateAccount", |p, c, _| -> RpcResult<()> {
        let (a,): (Address,) = parse_params(&p, 1)?;
        c.chain.set_impersonated(a, true);
        Ok(())
    })
    .map(|_| ()));
    r(m.register_method("anvil_stopImpersonatingAccount", |p, c, _| -> RpcResult<()> {
        let (a,): (Address,) = parse_params(&p, 1)?;
        c.chain.set_impersonated(a, false);
        Ok(())
    })
    .map(|_| ()));
    r(m.register_blocking_method("anvil_reorg", |p, c, _| -> RpcResult<B256> {
        // anvil_reorg(depth, [raw signed txs]): replace the last `depth` blocks by a new branch.
        let (depth, txs): (u64, Option<Vec<Bytes>>) = parse_params(&p, 2)?;
        Ok(c.chain.reorg(depth, &txs.unwrap_or_default()).map_err(chain_err)?.hash)
    })
    .map(|_| ()));
    r(m.register_blocking_method("anvil_rollback", |p, c, _| -> RpcResult<()> {
        let (depth,): (Option<u64>,) = parse_params(&p, 1)?;
        let head = c.chain.head().number();
        let depth = depth.unwrap_or(1);
        if depth > head {
            return Err(invalid_params(format!("rollback depth {depth} is past genesis (head {head})")));
        }
        c.chain.unwind_to(head - depth).map_err(chain_err)?;
        Ok(())
    })
    .map(|_| ()));
}

fn internal(e: crate::overlay::StateError) -> ChainError {
    ChainError::State(e)
}

/// A JSON number or 0x-hex string as an integer.
fn json_int(v: &serde_json::Value) -> RpcResult<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().ok_or_else(|| invalid_params("integer expected")),
        serde_json::Value::String(s) => {
            let s = s.strip_prefix("0x").ok_or_else(|| invalid_params("hex quantity expected"))?;
            i64::from_str_radix(s, 16).map_err(|e| invalid_params(e.to_string()))
        }
        _ => Err(invalid_params("integer expected")),
    }
}
