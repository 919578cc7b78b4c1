//! `SidechainBridge` on L1 through alloy's provider stack: deployment, deposits and the events
//! validators mint from, the validator set, checkpoints and withdrawals.

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, TransactionReceipt},
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use aqueduct_contracts::{AqueductToken, sidechain::SidechainBridge as Bridge};
pub use aqueduct_eth::Sent;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_sidechain_protocol::{L1Deposit, Quorum, SetChange, SignedCheckpoint, Withdrawal};

use crate::spec::ValidatorInfo;

/// A validator-set event on L1: a candidate announced itself, or a checkpoint applied changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetEvent {
    Candidate(ValidatorInfo),
    Changed(SetChange),
}

/// Why L1 refused a bridge call, by the contract's error name when it gave one.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("the bridge refused: {0}")]
    Refused(String),
    #[error(transparent)]
    L1(#[from] L1Error),
}

fn refusal(e: L1Error) -> BridgeError {
    if let Some(err) = e.revert_as::<Bridge::SidechainBridgeErrors>() {
        return BridgeError::Refused(format!("{err:?}"));
    }
    e.into()
}

/// Deploys the bridge with the first validator set (equal stake each).
pub async fn deploy_bridge(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    sidechain_id: u64,
    validators: &[Address],
) -> Result<(Address, u64), L1Error> {
    let mut sorted = validators.to_vec();
    sorted.sort();
    let stakes = vec![U256::from(10u64.pow(18)); sorted.len()];
    // The code (~13 KB) and two new slots a validator.
    let gas = 3_500_000 + 60_000 * sorted.len() as u64;
    let tx = Bridge::deploy_builder(l1.provider(), sidechain_id, U256::from(10u64.pow(18)), sorted, stakes)
        .gas(gas)
        .into_transaction_request();
    let hash = l1.send_request(deployer, tx).await?;
    let r = l1.wait(hash).await?;
    let addr = r.contract_address.ok_or(L1Error::NoAddress(hash))?;
    Ok((addr, r.block_number.unwrap_or(0)))
}

/// Calls to one bridge.
#[derive(Clone, Debug)]
pub struct BridgeL1 {
    pub l1: L1Client,
    pub bridge: Address,
}

impl BridgeL1 {
    pub fn new(l1: L1Client, bridge: Address) -> Self {
        Self { l1, bridge }
    }

    fn contract(&self) -> Bridge::SidechainBridgeInstance<&DynProvider> {
        Bridge::new(self.bridge, self.l1.provider())
    }

    /// Deposits in L1 blocks `from..=to`.
    pub async fn deposits(&self, from: u64, to: u64) -> Result<Vec<L1Deposit>, L1Error> {
        let f = Filter::new()
            .address(self.bridge)
            .event_signature(Bridge::Deposited::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            let block = log.block_number.unwrap_or(0);
            let Ok(e) = log.log_decode::<Bridge::Deposited>() else { continue };
            let e = e.inner.data;
            out.push(L1Deposit {
                nonce: e.nonce,
                l1_block: block,
                depositor: e.depositor,
                recipient: e.recipient,
                token: e.token,
                amount: e.amount,
            });
        }
        Ok(out)
    }

    /// Join requests and applied set changes in L1 blocks `from..=to`, in L1 order. A join
    /// request whose addresses do not parse is skipped (its candidate cannot be reached).
    pub async fn set_events(&self, from: u64, to: u64) -> Result<Vec<SetEvent>, L1Error> {
        let f = Filter::new()
            .address(self.bridge)
            .event_signature(vec![
                Bridge::ValidatorJoinRequested::SIGNATURE_HASH,
                Bridge::ValidatorSetChanged::SIGNATURE_HASH,
            ])
            .from_block(from)
            .to_block(to);
        let mut out = Vec::new();
        for log in self.l1.provider().get_logs(&f).await? {
            if let Ok(e) = log.log_decode::<Bridge::ValidatorJoinRequested>() {
                let e = e.inner.data;
                let key = alloy::primitives::hex::encode(e.consensusKey);
                match (e.p2p.parse(), crate::spec::consensus_key(&key)) {
                    (Ok(p2p), Ok(_)) => out.push(SetEvent::Candidate(ValidatorInfo {
                        signer: e.validator,
                        consensus_key: key,
                        p2p,
                        rpc: e.rpc,
                    })),
                    _ => {
                        tracing::warn!(target: "sidechain", validator = %e.validator, p2p = %e.p2p, "join request with an unusable key or address")
                    }
                }
            } else if let Ok(e) = log.log_decode::<Bridge::ValidatorSetChanged>() {
                let e = e.inner.data;
                out.push(SetEvent::Changed(SetChange {
                    epoch: e.epoch,
                    at_checkpoint: e.atCheckpoint,
                    validators: e.validators,
                }));
            }
        }
        Ok(out)
    }

