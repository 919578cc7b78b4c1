//! Log queries, polling filters and subscriptions.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::U64,
    rpc::types::{Filter, FilterBlockOption, Log as RpcLog},
};
use jsonrpsee::{
    RpcModule, SubscriptionMessage,
    types::{ErrorObjectOwned, Params},
};
use parking_lot::Mutex;
use tokio::sync::broadcast::error::RecvError;

use super::{
    RpcContext, convert,
    error::parse_params,
    error::{SERVER_ERROR, invalid_params, rpc_err},
    eth::tag_ref,
};
use crate::chain::{BlockRef, Chain, ChainEvent};

/// Filters unused for this long are dropped (geth's timeout).
const FILTER_TTL: Duration = Duration::from_secs(300);
/// Most filters installed at once (each is kept until polled or expired).
pub const MAX_FILTERS: usize = 1_000;
/// Most addresses plus topic alternatives one filter may name.
pub const MAX_FILTER_TERMS: usize = 1_000;
/// Most logs one query returns.
const MAX_LOGS: usize = 20_000;

enum Kind {
    Blocks,
    Logs(Box<Filter>),
}

struct Installed {
    kind: Kind,
    /// Last block reported.
    last: u64,
    polled: Instant,
}

#[derive(Default)]
pub struct Filters {
    next: Mutex<u64>,
    map: Mutex<HashMap<U64, Installed>>,
}

