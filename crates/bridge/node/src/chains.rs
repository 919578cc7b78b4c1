//! Typed calls and event reads on each side of the fast bridge: the spoke on the rollup, the hub
//! on L1. Both are reached through `aqueduct-eth` (the rollup's JSON-RPC is an Ethereum endpoint).

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, TransactionReceipt},
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use aqueduct_bridge_protocol::{Entry, FillState, RelayData, from_spoke};
use aqueduct_contracts::bridge::{HubPool, SpokePool};
use aqueduct_eth::{L1Client, L1Error};

/// The spoke on the rollup.
#[derive(Clone, Debug)]
pub struct Spoke {
    pub l2: L1Client,
    pub address: Address,
}

/// The hub on L1.
#[derive(Clone, Debug)]
pub struct Hub {
    pub l1: L1Client,
    pub address: Address,
}

/// A `bridgeDeposits` call on the rollup: the L2 transaction (its withdrawal carries the ETH
/// and the deposit root to the hub) and how many deposits it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub tx: B256,
    pub count: u64,
    pub root: B256,
    pub value: U256,
}

/// A refund bundle as proposed (its entries come from the proposal's event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposedBundle {
    pub id: u64,
    pub proposer: Address,
    pub start: u64,
    pub end: u64,
    pub entries_root: B256,
    pub entries: Vec<Entry>,
}

fn event_filter(address: Address, sig: B256, from: u64, to: u64) -> Filter {
    Filter::new().address(address).event_signature(sig).from_block(from).to_block(to)
}

impl Spoke {
    pub fn new(l2: L1Client, address: Address) -> Self {
        Self { l2, address }
    }

    fn contract(&self) -> SpokePool::SpokePoolInstance<&DynProvider> {
        SpokePool::new(self.address, self.l2.provider())
    }

