//! The adjudicator on L1, through Ethereum JSON-RPC.

use alloy::{
    primitives::{Address, B256, Bytes, U256, Uint},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use aqueduct_channel_protocol::{ChannelState, Htlc, OnchainChannel, SignedState};
use aqueduct_contracts::{AqueductToken, channel::ChannelAdjudicator as Adj};
use aqueduct_eth::{L1Client, L1Error};

/// The adjudicator's record of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnchainRecord {
    pub a: Address,
    pub b: Address,
    pub token: Address,
    pub deposit_a: u128,
    pub deposit_b: u128,
    pub challenge_period: u32,
    pub status: OnchainChannel,
    /// Opened, not yet joined.
    pub opening: bool,
}

/// One transaction's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sent {
    pub tx: B256,
    pub gas: u64,
    pub block: u64,
}

/// Calls to one adjudicator with one key.
#[derive(Clone, Debug)]
pub struct Adjudicator {
    pub l1: L1Client,
    pub address: Address,
    pub signer: PrivateKeySigner,
}

fn to_sol_htlcs(htlcs: &[Htlc]) -> Vec<Adj::Htlc> {
    htlcs
        .iter()
        .map(|h| Adj::Htlc {
            fromA: h.from_a,
            amount: alloy::primitives::Uint::from(h.amount),
            hash: h.hash,
            expiry: h.expiry,
        })
        .collect()
}

pub fn to_sol_state(s: &ChannelState) -> Adj::State {
    Adj::State {
        channelId: s.channel_id,
        version: s.version,
        balanceA: alloy::primitives::Uint::from(s.balance_a),
        balanceB: alloy::primitives::Uint::from(s.balance_b),
        htlcs: to_sol_htlcs(&s.htlcs),
    }
}

impl Adjudicator {
    /// Deploys a new adjudicator from `signer`.
    pub async fn deploy(l1: &L1Client, signer: &PrivateKeySigner) -> Result<Address, L1Error> {
        let tx = Adj::deploy_builder(l1.provider()).gas(5_000_000).into_transaction_request();
        let hash = l1.send_request(signer, tx).await?;
        let r = l1.wait(hash).await?;
        r.contract_address.ok_or(L1Error::NoAddress(hash))
    }

    /// The adjudicator's `sol!` instance on the shared connection.
    fn adj(&self) -> Adj::ChannelAdjudicatorInstance<&DynProvider> {
        Adj::new(self.address, self.l1.provider())
    }

    /// Simulates, sends and waits for a call (a refusal comes back by name).
    async fn send(&self, tx: TransactionRequest) -> Result<Sent, L1Error> {
        Ok(sent(&self.l1.transact(&self.signer, tx).await?))
    }

    async fn approve(&self, token: Address, amount: u128) -> Result<(), L1Error> {
        if token != Address::ZERO && amount > 0 {
            let erc20 = AqueductToken::new(token, self.l1.provider());
            let tx = erc20.approve(self.address, U256::from(amount)).gas(100_000).into_transaction_request();
            self.l1.transact(&self.signer, tx).await?;
        }
        Ok(())
    }

