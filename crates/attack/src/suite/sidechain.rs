//! The sidechain: validators holding more than 2/3 of the stake collude. They sign a checkpoint
//! of the real chain with a forged withdrawals root that pays one of them everything locked, L1
//! accepts it (that is all the bridge can check) and the bridge is drained; an honest user's
//! later withdrawal finds nothing left. The honest validator sees the forged checkpoint and
//! reports it — too late. The trust model stated honestly: a loss it allows.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use aqueduct_contracts::sidechain::{CHILD_BRIDGE, ChildBridge, SidechainBridge};
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_primitives::Signer;
use aqueduct_sidechain_node::{
    l1::{BridgeError, BridgeL1},
    rpc::{SidechainApiClient, sidechain_client},
    start_local_sidechain,
};
use aqueduct_sidechain_protocol::{Checkpoint, SignedCheckpoint, Withdrawal, WithdrawalTree};

use super::{Outcome, Promise, failed};
use crate::AttackError;

const ETH: u128 = 1_000_000_000_000_000_000;
const INTERVAL: u64 = 4;

async fn until<F: Future<Output = bool>>(what: &str, secs: u64, mut f: impl FnMut() -> F) -> Result<(), AttackError> {
    crate::world::wait_for(what, secs, || {
        let ready = f();
        async move { Ok(ready.await) }
    })
    .await
}