    /// Deposits made in L2 blocks `from..=to`, in id order, with their L2 block.
    pub async fn deposits(&self, from: u64, to: u64) -> Result<Vec<(RelayData, u64)>, L1Error> {
        let f = event_filter(self.address, SpokePool::FundsDeposited::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l2.provider().get_logs(&f).await? {
            let Ok(e) = log.log_decode::<SpokePool::FundsDeposited>() else { continue };
            out.push((from_spoke(e.inner.data.relay), log.block_number.unwrap_or_default()));
        }
        out.sort_by_key(|(d, _)| d.depositId);
        Ok(out)
    }

    /// `bridgeDeposits` calls made in L2 blocks `from..=to`.
    pub async fn deliveries(&self, from: u64, to: u64) -> Result<Vec<Delivery>, L1Error> {
        let f = event_filter(self.address, SpokePool::DepositsBridged::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l2.provider().get_logs(&f).await? {
            let (Ok(e), Some(tx)) = (log.log_decode::<SpokePool::DepositsBridged>(), log.transaction_hash) else {
                continue;
            };
            let e = e.inner.data;
            out.push(Delivery { tx, count: e.count, root: e.depositRoot, value: e.value });
        }
        Ok(out)
    }

    /// Deposits so far, and how many of them were sent to the hub.
    pub async fn counts(&self) -> Result<(u64, u64), L1Error> {
        let made = self.l2.read_latest(self.address, SpokePool::depositCountCall {}).await?;
        let bridged = self.l2.read_latest(self.address, SpokePool::bridgedCountCall {}).await?;
        Ok((made, bridged))
    }

    /// Sends the deposits not yet sent to the hub (a withdrawal through the canonical bridge).
    pub async fn bridge(&self, signer: &PrivateKeySigner) -> Result<TransactionReceipt, L1Error> {
        self.l2.transact(signer, self.contract().bridgeDeposits().gas(300_000).into_transaction_request()).await
    }

    /// Deposits `input` wei for `recipient`, who gets `output` on L1 from a relayer before
    /// `deadline` (unix seconds). Returns the deposit as relayers see it.
    pub async fn deposit(
        &self,
        signer: &PrivateKeySigner,
        recipient: Address,
        input: U256,
        output: U256,
        destination: u64,
        deadline: u32,
    ) -> Result<(RelayData, TransactionReceipt), L1Error> {
        let call = self
            .contract()
            .deposit(recipient, output, destination, Address::ZERO, deadline, 0)
            .value(input)
            .gas(250_000)
            .into_transaction_request();
        let r = self.l2.transact(signer, call).await?;
        let d = r
            .inner
            .logs()
            .iter()
            .filter(|l| l.address() == self.address)
            .find_map(|l| SpokePool::FundsDeposited::decode_log(&l.inner).ok())
            .map(|e| from_spoke(e.data.relay))
            .ok_or(L1Error::MissingEvent { tx: r.transaction_hash, event: "FundsDeposited" })?;
        Ok((d, r))
    }
}

impl Hub {
    pub fn new(l1: L1Client, address: Address) -> Self {
        Self { l1, address }
    }

    fn contract(&self) -> HubPool::HubPoolInstance<&DynProvider> {
        HubPool::new(self.address, self.l1.provider())
    }

    /// How the hub records deposit `relay_hash`'s fill.
    pub async fn fill_state(&self, relay_hash: B256) -> Result<FillState, L1Error> {
        let f = self.l1.read_latest(self.address, HubPool::fillsCall(relay_hash)).await?;
        Ok(match f.status {
            1 => FillState::SlowFillRequested { since: f.since },
            2 => FillState::Filled { since: f.since, repay_to: f.repayTo },
            _ => FillState::Unfilled,
        })
    }

    /// Pays `d.recipient` its output from `signer`'s ETH, to be repaid at `repay_to`.
    pub async fn fill(
        &self,
        signer: &PrivateKeySigner,
        d: &RelayData,
        repay_to: Address,
    ) -> Result<TransactionReceipt, L1Error> {
        let call = self
            .contract()
            .fillRelay(d.clone(), repay_to)
            .value(d.outputAmount)
            .gas(150_000)
            .into_transaction_request();
        self.l1.transact(signer, call).await
    }

    /// The depositor or recipient of `d` gives up on relayers (paid from the deposit once delivered).
    pub async fn request_slow_fill(
        &self,
        signer: &PrivateKeySigner,
        d: &RelayData,
    ) -> Result<TransactionReceipt, L1Error> {
        let call = self.contract().requestSlowFill(d.clone()).gas(120_000).into_transaction_request();
        self.l1.transact(signer, call).await
    }

    /// Deposits delivered so far and their tree's root.
    pub async fn delivered(&self) -> Result<(u64, B256), L1Error> {
        let n = self.l1.read_latest(self.address, HubPool::deliveredCountCall {}).await?;
        let root = self.l1.read_latest(self.address, HubPool::deliveredRootCall {}).await?;
        Ok((n, root))
    }

    /// Deposits `[0, covered_end)` are covered by bundles that are not disputed.
    pub async fn covered_end(&self) -> Result<u64, L1Error> {
        self.l1.read_latest(self.address, HubPool::coveredEndCall {}).await
    }

    pub async fn bundle_count(&self) -> Result<u64, L1Error> {
        Ok(self.l1.read_latest(self.address, HubPool::bundleCountCall {}).await?.saturating_to())
    }

    /// Bundle `id`'s record on the hub.
    pub async fn bundle(&self, id: u64) -> Result<HubPool::bundlesReturn, L1Error> {
        self.l1.read_latest(self.address, HubPool::bundlesCall(U256::from(id))).await
    }

    pub async fn liveness_left(&self, id: u64) -> Result<u64, L1Error> {
        Ok(self.l1.read_latest(self.address, HubPool::livenessLeftCall { id: U256::from(id) }).await?.saturating_to())
    }

    pub async fn executed(&self, deposit_id: u64) -> Result<bool, L1Error> {
        self.l1.read_latest(self.address, HubPool::executedCall(deposit_id)).await
    }

    /// ETH delivered from the spoke and ETH paid out by bundles.
    pub async fn books(&self) -> Result<(U256, U256), L1Error> {
        let delivered = self.l1.read_latest(self.address, HubPool::deliveredCall {}).await?;
        let paid = self.l1.read_latest(self.address, HubPool::paidCall {}).await?;
        Ok((delivered, paid))
    }

    /// Bundles proposed in L1 blocks `from..=to`.
    pub async fn proposals(&self, from: u64, to: u64) -> Result<Vec<ProposedBundle>, L1Error> {
        let f = event_filter(self.address, HubPool::BundleProposed::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            let Ok(e) = log.log_decode::<HubPool::BundleProposed>() else { continue };
            let e = e.inner.data;
            out.push(ProposedBundle {
                id: e.bundleId.saturating_to(),
                proposer: e.proposer,
                start: e.start,
                end: e.end,
                entries_root: e.entriesRoot,
                entries: e.entries,
            });
        }
        Ok(out)
    }

    /// `(count, root)` of every delivery received in L1 blocks `from..=to`.
    pub async fn delivered_roots(&self, from: u64, to: u64) -> Result<Vec<(u64, B256)>, L1Error> {
        let f = event_filter(self.address, HubPool::DepositsDelivered::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            let Ok(e) = log.log_decode::<HubPool::DepositsDelivered>() else { continue };
            out.push((e.inner.data.count, e.inner.data.depositRoot));
        }
        Ok(out)
    }

    pub async fn propose(
        &self,
        signer: &PrivateKeySigner,
        entries: Vec<Entry>,
        bond: U256,
    ) -> Result<TransactionReceipt, L1Error> {
        let gas = 150_000 + 20_000 * entries.len() as u64;
        let call = self.contract().proposeBundle(entries).value(bond).gas(gas).into_transaction_request();
        self.l1.transact(signer, call).await
    }

    #[allow(clippy::too_many_arguments)] // the dispute's proof has these parts
    pub async fn dispute(
        &self,
        signer: &PrivateKeySigner,
        id: u64,
        index: u64,
        entry: Entry,
        entry_proof: Vec<B256>,
        d: RelayData,
        deposit_branch: [B256; 32],
    ) -> Result<TransactionReceipt, L1Error> {
        let call = self
            .contract()
            .dispute(U256::from(id), U256::from(index), entry, entry_proof, d, deposit_branch)
            .gas(400_000)
            .into_transaction_request();
        self.l1.transact(signer, call).await
    }

    pub async fn execute(
        &self,
        signer: &PrivateKeySigner,
        id: u64,
        index: u64,
        entry: Entry,
        proof: Vec<B256>,
    ) -> Result<TransactionReceipt, L1Error> {
        let call = self
            .contract()
            .execute(U256::from(id), U256::from(index), entry, proof)
            .gas(250_000)
            .into_transaction_request();
        self.l1.transact(signer, call).await
    }

    pub async fn return_bond(&self, signer: &PrivateKeySigner, id: u64) -> Result<TransactionReceipt, L1Error> {
        let call = self.contract().returnBond(U256::from(id)).gas(80_000).into_transaction_request();
        self.l1.transact(signer, call).await
    }
}