    /// Bonds `stake` for `signer` to join at the next checkpoint, announcing its consensus key
    /// and addresses.
    pub async fn request_join(
        &self,
        signer: &PrivateKeySigner,
        stake: U256,
        info: &ValidatorInfo,
    ) -> Result<Sent, BridgeError> {
        let key = crate::spec::consensus_key(&info.consensus_key).map_err(|e| BridgeError::Refused(e.to_string()))?;
        let key = B256::from_slice(commonware_codec::Encode::encode(&key).as_ref());
        let tx = self
            .contract()
            .requestJoin(key, info.p2p.to_string(), info.rpc.clone())
            .value(stake)
            .gas(200_000)
            .into_transaction_request();
        Ok(Sent::from(&self.send(signer, tx).await?))
    }

    /// Leaves the set at the next checkpoint.
    pub async fn request_leave(&self, signer: &PrivateKeySigner) -> Result<Sent, BridgeError> {
        let tx = self.contract().requestLeave().gas(100_000).into_transaction_request();
        Ok(Sent::from(&self.send(signer, tx).await?))
    }

    /// The validator set and its stake as the bridge holds it now.
    pub async fn quorum(&self) -> Result<Quorum, L1Error> {
        let r = self.l1.read(self.bridge, Bridge::validatorsCall {}).await?;
        Ok(Quorum { validators: r.list.into_iter().zip(r.stakes).collect() })
    }

    pub async fn checkpoint_count(&self) -> Result<u64, L1Error> {
        self.l1.read(self.bridge, Bridge::checkpointCountCall {}).await
    }

    /// `keccak256(abi.encode(checkpoint))` of checkpoint `number` as L1 accepted it.
    pub async fn checkpoint_hash(&self, number: u64) -> Result<B256, L1Error> {
        self.l1.read(self.bridge, Bridge::checkpointHashesCall(U256::from(number))).await
    }

    pub async fn withdrawals_root(&self, number: u64) -> Result<B256, L1Error> {
        self.l1.read(self.bridge, Bridge::withdrawalsRootsCall(U256::from(number))).await
    }

    pub async fn is_withdrawn(&self, nonce: u64) -> Result<bool, L1Error> {
        self.l1.read(self.bridge, Bridge::isWithdrawnCall { nonce }).await
    }

    pub async fn funds(&self, token: Address) -> Result<U256, L1Error> {
        self.l1.read(self.bridge, Bridge::fundsCall(token)).await
    }

    async fn send(
        &self,
        signer: &PrivateKeySigner,
        tx: alloy::rpc::types::TransactionRequest,
    ) -> Result<TransactionReceipt, BridgeError> {
        self.l1.transact(signer, tx).await.map_err(refusal)
    }

    pub async fn submit_checkpoint(
        &self,
        signer: &PrivateKeySigner,
        cp: &SignedCheckpoint,
    ) -> Result<Sent, BridgeError> {
        // Room for applying pending set changes in the same call (the list rebuilt, bonds
        // returned): unused gas is not paid.
        let gas = 520_000 + 20_000 * cp.signatures.len() as u64;
        let tx =
            self.contract().submitCheckpoint(cp.checkpoint.to_abi(), cp.packed()).gas(gas).into_transaction_request();
        Ok(Sent::from(&self.send(signer, tx).await?))
    }

