//! The ZK rollup and the validium: an operator that lies about the state root cannot get it
//! verified; an operator that stops leaves users the exodus hatch — which works where the data
//! is on L1, and freezes every balance in a validium whose committee withholds the data.

use std::sync::Arc;

use alloy::{
    primitives::{Address, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::{L1Call, L1Client, L1Error};
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_zk_circuit::{CircuitParams, Prover, evm};
use aqueduct_zk_node::{
    DacClient, DacMember, DataAvailability, Operator, ZkDeployParams, deploy_zk, exit_call, field_to_u256, reconstruct,
};
use aqueduct_zk_protocol::{Amount32, F, OpKind, SecretKey, TreeShape, UnsignedTx};

use super::{Outcome, Promise, advance, failed};
use crate::{AttackError, world::ETH};

/// A small circuit: the attacks are about L1's rules, not block size.
const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };
const PARAMS: CircuitParams = CircuitParams { shape: SHAPE, slots: 4, onchain_slots: 4, domain: 9 };
/// Seconds a priority request may wait before exodus may start.
const EXPIRY: u64 = 600;

async fn send(
    l1: &L1Client,
    who: &PrivateKeySigner,
    to: Address,
    value: u128,
    input: Vec<u8>,
) -> Result<u64, AttackError> {
    let call = L1Call { to: TxKind::Call(to), value: U256::from(value), input: input.into(), gas_limit: 3_000_000 };
    let h = l1.send_call(who, &call).await?;
    Ok(l1.wait(h).await?.gas_used)
}

async fn refused(l1: &L1Client, who: &PrivateKeySigner, to: Address, input: Vec<u8>) -> Result<bool, AttackError> {
    let call = L1Call { to: TxKind::Call(to), value: U256::ZERO, input: input.into(), gas_limit: 3_000_000 };
    match l1.simulate(who.address(), &call).await {
        Err(L1Error::WouldRevert { .. }) => Ok(true),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(false),
    }
}

/// A rollup (or a validium with a 2-of-3 committee serving JSON-RPC) with Alice and Bob, each
/// 1 ETH deposited and an L2 key, and a few transfers between them verified on L1.
struct World {
    _dir: tempfile::TempDir,
    devnet: Devnet,
    l1: L1Client,
    rollup: Address,
    op: Operator,
    users: [(PrivateKeySigner, SecretKey); 2],
    members: Vec<(Arc<DacMember>, jsonrpsee::server::ServerHandle)>,
    committee: Vec<DacClient>,
    /// Neither user nor operator: sends what anyone may send.
    anyone: PrivateKeySigner,
}

async fn world(validium: bool) -> Result<World, AttackError> {
    let dir = tempfile::tempdir().map_err(AttackError::TempDir)?;
    let devnet = Devnet::start(L1Config::instant(&dir.path().join("l1")), true).await?;
    let l1 = L1Client::new(&devnet.url())?;
    let s = devnet.signers.clone();
    let operator = s[0].clone();
    let prover = tokio::task::spawn_blocking(|| Prover::setup(PARAMS))
        .await
        .map_err(|e| failed("key generation", e))?
        .map_err(|e| failed("key generation", e))?;
    let prover = Arc::new(prover);
    let member_keys: Vec<PrivateKeySigner> = if validium { s[5..8].to_vec() } else { vec![] };
    let dep = deploy_zk(
        &l1,
        &operator,
        prover.vk(),
        &ZkDeployParams {
            circuit: PARAMS,
            operator: operator.address(),
            priority_expiry: EXPIRY,
            committee: member_keys.iter().map(|k| k.address()).collect(),
            threshold: if validium { 2 } else { 0 },
        },
    )
    .await
    .map_err(|e| failed("deploying", e))?;
    let chain_id = l1.chain_id().await?;
    let (mut members, mut committee) = (Vec::new(), Vec::new());
    for (i, k) in member_keys.iter().enumerate() {
        let m = Arc::new(
            DacMember::open(k.clone(), chain_id, dep.rollup, &dir.path().join(format!("dac{i}.redb")))
                .map_err(|e| failed("a committee member", e))?,
        );
        let (addr, handle) =
            m.clone().serve("127.0.0.1:0".parse().expect("an address")).await.map_err(|e| failed("serving", e))?;
        committee.push(DacClient::new(format!("http://{addr}")));
        members.push((m, handle));
    }
    let da = if validium {
        DataAvailability::Validium { committee: committee.clone(), threshold: 2 }
    } else {
        DataAvailability::Rollup
    };
    let mut op = Operator::open(l1.clone(), operator, dep.rollup, prover, da, &dir.path().join("zk.redb"))
        .await
        .map_err(|e| failed("the operator", e))?;
    let users = [(s[1].clone(), SecretKey::from_seed([0x1a; 32])), (s[2].clone(), SecretKey::from_seed([0x1b; 32]))];
    for (who, key) in &users {
        send(&l1, who, dep.rollup, ETH, ZkRollup::depositETHCall { to: who.address() }.abi_encode()).await?;
        let call = ZkRollup::changeKeyCall { pubkeyHash: field_to_u256(&key.public().hash()) };
        send(&l1, who, dep.rollup, 0, call.abi_encode()).await?;
    }
    op.sync().await.map_err(|e| failed("reading L1", e))?;
    op.produce_block().await.map_err(|e| failed("a block", e))?;
    for i in 0..4u32 {
        let (key, from, to) = if i % 2 == 0 { (&users[0].1, 1, 2) } else { (&users[1].1, 2, 1) };
        let amount = Amount32::pack(ETH / 100 * (1 + i as u128)).expect("exact");
        let nonce = op.next_nonce(from);
        op.submit(UnsignedTx { kind: OpKind::Transfer, from, to, token: 0, amount, nonce }.sign(PARAMS.domain, key))
            .map_err(|e| failed("a transfer", e))?;
    }
    op.produce_block().await.map_err(|e| failed("a block", e))?;
    Ok(World { _dir: dir, devnet, l1, rollup: dep.rollup, op, users, members, committee, anyone: s[9].clone() })
}

/// The operator commits a block with a state root of its choosing and tries to verify it with
/// a real proof of the honest block.
pub async fn invalid_proof() -> Result<Outcome, AttackError> {
    let mut w = world(false).await?;
    let root_before = w.l1.read(w.rollup, ZkRollup::stateRootCall {}).await?;
    let key = &w.users[0].1;
    let nonce = w.op.next_nonce(1);
    w.op.submit(
        UnsignedTx {
            kind: OpKind::Transfer,
            from: 1,
            to: 2,
            token: 0,
            amount: Amount32::pack(ETH / 100).expect("exact"),
            nonce,
        }
        .sign(PARAMS.domain, key),
    )
    .map_err(|e| failed("a transfer", e))?;
    let honest = w.op.prepare().map_err(|e| failed("a block", e))?.ok_or_else(|| failed("a block", "none"))?;
    // The lie: the same block with another new root (one that, say, credits the operator).
    let mut lie = honest.clone();
    let mut witness = (*honest.witness).clone();
    witness.new_root += F::from(1u64);
    lie.witness = Arc::new(witness);
    let settler = w.op.settler();
    let (_, commit_gas) = settler.commit(&lie).await.map_err(|e| failed("committing the lie", e))?;
    let proof = settler.prove(&honest).await.map_err(|e| failed("proving", e))?;
    let words = evm::proof_words(&proof).map(U256::from_be_bytes);
    let verified = settler.verify(&lie, words).await;
    // And the lie cannot be proven at all: its witness does not satisfy the circuit.
    let lie_proof = settler.prove(&lie).await;
    let root_after = w.l1.read(w.rollup, ZkRollup::stateRootCall {}).await?;
    w.devnet.stop().await;
    let refused = verified.is_err();
    let held = refused && root_after == root_before && lie_proof.is_err();
    Ok(Outcome {
        family: "ZK rollup",
        attack: "operator commits a false state root",
        must_be: "no one: the validity proof",
        setting: "the operator lies; no one watches".into(),
        happened: format!(
            "the false root was committed ({commit_gas} gas); its verification with a real proof was {} ({}); the prover {} a proof of it; L1's root {}",
            if refused { "refused" } else { "ACCEPTED" },
            verified.as_ref().err().map_or("-".into(), |e| {
                let text = e.to_string();
                let selector = alloy::hex::encode(<ZkRollup::InvalidProof as alloy::sol_types::SolError>::SELECTOR);
                if text.contains(&selector) { "InvalidProof".to_string() } else { text }
            }),
            if lie_proof.is_err() { "cannot make" } else { "MADE" },
            if root_after == root_before { "did not move" } else { "MOVED" },
        ),
        honest_loss_wei: 0,
        attacker_gain_wei: 0,
        promise: Promise::NoLoss,
        held,
        wall_s: 0.0,
    })
}

/// The operator stops (and, in a validium, the committee withholds the data); a deposit waits
/// past its deadline, exodus starts and each user tries to leave with its last verified balance.
pub async fn operator_stops(validium: bool) -> Result<Outcome, AttackError> {
    let w = world(validium).await?;
    let (l1, rollup) = (w.l1.clone(), w.rollup);
    let state = w.op.state().clone();
    let owed: Vec<u128> = [1u32, 2].iter().map(|i| state.account(*i).map_or(0, |a| a.balance(0))).collect();
    for (m, _) in &w.members {
        m.set_withholding(true);
    }
    drop(w.op);
    let (alice, bob) = (w.users[0].0.clone(), w.users[1].0.clone());
    // Anyone may send exodus calls; a third party sends them, so the users' balances move only
    // by what L1 pays them.
    let anyone = w.anyone.clone();
    send(&l1, &alice, rollup, ETH / 4, ZkRollup::depositETHCall { to: alice.address() }.abi_encode()).await?;
    advance(&l1, EXPIRY + 60).await?;
    send(&l1, &anyone, rollup, 0, ZkRollup::activateExodusCall {}.abi_encode()).await?;
    let rebuilt = reconstruct(&l1, rollup, SHAPE, PARAMS.domain, &w.committee)
        .await
        .map_err(|e| failed("rebuilding from L1", e))?;
    let mut paid = Vec::new();
    for (index, who) in [(1u32, &alice), (2u32, &bob)] {
        let before = l1.balance(who.address()).await?;
        match exit_call(&rebuilt.state, index, 0) {
            Some((_, call)) if rebuilt.complete() => {
                send(&l1, &anyone, rollup, 0, call.abi_encode()).await?;
                if !refused(&l1, &anyone, rollup, call.abi_encode()).await? {
                    return Err(AttackError::Failed("a second exit was not refused".into()));
                }
            }
            _ => {}
        }
        paid.push(l1.balance(who.address()).await?.saturating_sub(before).saturating_to::<u128>());
    }
    let before = l1.balance(alice.address()).await?;
    send(&l1, &anyone, rollup, 0, ZkRollup::refundDepositsCall { max: 10 }.abi_encode()).await?;
    let refunded = l1.balance(alice.address()).await?.saturating_sub(before).saturating_to::<u128>();
    let locked = l1.balance(rollup).await?.saturating_to::<u128>();
    for (_, h) in w.members {
        let _ = h.stop();
    }
    w.devnet.stop().await;
    let owed_total: u128 = owed.iter().sum();
    let paid_total: u128 = paid.iter().sum();
    let loss = owed_total.saturating_sub(paid_total);
    let (promise, held) = if validium {
        // The design's price: no data, no exit. Every balance stays locked (frozen, not stolen).
        (Promise::LossAllowed, !rebuilt.complete() && paid_total == 0 && locked == owed_total && refunded == ETH / 4)
    } else {
        (Promise::NoLoss, rebuilt.complete() && loss == 0 && locked == 0 && refunded == ETH / 4)
    };
    Ok(Outcome {
        family: if validium { "validium" } else { "ZK rollup" },
        attack: if validium { "committee withholds, operator stops" } else { "operator stops (exodus)" },
        must_be: if validium { "one committee member serving the data" } else { "no one: the data is on L1 (exodus)" },
        setting: if validium { "all three members withhold".into() } else { "the operator is gone".into() },
        happened: format!(
            "exodus started; the state {} from L1{}; users were paid {} of {} wei owed by exits, the unserved deposit ({} wei) was refunded; {} wei stay locked",
            if rebuilt.complete() { "was rebuilt" } else { "could not be rebuilt" },
            rebuilt.withheld.map_or(String::new(), |b| format!(" (block {b}'s data withheld)")),
            paid_total,
            owed_total,
            refunded,
            locked
        ),
        honest_loss_wei: loss,
        attacker_gain_wei: 0,
        promise,
        held,
        wall_s: 0.0,
    })
}
