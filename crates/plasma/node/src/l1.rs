//! The plasma contract on L1, through alloy's provider stack: deployment, the operator's roots,
//! deposits, exits, challenges and processing, and the events services follow.

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, TransactionReceipt},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_contracts::{AqueductToken, plasma::PlasmaChain as Chain};
pub use aqueduct_eth::Sent;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_plasma_protocol::{Challenge, Domain, ExitPlan, Included, SignedTx};

use crate::error::PlasmaError;

/// The contract's custom error by name, when L1 refused a call with one.
fn refusal(e: L1Error) -> PlasmaError {
    if let Some(err) = e.revert_as::<Chain::PlasmaChainErrors>() {
        return PlasmaError::Refusal(format!("{err:?}"));
    }
    e.into()
}

/// The contract's parameters, fixed at deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlasmaParams {
    pub operator: Address,
    /// Seconds an exit waits at least (7 days on mainnet settings).
    pub min_exit_period: u64,
    pub standard_exit_bond: U256,
    pub in_flight_exit_bond: U256,
    pub piggyback_bond: U256,
    pub process_bounty: U256,
}

impl PlasmaParams {
    /// Devnet settings: `period` seconds, OMG's bond sizes.
    pub fn devnet(operator: Address, period: u64) -> Self {
        let milli = U256::from(1_000_000_000_000_000u64);
        Self {
            operator,
            min_exit_period: period,
            standard_exit_bond: U256::from(23) * milli,
            in_flight_exit_bond: U256::from(27) * milli,
            piggyback_bond: U256::from(31) * milli,
            process_bounty: U256::from(5) * milli,
        }
    }
}

/// Deploys the contract from `deployer`.
pub async fn deploy_plasma(l1: &L1Client, deployer: &PrivateKeySigner, p: &PlasmaParams) -> Result<Address, L1Error> {
    let tx = Chain::deploy_builder(
        l1.provider(),
        p.operator,
        p.min_exit_period,
        p.standard_exit_bond,
        p.in_flight_exit_bond,
        p.piggyback_bond,
        p.process_bounty,
    )
    .gas(8_000_000)
    .into_transaction_request();
    let hash = l1.send_request(deployer, tx).await?;
    let r = l1.wait(hash).await?;
    r.contract_address.ok_or(L1Error::NoAddress(hash))
}

/// A deposit as the contract emitted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositEvent {
    pub block: u64,
    pub owner: Address,
    pub token: Address,
    pub amount: U256,
}

/// A standard exit as the contract emitted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitEvent {
    pub exit_id: u64,
    pub owner: Address,
    pub position: u64,
    pub token: Address,
    pub amount: U256,
    /// When the exit may be paid (L1 time).
    pub exitable_at: u64,
}

/// Calls to one plasma contract with one key.
#[derive(Clone, Debug)]
pub struct PlasmaL1 {
    pub l1: L1Client,
    pub contract: Address,
    pub signer: PrivateKeySigner,
}

impl PlasmaL1 {
    pub fn new(l1: L1Client, contract: Address, signer: PrivateKeySigner) -> Self {
        Self { l1, contract, signer }
    }

    fn chain(&self) -> Chain::PlasmaChainInstance<&DynProvider> {
        Chain::new(self.contract, self.l1.provider())
    }

    pub async fn domain(&self) -> Result<Domain, L1Error> {
        Ok(Domain { chain_id: self.l1.chain_id().await?, contract: self.contract })
    }

    pub async fn params(&self) -> Result<PlasmaParams, L1Error> {
        let c = self.contract;
        let l1 = &self.l1;
        Ok(PlasmaParams {
            operator: l1.read(c, Chain::operatorCall {}).await?,
            min_exit_period: l1.read(c, Chain::minExitPeriodCall {}).await?,
            standard_exit_bond: l1.read(c, Chain::standardExitBondCall {}).await?,
            in_flight_exit_bond: l1.read(c, Chain::inFlightExitBondCall {}).await?,
            piggyback_bond: l1.read(c, Chain::piggybackBondCall {}).await?,
            process_bounty: l1.read(c, Chain::processBountyCall {}).await?,
        })
    }

    pub async fn next_child_block(&self) -> Result<u64, L1Error> {
        Ok(self.l1.read(self.contract, Chain::nextChildBlockCall {}).await?.saturating_to())
    }

    /// The next deposit block's offset after the last child block (1..999).
    pub async fn deposit_offset(&self) -> Result<u64, L1Error> {
        Ok(self.l1.read(self.contract, Chain::nextDepositOffsetCall {}).await?.saturating_to())
    }

    /// The root L1 holds for block `n` (zero: none).
    pub async fn root(&self, n: u64) -> Result<B256, L1Error> {
        Ok(self.l1.read(self.contract, Chain::blocksCall(U256::from(n))).await?.root)
    }

    /// Simulates, sends and waits; a refusal comes back with the contract's error by name.
    async fn send(&self, tx: alloy::rpc::types::TransactionRequest) -> Result<TransactionReceipt, PlasmaError> {
        self.l1.transact(&self.signer, tx).await.map_err(refusal)
    }