    /// Opens a channel to `b` with `amount` of `token` (zero address: ETH). Returns its id.
    pub async fn open(&self, b: Address, token: Address, amount: u128, period: u32) -> Result<(U256, Sent), L1Error> {
        self.approve(token, amount).await?;
        let value = if token == Address::ZERO { U256::from(amount) } else { U256::ZERO };
        let tx =
            self.adj().open(b, token, Uint::from(amount), period).value(value).gas(300_000).into_transaction_request();
        let receipt = self.l1.transact(&self.signer, tx).await?;
        let id = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| Adj::ChannelOpened::decode_log_data(l.data()).ok().map(|e| e.id))
            .ok_or(L1Error::MissingEvent { tx: receipt.transaction_hash, event: "ChannelOpened" })?;
        Ok((id, sent(&receipt)))
    }

    /// The opener takes its deposit back while the counterparty has not joined.
    pub async fn cancel(&self, id: U256) -> Result<Sent, L1Error> {
        self.send(self.adj().cancel(id).gas(150_000).into_transaction_request()).await
    }

    /// What `who` holds on L1 of `token` (zero address: ETH).
    pub async fn holding(&self, who: Address, token: Address) -> Result<U256, L1Error> {
        if token == Address::ZERO {
            return self.l1.balance(who).await;
        }
        self.l1.read(token, AqueductToken::balanceOfCall(who)).await
    }

    pub async fn join(&self, id: U256, token: Address, amount: u128) -> Result<Sent, L1Error> {
        self.approve(token, amount).await?;
        let value = if token == Address::ZERO { U256::from(amount) } else { U256::ZERO };
        self.send(self.adj().join(id, Uint::from(amount)).value(value).gas(200_000).into_transaction_request()).await
    }

    pub async fn close_cooperatively(
        &self,
        id: U256,
        balance_a: u128,
        balance_b: u128,
        sig_a: &[u8],
        sig_b: &[u8],
    ) -> Result<Sent, L1Error> {
        let (sig_a, sig_b) = (Bytes::copy_from_slice(sig_a), Bytes::copy_from_slice(sig_b));
        let (a, b) = (Uint::from(balance_a), Uint::from(balance_b));
        let tx = self.adj().closeCooperatively(id, a, b, sig_a, sig_b).gas(300_000).into_transaction_request();
        self.send(tx).await
    }

    pub async fn close(&self, s: &SignedState) -> Result<Sent, L1Error> {
        let (sig_a, sig_b) = sigs(s);
        self.send(self.adj().close(to_sol_state(&s.state), sig_a, sig_b).gas(600_000).into_transaction_request()).await
    }

    pub async fn challenge(&self, s: &SignedState) -> Result<Sent, L1Error> {
        let (sig_a, sig_b) = sigs(s);
        let tx = self.adj().challenge(to_sol_state(&s.state), sig_a, sig_b).gas(600_000).into_transaction_request();
        self.send(tx).await
    }

    pub async fn settle(&self, id: U256, htlcs: &[Htlc]) -> Result<Sent, L1Error> {
        self.send(self.adj().settle(id, to_sol_htlcs(htlcs)).gas(600_000).into_transaction_request()).await
    }

    pub async fn reveal(&self, preimage: B256) -> Result<Sent, L1Error> {
        self.send(self.adj().reveal(preimage).gas(100_000).into_transaction_request()).await
    }

    pub async fn record(&self, id: U256) -> Result<Option<OnchainRecord>, L1Error> {
        let c = self.l1.read(self.address, Adj::getChannelCall { id }).await?;
        let status = match c.status {
            0 => OnchainChannel::Gone,
            1 | 2 => OnchainChannel::Open,
            _ => OnchainChannel::Closing { version: c.version, deadline: c.deadline },
        };
        if c.a == Address::ZERO {
            return Ok(None);
        }
        Ok(Some(OnchainRecord {
            a: c.a,
            b: c.b,
            token: c.token,
            deposit_a: c.depositA.to::<u128>(),
            deposit_b: c.depositB.to::<u128>(),
            challenge_period: c.challengePeriod,
            status,
            opening: c.status == 1,
        }))
    }

    pub async fn revealed_at(&self, hash: B256) -> Result<u64, L1Error> {
        self.l1.read(self.address, Adj::revealedAtCall(hash)).await
    }

    /// The preimage L1 recorded for `hash`, if any (from its `SecretRevealed` log).
    pub async fn revealed_preimage(&self, hash: B256) -> Result<Option<B256>, L1Error> {
        let filter = alloy::rpc::types::Filter::new()
            .address(self.address)
            .event_signature(Adj::SecretRevealed::SIGNATURE_HASH)
            .topic1(hash)
            .from_block(0);
        let logs = self.l1.provider().get_logs(&filter).await.map_err(L1Error::Rpc)?;
        Ok(logs.iter().find_map(|l| Adj::SecretRevealed::decode_log_data(l.data()).ok().map(|e| e.preimage)))
    }

    /// Channels opened or joined in L1 blocks `from..=to`, for the route graph.
    pub async fn opened_between(&self, from: u64, to: u64) -> Result<Vec<U256>, L1Error> {
        let filter = alloy::rpc::types::Filter::new()
            .address(self.address)
            .event_signature(vec![Adj::ChannelJoined::SIGNATURE_HASH])
            .from_block(from)
            .to_block(to);
        let logs = self.l1.provider().get_logs(&filter).await.map_err(L1Error::Rpc)?;
        Ok(logs.iter().filter_map(|l| l.topics().get(1).map(|t| U256::from_be_bytes(t.0))).collect())
    }

    /// L1's latest block: its number and its timestamp, the clock HTLC expiries and deadlines
    /// are measured on.
    pub async fn head(&self) -> Result<(u64, u64), L1Error> {
        let b = self
            .l1
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(L1Error::Rpc)?
            .ok_or(L1Error::MissingBlock(0))?;
        Ok((b.header.number, b.header.timestamp))
    }

    /// The adjudicator's digest for `s`, for checking the off-chain encoding against L1.
    pub async fn state_digest(&self, s: &ChannelState) -> Result<B256, L1Error> {
        self.l1.read(self.address, Adj::stateDigestCall { s: to_sol_state(s) }).await
    }
}

fn sent(r: &TransactionReceipt) -> Sent {
    Sent { tx: r.transaction_hash, gas: r.gas_used, block: r.block_number.unwrap_or_default() }
}

fn sigs(s: &SignedState) -> (Bytes, Bytes) {
    let enc = |sig: &aqueduct_channel_protocol::Signature| {
        if sig.is_empty() { Bytes::new() } else { Bytes::copy_from_slice(&sig.0) }
    };
    (enc(&s.sig_a), enc(&s.sig_b))
}

/// The adjudicator's custom error in `e`, by name (`BadStatus(…)`, `NotParty`, …), when it is one.
pub fn refusal(e: &L1Error) -> Option<String> {
    use alloy::sol_types::SolInterface;
    match e {
        L1Error::WouldRevert { data } => Adj::ChannelAdjudicatorErrors::abi_decode(data).ok().map(|x| format!("{x:?}")),
        _ => None,
    }
}
