//! The aggregate-BLS checkpoint variant on the embedded L1: `BlsCheckpoints` accepts the
//! aggregate signature of more than 2/3 of the validators over its message (EIP-2537's pairing
//! check), and refuses one over another checkpoint, one from too few, and a forged signer set.

use alloy::primitives::{B256, U256};
use aqueduct_eth::L1Client;
use aqueduct_sidechain_node::l1::{BridgeError, bls};
use aqueduct_sidechain_protocol::{BlsKey, Checkpoint, bls_aggregate};

fn checkpoint(number: u64, start: u64) -> Checkpoint {
    Checkpoint {
        number,
        start_block: start,
        end_block: start + 7,
        block_hash: B256::repeat_byte(1),
        state_root: B256::repeat_byte(2),
        withdrawals_root: B256::repeat_byte(3),
    }
}

#[tokio::test]
async fn an_aggregate_of_more_than_two_thirds_is_accepted_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = aqueduct_testkit::embedded_l1(dir.path(), false).await;
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let payer = devnet.signers[0].clone();
    let keys: Vec<BlsKey> = (0..4u8).map(|i| BlsKey::from_seed(&B256::repeat_byte(0x40 + i))).collect();
    let pks: Vec<[u8; 128]> = keys.iter().map(|k| k.public_key()).collect();
    let at = bls::deploy(&l1, &payer, &pks).await.unwrap();

    let cp = checkpoint(0, 1);
    let m = bls::message(&l1, at, &cp).await.unwrap();
    let sign =
        |who: &[usize], m: &B256| bls_aggregate(&who.iter().map(|i| keys[*i].sign(m)).collect::<Vec<_>>()).unwrap();
    let bits = |who: &[usize]| who.iter().fold(U256::ZERO, |acc, i| acc | (U256::from(1) << *i));
    let refused = |r: Result<_, BridgeError>, what: &str| match r {
        Err(BridgeError::Refused(why)) => assert!(why.contains(what), "{why}"),
        other => panic!("expected {what}, got {other:?}"),
    };

    // Two of four is not more than 2/3.
    refused(bls::submit(&l1, &payer, at, &cp, &pks, bits(&[0, 1]), &sign(&[0, 1], &m)).await, "NotEnoughSigners");
    // Three signed another checkpoint's message.
    let other = bls::message(&l1, at, &checkpoint(0, 2)).await.unwrap();
    refused(bls::submit(&l1, &payer, at, &cp, &pks, bits(&[0, 1, 2]), &sign(&[0, 1, 2], &other)).await, "BadSignature");
    // Three signatures claimed for a set that holds another signer.
    refused(bls::submit(&l1, &payer, at, &cp, &pks, bits(&[0, 1, 3]), &sign(&[0, 1, 2], &m)).await, "BadSignature");
    // Three of four over its own message.
    let sent = bls::submit(&l1, &payer, at, &cp, &pks, bits(&[0, 1, 2]), &sign(&[0, 1, 2], &m)).await.unwrap();
    assert!(sent.gas > 100_000 && sent.gas < 300_000, "gas {}", sent.gas);
    // And the next one, by another three.
    let cp1 = checkpoint(1, 9);
    let m1 = bls::message(&l1, at, &cp1).await.unwrap();
    bls::submit(&l1, &payer, at, &cp1, &pks, bits(&[1, 2, 3]), &sign(&[1, 2, 3], &m1)).await.unwrap();
}