    pub async fn submit_block(&self, root: B256) -> Result<Sent, PlasmaError> {
        Ok(Sent::from(&self.send(self.chain().submitBlock(root).gas(150_000).into_transaction_request()).await?))
    }

    /// Deposits `amount` of `token` (zero: ETH; an ERC-20 is approved first). Returns the
    /// deposit block's number.
    pub async fn deposit(&self, token: Address, amount: U256) -> Result<(u64, Sent), PlasmaError> {
        let r = if token == Address::ZERO {
            self.send(self.chain().depositETH().value(amount).gas(200_000).into_transaction_request()).await?
        } else {
            let erc20 = AqueductToken::new(token, self.l1.provider());
            self.send(erc20.approve(self.contract, amount).gas(100_000).into_transaction_request()).await?;
            self.send(self.chain().depositERC20(token, amount).gas(250_000).into_transaction_request()).await?
        };
        let block = r
            .inner
            .logs()
            .iter()
            .find_map(|l| Chain::DepositCreated::decode_log_data(l.data()).ok())
            .ok_or(L1Error::MissingEvent { tx: r.transaction_hash, event: "DepositCreated" })?
            .blockNumber;
        Ok((block.saturating_to(), Sent::from(&r)))
    }

    /// Starts the standard exit `plan` describes; returns the exit id.
    pub async fn start_exit(&self, plan: &ExitPlan, bond: U256) -> Result<(u64, Sent), PlasmaError> {
        let c = &plan.creating;
        let tx = self
            .chain()
            .startStandardExit(U256::from(plan.utxo.position.0), c.tx.tx.encode(), c.tx.sig_bytes(), c.proof.clone())
            .value(bond)
            .gas(400_000)
            .into_transaction_request();
        let r = self.send(tx).await?;
        let id = r
            .inner
            .logs()
            .iter()
            .find_map(|l| Chain::ExitStarted::decode_log_data(l.data()).ok())
            .ok_or(L1Error::MissingEvent { tx: r.transaction_hash, event: "ExitStarted" })?
            .exitId;
        Ok((id.saturating_to(), Sent::from(&r)))
    }

    pub async fn challenge(&self, c: &Challenge) -> Result<Sent, PlasmaError> {
        let tx = match c {
            Challenge::Spent { exit_id, spend, input } => self
                .chain()
                .challengeStandardExit(U256::from(*exit_id), spend.tx.encode(), spend.sig_bytes(), U256::from(*input))
                .gas(300_000)
                .into_transaction_request(),
            Challenge::InvalidSpend { exit_id, exit_tx, input, creating } => self
                .chain()
                .challengeInvalidSpend(
                    U256::from(*exit_id),
                    Chain::Spend { txBytes: exit_tx.tx.encode(), sigs: exit_tx.sig_bytes(), input: U256::from(*input) },
                    inclusion(creating),
                )
                .gas(400_000)
                .into_transaction_request(),
        };
        Ok(Sent::from(&self.send(tx).await?))
    }

    /// Starts an in-flight exit of `tx` whose inputs' creating transactions are `inputs`.
    pub async fn start_in_flight_exit(
        &self,
        tx: &SignedTx,
        inputs: &[Included],
        bond: U256,
    ) -> Result<(u64, Sent), PlasmaError> {
        let call = self
            .chain()
            .startInFlightExit(tx.tx.encode(), tx.sig_bytes(), inputs.iter().map(inclusion).collect())
            .value(bond)
            .gas(1_500_000)
            .into_transaction_request();
        let r = self.send(call).await?;
        let id = r
            .inner
            .logs()
            .iter()
            .find_map(|l| Chain::InFlightExitStarted::decode_log_data(l.data()).ok())
            .ok_or(L1Error::MissingEvent { tx: r.transaction_hash, event: "InFlightExitStarted" })?
            .exitId;
        Ok((id.saturating_to(), Sent::from(&r)))
    }

    /// Piggybacks output `output` of the in-flight `tx`.
    pub async fn piggyback_output(
        &self,
        exit_id: u64,
        output: usize,
        tx: &SignedTx,
        bond: U256,
    ) -> Result<Sent, PlasmaError> {
        let call = self
            .chain()
            .piggybackOutput(U256::from(exit_id), U256::from(output), tx.tx.encode())
            .value(bond)
            .gas(300_000)
            .into_transaction_request();
        Ok(Sent::from(&self.send(call).await?))
    }

    /// Piggybacks input `input` of an in-flight exit whose inputs are `inputs` (as its start
    /// proved them: the creating transactions' outputs).
    pub async fn piggyback_input(
        &self,
        exit_id: u64,
        input: usize,
        infos: &[InputInfo],
        bond: U256,
    ) -> Result<Sent, PlasmaError> {
        let call = self
            .chain()
            .piggybackInput(U256::from(exit_id), U256::from(input), infos.iter().map(|i| i.sol()).collect())
            .value(bond)
            .gas(300_000)
            .into_transaction_request();
        Ok(Sent::from(&self.send(call).await?))
    }

