//! The node's control JSON-RPC (the `aqueduct channel` CLI talks to it through the generated
//! [`ChannelApiClient`]; bind it to loopback).
//!
//! Amounts are decimal strings in the token's smallest unit (wei for ETH).
//! - `channel_info()` → `{ address, listen, adjudicator, chainId }`
//! - `channel_connect(hostPort)` → the peer's address
//! - `channel_open(peer, amount, peerAmount?, token?, challengePeriod?)` → the channel id, once
//!   both deposits are on L1
//! - `channel_pay(peerOrChannelId, amount)` → `{ channel, version }` once the counterparty has
//!   countersigned and the state is on disk
//! - `channel_invoice(amount)` → `{ hash, payee }`
//! - `channel_payInvoice(payee, hash, amount)` → `{ hash, preimage, hops, fee }` (multi-hop)
//! - `channel_close(channelId, force?)` → `{ tx, gas, block }`: cooperative, or on L1 alone
//! - `channel_list()` → every channel with its balances and state

use std::{net::SocketAddr, sync::Arc};

use alloy::primitives::{Address, B256, U256};
use jsonrpsee::{
    core::{RpcResult, async_trait},
    http_client::{HttpClient, HttpClientBuilder},
    proc_macros::rpc,
    server::{Server, ServerHandle},
    types::ErrorObjectOwned,
};
use serde::{Deserialize, Serialize};

use crate::{
    error::NodeError,
    l1::Sent,
    node::{ChannelInfo, Node, PaymentResult},
};

/// An amount in the token's smallest unit: a decimal string (or a JSON number) on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub u128);

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(serde::de::Error::custom("an amount is a decimal string")),
        };
        s.parse().map(Amount).map_err(|_| serde::de::Error::custom(format!("invalid amount {s:?}")))
    }
}

/// `channel_info`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub address: Address,
    /// Where peers connect (host:port).
    pub listen: String,
    pub adjudicator: Address,
    pub chain_id: u64,
}

/// `channel_pay`'s answer: the channel and the version its newest countersigned state holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paid {
    pub channel: U256,
    pub version: Option<u64>,
}

/// `channel_invoice`'s answer: what a payer needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub hash: B256,
    pub payee: Address,
}

/// The node's control API.
#[rpc(server, client, namespace = "channel")]
pub trait ChannelApi {
    /// The node's address, where peers reach it, and its adjudicator and chain.
    #[method(name = "info")]
    fn info(&self) -> RpcResult<NodeInfo>;

    /// Connects to a peer at `host:port`; answers its address.
    #[method(name = "connect")]
    async fn connect(&self, host_port: String) -> RpcResult<Address>;

    /// Opens a channel with `peer` (ETH when `token` is left out, a challenge period of an hour
    /// unless given); answers its id once both deposits are on L1.
    #[method(name = "open")]
    async fn open(
        &self,
        peer: Address,
        amount: Amount,
        peer_amount: Option<Amount>,
        token: Option<Address>,
        challenge_period: Option<u64>,
    ) -> RpcResult<U256>;

    /// Pays the counterparty of a channel, named by its id or by the peer's address.
    #[method(name = "pay")]
    async fn pay(&self, target: String, amount: Amount) -> RpcResult<Paid>;

    /// A new invoice for `amount`: the hash a payer locks to.
    #[method(name = "invoice")]
    fn invoice(&self, amount: Amount) -> RpcResult<Invoice>;

    /// Pays an invoice of `payee`, over as many hops as it takes.
    #[method(name = "payInvoice")]
    async fn pay_invoice(&self, payee: Address, hash: B256, amount: Amount) -> RpcResult<PaymentResult>;

    /// Closes a channel: cooperatively, or with `force` on L1 alone.
    #[method(name = "close")]
    async fn close(&self, channel: U256, force: Option<bool>) -> RpcResult<Sent>;

    /// Every channel with its balances and state.
    #[method(name = "list")]
    fn list(&self) -> RpcResult<Vec<ChannelInfo>>;
}

/// A client of a node's control API at `url` (`http://host:port`).
pub fn control_client(url: &str) -> Result<HttpClient, jsonrpsee::core::client::Error> {
    HttpClientBuilder::default().build(url)
}