/// Matching logs in `from..=to`.
fn logs_in(chain: &Chain, filter: &Filter, from: u64, to: u64) -> Result<Vec<RpcLog>, ErrorObjectOwned> {
    let mut out = Vec::new();
    for b in chain.blocks(from, to) {
        if !filter.matches_bloom(b.header.logs_bloom) {
            continue;
        }
        for i in 0..b.txs.len() {
            for log in convert::logs_of(&b, i, false) {
                if filter.matches(&log.inner) {
                    out.push(log);
                    if out.len() > MAX_LOGS {
                        return Err(rpc_err(SERVER_ERROR, format!("query returned more than {MAX_LOGS} results")));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The blocks a log query covers; `None` when the range is empty (`fromBlock` after `toBlock`
/// or after the head), which geth and anvil answer with no logs rather than an error.
fn resolve_range(c: &RpcContext, f: &Filter) -> Result<Option<(u64, u64)>, ErrorObjectOwned> {
    let chain = &c.chain;
    let num = |t: Option<BlockNumberOrTag>| -> Result<u64, ErrorObjectOwned> {
        match t.unwrap_or(BlockNumberOrTag::Latest) {
            BlockNumberOrTag::Number(n) => Ok(n),
            tag => chain.block_number(tag_ref(tag)).ok_or_else(|| rpc_err(SERVER_ERROR, "header not found")),
        }
    };
    let (from, to) = match &f.block_option {
        FilterBlockOption::AtBlockHash(h) => {
            let n = chain.block_number(BlockRef::Hash(*h)).ok_or_else(|| rpc_err(SERVER_ERROR, "unknown block"))?;
            (n, n)
        }
        FilterBlockOption::Range { from_block, to_block } => (num(*from_block)?, num(*to_block)?),
    };
    let to = to.min(chain.head().number());
    if from > to {
        return Ok(None);
    }
    if to - from >= c.config.max_log_range {
        return Err(rpc_err(SERVER_ERROR, format!("query exceeds max block range {}", c.config.max_log_range)));
    }
    Ok(Some((from, to)))
}

/// A filter whose criteria are bounded (addresses and topic alternatives together).
fn bounded(f: Filter) -> Result<Filter, ErrorObjectOwned> {
    let terms = f.address.len() + f.topics.iter().map(|t| t.len()).sum::<usize>();
    if terms > MAX_FILTER_TERMS {
        return Err(invalid_params(format!(
            "filter names {terms} addresses and topics; at most {MAX_FILTER_TERMS} are allowed"
        )));
    }
    Ok(f)
}

fn install(c: &RpcContext, kind: Kind) -> Result<U64, ErrorObjectOwned> {
    {
        let mut map = c.filters.map.lock();
        map.retain(|_, f| f.polled.elapsed() < FILTER_TTL);
        if map.len() >= MAX_FILTERS {
            return Err(rpc_err(
                SERVER_ERROR,
                format!(
                    "too many filters installed ({MAX_FILTERS}); uninstall some or let them expire (5 min unpolled)"
                ),
            ));
        }
    }
    let id = {
        let mut n = c.filters.next.lock();
        *n += 1;
        U64::from(*n)
    };
    let last = c.chain.head().number();
    let mut map = c.filters.map.lock();
    map.insert(id, Installed { kind, last, polled: Instant::now() });
    Ok(id)
}

fn changes(p: Params<'_>, c: &RpcContext) -> Result<serde_json::Value, ErrorObjectOwned> {
    let (id,): (U64,) = parse_params(&p, 1)?;
    let head = c.chain.head().number();
    let mut map = c.filters.map.lock();
    let f = map.get_mut(&id).ok_or_else(|| rpc_err(SERVER_ERROR, "filter not found"))?;
    f.polled = Instant::now();
    // After an unwind the filter restarts from the new head.
    let from = f.last.min(head) + 1;
    let value = match &f.kind {
        Kind::Blocks => serde_json::to_value(convert::hash_list(&c.chain.blocks(from, head))),
        Kind::Logs(filter) => {
            let (lo, hi) = match filter.block_option {
                FilterBlockOption::Range { to_block: Some(BlockNumberOrTag::Number(t)), .. } => (from, head.min(t)),
                _ => (from, head),
            };
            serde_json::to_value(if lo <= hi { logs_in(&c.chain, filter, lo, hi)? } else { vec![] })
        }
    };
    f.last = head;
    value.map_err(|e| rpc_err(super::error::INTERNAL_ERROR, e.to_string()))
}

pub fn register(m: &mut RpcModule<RpcContext>) {
    let r = |res: Result<(), jsonrpsee::core::RegisterMethodError>| res.expect("method names are unique");
    r(m.register_method("eth_getLogs", |p, c, _| -> Result<Vec<RpcLog>, ErrorObjectOwned> {
        let (f,): (Filter,) = parse_params(&p, 1)?;
        let f = bounded(f)?;
        match resolve_range(c, &f)? {
            Some((from, to)) => logs_in(&c.chain, &f, from, to),
            None => Ok(Vec::new()),
        }
    })
    .map(|_| ()));
    r(m.register_method("eth_newFilter", |p, c, _| -> Result<U64, ErrorObjectOwned> {
        let (f,): (Filter,) = parse_params(&p, 1)?;
        install(c, Kind::Logs(Box::new(bounded(f)?)))
    })
    .map(|_| ()));
    r(m.register_method("eth_newBlockFilter", |_, c, _| install(c, Kind::Blocks)).map(|_| ()));
    r(m.register_method("eth_getFilterChanges", |p, c, _| changes(p, c)).map(|_| ()));
    r(m.register_method("eth_getFilterLogs", |p, c, _| -> Result<Vec<RpcLog>, ErrorObjectOwned> {
        let (id,): (U64,) = parse_params(&p, 1)?;
        let f = match c.filters.map.lock().get(&id) {
            Some(Installed { kind: Kind::Logs(f), .. }) => (**f).clone(),
            _ => return Err(rpc_err(SERVER_ERROR, "filter not found")),
        };
        match resolve_range(c, &f)? {
            Some((from, to)) => logs_in(&c.chain, &f, from, to),
            None => Ok(Vec::new()),
        }
    })
    .map(|_| ()));
    r(m.register_method("eth_uninstallFilter", |p, c, _| -> Result<bool, ErrorObjectOwned> {
        let (id,): (U64,) = parse_params(&p, 1)?;
        Ok(c.filters.map.lock().remove(&id).is_some())
    })
    .map(|_| ()));

    m.register_subscription("eth_subscribe", "eth_subscription", "eth_unsubscribe", |p, pending, c, _| async move {
        let mut seq = p.sequence();
        let kind: String = match seq.next() {
            Ok(k) => k,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let filter: Option<Filter> = match kind.as_str() {
            "newHeads" => None,
            "logs" => match seq.optional_next::<Filter>() {
                Ok(f) => Some(f.unwrap_or_default()),
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            },
            other => {
                pending
                    .reject(invalid_params(format!("unsupported subscription `{other}`: use newHeads or logs")))
                    .await;
                return Ok(());
            }
        };
        let mut events = c.chain.subscribe();
        let sink = pending.accept().await?;
        loop {
            let ev = tokio::select! {
                _ = sink.closed() => break,
                ev = events.recv() => ev,
            };
            let ev = match ev {
                Ok(ev) => ev,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(target: "rpc::subscribe", skipped = n, "slow subscriber skipped events");
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let items: Vec<serde_json::Value> = match (&filter, &ev) {
                (None, ChainEvent::Block(b)) => vec![serde_json::to_value(convert::header(b))?],
                (None, ChainEvent::Removed(_)) => vec![],
                (Some(f), ChainEvent::Block(b) | ChainEvent::Removed(b)) => {
                    let removed = matches!(ev, ChainEvent::Removed(_));
                    let mut out = Vec::new();
                    if f.matches_bloom(b.header.logs_bloom) {
                        for i in 0..b.txs.len() {
                            for l in convert::logs_of(b, i, removed) {
                                if f.matches(&l.inner) {
                                    out.push(serde_json::to_value(l)?);
                                }
                            }
                        }
                    }
                    out
                }
            };
            for item in items {
                let msg = SubscriptionMessage::from(serde_json::value::to_raw_value(&item)?);
                if sink.send(msg).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    })
    .expect("method names are unique");
}