    /// Locks `amount` of `token` (zero: ETH; an ERC-20 is approved first) for `recipient`.
    /// Returns the deposit's nonce.
    pub async fn deposit(
        &self,
        signer: &PrivateKeySigner,
        token: Address,
        recipient: Address,
        amount: U256,
    ) -> Result<(u64, Sent), BridgeError> {
        let r = if token == Address::ZERO {
            self.send(
                signer,
                self.contract().depositETH(recipient).value(amount).gas(120_000).into_transaction_request(),
            )
            .await?
        } else {
            let erc20 = AqueductToken::new(token, self.l1.provider());
            self.send(signer, erc20.approve(self.bridge, amount).gas(100_000).into_transaction_request()).await?;
            self.send(
                signer,
                self.contract().depositERC20(token, recipient, amount).gas(150_000).into_transaction_request(),
            )
            .await?
        };
        let nonce = r
            .inner
            .logs()
            .iter()
            .find_map(|l| Bridge::Deposited::decode_log_data(l.data()).ok())
            .ok_or(L1Error::MissingEvent { tx: r.transaction_hash, event: "Deposited" })?
            .nonce;
        Ok((nonce, Sent::from(&r)))
    }

    /// Pays withdrawal `w`, leaf `index` of checkpoint `number`.
    pub async fn withdraw(
        &self,
        signer: &PrivateKeySigner,
        number: u64,
        w: &Withdrawal,
        index: u64,
        proof: Vec<B256>,
    ) -> Result<Sent, BridgeError> {
        let tx = self
            .contract()
            .withdraw(U256::from(number), w.to_abi(), U256::from(index), proof)
            .gas(200_000)
            .into_transaction_request();
        Ok(Sent::from(&self.send(signer, tx).await?))
    }
}

/// The aggregate-BLS checkpoint variant (`BlsCheckpoints`), deployed and called to measure its
/// gas beside the bridge's per-signer secp256k1 checkpoints.
pub mod bls {
    use alloy::primitives::{Address, B256, Bytes, U256};
    use aqueduct_contracts::sidechain::{BlsCheckpoints, bls::BlsCheckpoints::Checkpoint as BlsCheckpoint};
    use aqueduct_eth::{L1Client, L1Error, Sent};
    use aqueduct_sidechain_protocol::Checkpoint;

    use super::BridgeError;

    fn abi(c: &Checkpoint) -> BlsCheckpoint {
        BlsCheckpoint {
            number: c.number,
            startBlock: c.start_block,
            endBlock: c.end_block,
            blockHash: c.block_hash,
            stateRoot: c.state_root,
            withdrawalsRoot: c.withdrawals_root,
        }
    }

    /// Deploys it for validators with these public keys (EIP-2537 G1, in index order).
    pub async fn deploy(
        l1: &L1Client,
        deployer: &alloy::signers::local::PrivateKeySigner,
        keys: &[[u8; 128]],
    ) -> Result<Address, L1Error> {
        let tx = BlsCheckpoints::deploy_builder(l1.provider(), Bytes::from(keys.concat()))
            .gas(2_500_000)
            .into_transaction_request();
        let hash = l1.send_request(deployer, tx).await?;
        let r = l1.wait(hash).await?;
        r.contract_address.ok_or(L1Error::NoAddress(hash))
    }

    /// What the validators sign for checkpoint `c`.
    pub async fn message(l1: &L1Client, at: Address, c: &Checkpoint) -> Result<B256, L1Error> {
        l1.read(at, BlsCheckpoints::messageCall { c: abi(c) }).await
    }

    /// Submits `c` with the aggregate `signature` of the validators in `signers` (bit i: key i).
    pub async fn submit(
        l1: &L1Client,
        sender: &alloy::signers::local::PrivateKeySigner,
        at: Address,
        c: &Checkpoint,
        keys: &[[u8; 128]],
        signers: U256,
        signature: &[u8; 256],
    ) -> Result<Sent, BridgeError> {
        let tx = BlsCheckpoints::new(at, l1.provider())
            .submitCheckpoint(abi(c), Bytes::from(keys.concat()), signers, Bytes::copy_from_slice(signature))
            .gas(1_500_000)
            .into_transaction_request();
        let r =
            l1.transact(sender, tx).await.map_err(|e| match e.revert_as::<BlsCheckpoints::BlsCheckpointsErrors>() {
                Some(err) => BridgeError::Refused(format!("{err:?}")),
                None => e.into(),
            })?;
        Ok(Sent::from(&r))
    }
}