fn bad(e: impl ToString) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, e.to_string(), None::<()>)
}

fn failed(e: NodeError) -> ErrorObjectOwned {
    match e {
        NodeError::Refused(m) => ErrorObjectOwned::owned(-32000, m, None::<()>),
        e @ (NodeError::Payment(_) | NodeError::Channel(_) | NodeError::Close(_)) => {
            ErrorObjectOwned::owned(-32000, e.to_string(), None::<()>)
        }
        e => ErrorObjectOwned::owned(-32603, e.to_string(), None::<()>),
    }
}

struct ControlRpc(Arc<Node>);

#[async_trait]
impl ChannelApiServer for ControlRpc {
    fn info(&self) -> RpcResult<NodeInfo> {
        let n = &self.0;
        Ok(NodeInfo {
            address: n.address(),
            listen: n.listen_addr().to_string(),
            adjudicator: n.domain.adjudicator,
            chain_id: n.domain.chain_id,
        })
    }

    async fn connect(&self, host_port: String) -> RpcResult<Address> {
        self.0.connect(&host_port).await.map_err(failed)
    }

    async fn open(
        &self,
        peer: Address,
        amount: Amount,
        peer_amount: Option<Amount>,
        token: Option<Address>,
        challenge_period: Option<u64>,
    ) -> RpcResult<U256> {
        let period = match challenge_period {
            None => 3600,
            Some(p) => u32::try_from(p)
                .map_err(|_| bad(format!("challenge period {p} is not a whole number of seconds below 2^32")))?,
        };
        let theirs = peer_amount.map_or(0, |a| a.0);
        self.0.open(peer, token.unwrap_or(Address::ZERO), amount.0, theirs, period).await.map_err(failed)
    }

    async fn pay(&self, target: String, amount: Amount) -> RpcResult<Paid> {
        let n = &self.0;
        let id = if let Ok(peer) = target.parse::<Address>() {
            n.channel_with(peer).ok_or_else(|| bad(format!("no open channel with {peer}")))?
        } else {
            target.parse::<U256>().map_err(|_| bad(format!("{target} is neither a peer address nor a channel id")))?
        };
        n.pay(id, amount.0).await.map_err(failed)?;
        Ok(Paid { channel: id, version: n.latest_state(id).map(|s| s.state.version) })
    }

    fn invoice(&self, amount: Amount) -> RpcResult<Invoice> {
        Ok(Invoice { hash: self.0.invoice(amount.0), payee: self.0.address() })
    }

    async fn pay_invoice(&self, payee: Address, hash: B256, amount: Amount) -> RpcResult<PaymentResult> {
        self.0.pay_invoice(payee, hash, amount.0).await.map_err(failed)
    }

    async fn close(&self, channel: U256, force: Option<bool>) -> RpcResult<Sent> {
        let n = &self.0;
        if force.unwrap_or(false) { n.force_close(channel).await } else { n.close(channel).await }.map_err(failed)
    }

    fn list(&self) -> RpcResult<Vec<ChannelInfo>> {
        Ok(self.0.channels())
    }
}

/// Serves the control API for `node` on `addr`.
pub async fn serve_control(node: Arc<Node>, addr: SocketAddr) -> Result<(ServerHandle, SocketAddr), std::io::Error> {
    let server = Server::builder().build(addr).await?;
    let local = server.local_addr()?;
    Ok((server.start(ControlRpc(node).into_rpc()), local))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_decimal_strings_or_numbers_and_refuse_the_rest_by_name() {
        let a: Amount = serde_json::from_str("\"340282366920938463463374607431768211455\"").unwrap();
        assert_eq!(a, Amount(u128::MAX));
        assert_eq!(serde_json::from_str::<Amount>("25").unwrap(), Amount(25));
        let e = serde_json::from_str::<Amount>("\"1.5\"").unwrap_err().to_string();
        assert!(e.contains("invalid amount \"1.5\""), "{e}");
        let e = serde_json::from_str::<Amount>("true").unwrap_err().to_string();
        assert!(e.contains("an amount is a decimal string"), "{e}");
        assert_eq!(serde_json::to_string(&Amount(7)).unwrap(), "\"7\"");
    }
}