/// Three of four validators sign a forged withdrawals root and drain the bridge.
pub async fn collusion() -> Result<Outcome, AttackError> {
    let dir = tempfile::tempdir().map_err(AttackError::TempDir)?;
    let devnet = Devnet::start(L1Config::instant(&dir.path().join("l1")), true)
        .await
        .map_err(|e| failed("starting the L1", e))?;
    let s = devnet.signers.clone();
    let side = start_local_sidechain(&devnet.url(), &s[0], 4, INTERVAL, 1_000)
        .await
        .map_err(|e| failed("starting the sidechain", e))?;
    let l1 = L1Client::new(&devnet.url()).map_err(|e| failed("the L1 client", e))?;
    let bridge = BridgeL1::new(l1.clone(), side.spec.bridge);
    let refused = |what: &str, e: BridgeError| failed(what, e);

    // Three honest users lock 10 ETH each; the validators mint it.
    let users = [s[1].clone(), s[2].clone(), s[3].clone()];
    for u in &users {
        bridge
            .deposit(u, Address::ZERO, u.address(), U256::from(10 * ETH))
            .await
            .map_err(|e| refused("a deposit", e))?;
    }
    let v0 = side.validators[0].shared.clone();
    until("the deposits minted", 60, || {
        let v0 = v0.clone();
        async move { v0.progress().deposits_minted >= 3 }
    })
    .await?;
    let locked = bridge.funds(Address::ZERO).await?;

    // The colluders: validators 0, 1 and 2 (3 of 4 equal stakes = 75 % > 2/3). They take the
    // real chain's next checkpoint range, block hash and state root, and put their own
    // withdrawals root in it: one withdrawal of everything locked, to an address of theirs.
    let thief = s[8].clone();
    let colluders: Vec<Signer> = side.secrets[..3].iter().map(|k| Signer::from_bytes(k).expect("a key")).collect();
    let domain = side.spec.domain();
    let loot = Withdrawal { nonce: 1 << 40, recipient: thief.address(), token: Address::ZERO, amount: locked };
    let tree = WithdrawalTree::of(&[loot]).expect("one leaf");
    let mut accepted = None;
    for _ in 0..10 {
        let number = bridge.checkpoint_count().await?;
        let last: u64 = l1.read(side.spec.bridge, SidechainBridge::lastEndBlockCall {}).await?;
        let end = last + INTERVAL;
        let chain = side.validators[0].chain.clone();
        until("the real chain at the checkpoint's end", 60, || {
            let chain = chain.clone();
            async move { chain.head().header.number >= end }
        })
        .await?;
        let real = side.validators[0].chain.block(aqueduct_chain::BlockRef::Number(end)).expect("executed");
        let forged = Checkpoint {
            number,
            start_block: last + 1,
            end_block: end,
            block_hash: real.hash,
            state_root: real.header.state_root,
            withdrawals_root: tree.root(),
        };
        let quorum = bridge.quorum().await?;
        let mut signed = SignedCheckpoint::new(forged);
        for k in &colluders {
            signed.add(&domain, &quorum, forged.sign(&domain, k)).map_err(|e| failed("a colluder's signature", e))?;
        }
        match bridge.submit_checkpoint(&thief, &signed).await {
            Ok(sent) => {
                accepted = Some((number, sent.gas));
                break;
            }
            // The honest validators posted this number first: take the next one.
            Err(BridgeError::Refused(r)) if r.contains("WrongCheckpointNumber") || r.contains("WrongStartBlock") => {}
            Err(e) => return Err(refused("the forged checkpoint", e)),
        }
    }
    let (number, cp_gas) = accepted.ok_or_else(|| failed("the forged checkpoint", "never got a number"))?;
    let thief_before = l1.balance(thief.address()).await?;
    let drained = bridge
        .withdraw(&thief, number, &loot, 0, tree.proof(0).expect("leaf 0"))
        .await
        .map_err(|e| refused("the drain", e))?;
    let left = bridge.funds(Address::ZERO).await?;
    // What left the bridge went to the thief (who paid only the drain's gas).
    let gain = locked - left;
    let thief_richer = l1.balance(thief.address()).await? > thief_before;

    // An honest user leaves afterwards: burns 1 ETH, waits for its (honest) checkpoint, asks L1.
    let user = &users[0];
    let side_l1 = L1Client::new(&side.url(1)).map_err(|e| failed("a validator client", e))?;
    let child = ChildBridge::new(CHILD_BRIDGE, side_l1.provider());
    let burn = side_l1
        .transact(user, child.withdraw(user.address()).value(U256::from(ETH)).gas(100_000).into_transaction_request())
        .await?;
    let rpc = sidechain_client(&side.url(1)).map_err(|e| failed("a validator client", e))?;
    let mut proof = None;
    for _ in 0..240 {
        if let Ok(Some(p)) = rpc.withdrawal_proof(burn.transaction_hash).await
            && p.on_l1
        {
            proof = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let p = proof.ok_or_else(|| failed("the honest withdrawal's checkpoint", "not on L1 in 60 s"))?;
    let honest = bridge.withdraw(user, p.checkpoint, &p.withdrawal, p.index, p.proof).await;
    let honest_refusal = match &honest {
        Ok(_) => "PAID".to_string(),
        Err(BridgeError::Refused(r)) => r.split('(').next().unwrap_or(r).to_string(),
        Err(e) => e.to_string(),
    };
    // The honest validator (3) compares L1's checkpoints with its own.
    let v3 = side.validators[3].shared.clone();
    let seen = crate::world::wait_for("the honest validator's evidence", 30, || {
        let v3 = v3.clone();
        async move { Ok(!v3.evidence().is_empty()) }
    })
    .await
    .is_ok();
    side.stop().await;
    devnet.stop().await;

    let drained_all = left.is_zero() && thief_richer;
    let held = drained_all && honest.is_err();
    Ok(Outcome {
        family: "sidechain",
        attack: "3 of 4 validators sign a forged root",
        must_be: "validators holding more than 2/3 of the stake",
        setting: "validators 0-2 collude; validator 3 is honest".into(),
        happened: format!(
            "L1 accepted forged checkpoint {number} ({cp_gas} gas, 3 signatures) and paid its one withdrawal ({} gas): {} wei, everything locked, to the colluders ({} wei left); an honest user's withdrawal was then refused ({honest_refusal}); the honest validator {} the forged checkpoint",
            drained.gas,
            locked,
            left,
            if seen { "reported" } else { "did NOT report" }
        ),
        honest_loss_wei: locked.saturating_to(),
        attacker_gain_wei: gain.saturating_to(),
        promise: Promise::LossAllowed,
        held,
        wall_s: 0.0,
    })
}
