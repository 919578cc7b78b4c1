//! The plasma chain as the dashboard reads it: the operator's `plasma_status`, and the contract
//! on L1 (exits waiting with their time left, what has been paid out, what the deposits still
//! hold).

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use aqueduct_contracts::plasma::PlasmaChain;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_plasma_node::PlasmaApiClient;
use serde::Serialize;

use crate::snapshot::WithdrawalView;

#[derive(Clone, Debug, Default, Serialize)]
pub struct PlasmaView {
    pub contract: Option<Address>,
    /// Child blocks built, and the last one's number.
    pub blocks: u64,
    pub last_block: u64,
    pub deposits: u64,
    /// Payments acknowledged and waiting for the next block.
    pub pending: usize,
    pub utxos: usize,
    /// Exits in the ETH queue (started, not yet processed).
    pub exits_waiting: u64,
    pub paid_out_wei: String,
    /// What the ETH deposits still hold on L1.
    pub funds_wei: String,
}

/// Reads the plasma chain, keeping the standard exits seen so far.
pub(crate) struct Plasma {
    client: jsonrpsee::http_client::HttpClient,
    scanned: u64,
    /// Waiting standard exits: amount and when they may be paid.
    exits: BTreeMap<u64, (U256, u64)>,
}

impl Plasma {
    pub(crate) fn new(url: &str) -> Option<Self> {
        Some(Self { client: aqueduct_plasma_node::plasma_client(url).ok()?, scanned: 0, exits: BTreeMap::new() })
    }

    pub(crate) async fn poll(
        &mut self,
        l1: &L1Client,
        l1_time: u64,
    ) -> Result<(PlasmaView, Vec<WithdrawalView>), String> {
        let st = self.client.status().await.map_err(|e| e.to_string())?;
        let c = st.contract;
        let l1_err = |e: L1Error| e.to_string();
        let head = l1.head().await.map_err(l1_err)?;
        if head >= self.scanned {
            use alloy::{providers::Provider, sol_types::SolEvent};
            let f = alloy::rpc::types::Filter::new()
                .address(c)
                .event_signature(PlasmaChain::ExitStarted::SIGNATURE_HASH)
                .from_block(self.scanned)
                .to_block(head);
            for log in l1.provider().get_logs(&f).await.map_err(|e| e.to_string())? {
                if let Ok(e) = log.log_decode::<PlasmaChain::ExitStarted>() {
                    let e = e.inner.data;
                    self.exits.insert(e.exitId.saturating_to(), (e.amount, e.exitableAt));
                }
            }
            self.scanned = head + 1;
        }
        let mut withdrawals = Vec::new();
        let mut done = Vec::new();
        for (&id, &(amount, at)) in &self.exits {
            let e = l1.read(c, PlasmaChain::getStandardExitCall { exitId: U256::from(id) }).await.map_err(l1_err)?;
            if e.status != 1 {
                done.push(id);
                continue;
            }
            let left = at.saturating_sub(l1_time);
            withdrawals.push(WithdrawalView {
                family: "plasma",
                id: B256::from(U256::from(id)),
                amount_wei: amount.to_string(),
                state: if left == 0 {
                    "exit due: paid at the next processExits"
                } else {
                    "standard exit in its period"
                }
                .into(),
                seconds_left: Some(left),
            });
        }
        for id in done {
            self.exits.remove(&id);
        }
        let eth = Address::ZERO;
        let view = PlasmaView {
            contract: Some(c),
            blocks: st.blocks,
            last_block: st.last_block,
            deposits: st.deposits,
            pending: st.pending,
            utxos: st.utxos,
            exits_waiting: l1
                .read(c, PlasmaChain::queueLengthCall { token: eth })
                .await
                .map_err(l1_err)?
                .saturating_to(),
            paid_out_wei: l1.read(c, PlasmaChain::paidOutCall(eth)).await.map_err(l1_err)?.to_string(),
            funds_wei: l1.read(c, PlasmaChain::fundsCall(eth)).await.map_err(l1_err)?.to_string(),
        };
        Ok((view, withdrawals))
    }
}