    /// Pays up to `n` due exits of `token`.
    pub async fn process(&self, token: Address, n: u64) -> Result<Sent, PlasmaError> {
        let call =
            self.chain().processExits(token, U256::from(n)).gas(200_000 + 150_000 * n).into_transaction_request();
        Ok(Sent::from(&self.send(call).await?))
    }

    /// The next exit of `token`'s queue: (exitable at, position, exit id), or `None` when empty.
    pub async fn next_exit(&self, token: Address) -> Result<Option<(u64, u64, u64)>, L1Error> {
        let r = self.l1.read(self.contract, Chain::nextExitCall { token }).await?;
        Ok((r.exitId != 0).then_some((r.exitableAt, r.position as u64, r.exitId)))
    }

    pub async fn exit_status(&self, exit_id: u64) -> Result<u8, L1Error> {
        Ok(self.l1.read(self.contract, Chain::getStandardExitCall { exitId: U256::from(exit_id) }).await?.status)
    }

    pub async fn paid_out(&self, token: Address) -> Result<U256, L1Error> {
        self.l1.read(self.contract, Chain::paidOutCall(token)).await
    }

    /// Deposits in L1 blocks `from..=to`.
    pub async fn deposits(&self, from: u64, to: u64) -> Result<Vec<DepositEvent>, L1Error> {
        let f = self.filter(Chain::DepositCreated::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            let Ok(e) = log.log_decode::<Chain::DepositCreated>() else { continue };
            let e = e.inner.data;
            out.push(DepositEvent {
                block: e.blockNumber.saturating_to(),
                owner: e.owner,
                token: e.token,
                amount: e.amount,
            });
        }
        Ok(out)
    }

    /// Child-block roots submitted in L1 blocks `from..=to`.
    pub async fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, B256)>, L1Error> {
        let f = self.filter(Chain::BlockSubmitted::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            let Ok(e) = log.log_decode::<Chain::BlockSubmitted>() else { continue };
            out.push((e.inner.data.blockNumber.saturating_to(), e.inner.data.root));
        }
        Ok(out)
    }

    /// Standard exits started in L1 blocks `from..=to`.
    pub async fn exits(&self, from: u64, to: u64) -> Result<Vec<ExitEvent>, L1Error> {
        let f = self.filter(Chain::ExitStarted::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            let Ok(e) = log.log_decode::<Chain::ExitStarted>() else { continue };
            let e = e.inner.data;
            out.push(ExitEvent {
                exit_id: e.exitId.saturating_to(),
                owner: e.owner,
                position: e.position.saturating_to(),
                token: e.token,
                amount: e.amount,
                exitable_at: e.exitableAt,
            });
        }
        Ok(out)
    }

    /// In-flight exits started in L1 blocks `from..=to`: each exit's id and the signed
    /// transaction, read from the starting call's data.
    pub async fn in_flight_exits(&self, from: u64, to: u64) -> Result<Vec<(u64, SignedTx)>, L1Error> {
        let f = self.filter(Chain::InFlightExitStarted::SIGNATURE_HASH, from, to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            let Ok(e) = log.log_decode::<Chain::InFlightExitStarted>() else { continue };
            let Some(hash) = log.transaction_hash else { continue };
            let Some(tx) = self.l1.provider().get_transaction_by_hash(hash).await? else { continue };
            use alloy::consensus::Transaction as _;
            let Ok(call) = Chain::startInFlightExitCall::abi_decode(tx.input()) else { continue };
            let Ok(signed) = SignedTx::decode(&call.txBytes, &call.sigs) else { continue };
            out.push((e.inner.data.exitId.saturating_to(), signed));
        }
        Ok(out)
    }

    /// The L1 clock: the head block's timestamp.
    pub async fn now(&self) -> Result<u64, L1Error> {
        Ok(self.l1.header(self.l1.head().await?).await?.timestamp)
    }

    fn filter(&self, sig: B256, from: u64, to: u64) -> Filter {
        Filter::new().address(self.contract).event_signature(sig).from_block(from).to_block(to)
    }
}

/// What an in-flight exit's start proved about one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputInfo {
    pub position: u64,
    pub output_id: B256,
    pub owner: Address,
    pub token: Address,
    pub amount: U256,
}

impl InputInfo {
    /// The input `p` of an in-flight transaction, from the inclusion of the transaction creating it.
    pub fn of(p: aqueduct_plasma_protocol::Position, creating: &Included) -> Option<Self> {
        let o = creating.tx.tx.outputs.get(p.output() as usize)?;
        Some(Self {
            position: p.0,
            output_id: aqueduct_plasma_protocol::output_id(creating.tx.tx.hash(), p.output(), p),
            owner: o.owner,
            token: o.token,
            amount: o.amount,
        })
    }

    fn sol(&self) -> Chain::InputInfo {
        Chain::InputInfo {
            position: U256::from(self.position),
            outputId: self.output_id,
            owner: self.owner,
            token: self.token,
            amount: self.amount,
        }
    }
}

fn inclusion(i: &Included) -> Chain::Inclusion {
    Chain::Inclusion { txBytes: i.tx.tx.encode(), sigs: i.tx.sig_bytes(), proof: i.proof.clone() }
}
