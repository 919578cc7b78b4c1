//! Calls run without the chain's lock: a long `eth_call` does not hold up the miner, and reads
//! the state of the block it started on even when a block lands while it runs.

mod common;

use std::{
    sync::{Arc, Barrier},
    time::Instant,
};

use alloy::{
    primitives::{Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::{BlockRef, CallArgs};
use common::{open, tx};

/// Init code of a contract that, called with a word, stores it in slots 0 and 1; called with no
/// data, reads slot 0, burns about 26 M gas in a loop, reads slot 1 and returns both.
fn slow_reader() -> Vec<u8> {
    let runtime: Vec<u8> = vec![
        0x36, 0x15, 0x60, 0x10, 0x57, // CALLDATASIZE ISZERO PUSH1 0x10 JUMPI
        0x60, 0x00, 0x35, 0x80, 0x60, 0x00, 0x55, // v = calldataload(0); sstore(0, v)
        0x60, 0x01, 0x55, 0x00, // sstore(1, v) STOP
        0x5b, 0x60, 0x00, 0x54, // JUMPDEST a = sload(0)
        0x62, 0x0f, 0x42, 0x40, // PUSH3 1_000_000
        0x5b, 0x60, 0x01, 0x90, 0x03, 0x80, 0x60, 0x18, 0x57, // loop: counter - 1, again while not 0
        0x50, 0x60, 0x00, 0x52, // POP mstore(0, a)
        0x60, 0x01, 0x54, 0x60, 0x20, 0x52, // mstore(32, sload(1))
        0x60, 0x40, 0x60, 0x00, 0xf3, // return 64 bytes
    ];
    let mut init =
        vec![0x60, runtime.len() as u8, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, runtime.len() as u8, 0x60, 0x00, 0xf3];
    init.extend(runtime);
    init
}

fn words(out: &[u8]) -> (U256, U256) {
    (U256::from_be_slice(&out[..32]), U256::from_be_slice(&out[32..64]))
}

#[test]
fn a_long_call_holds_up_no_block_and_reads_one_consistent_state() {
    let dir = tempfile::tempdir().unwrap();
    let signer = PrivateKeySigner::random();
    let chain = open(dir.path(), &[signer.address()]);
    let contract = signer.address().create(0);
    let set =
        |nonce: u64, v: u64| tx(&signer, nonce, TxKind::Call(contract), U256::from(v).to_be_bytes_vec(), 0, 100_000);
    chain.submit(tx(&signer, 0, TxKind::Create, slow_reader(), 0, 1_000_000), signer.address()).unwrap();
    chain.submit(set(1, 7), signer.address()).unwrap();
    chain.mine().unwrap();

    let mut call = CallArgs::simple(contract, Bytes::new());
    call.tx.gas_limit = 29_000_000;
    // How long the call takes alone.
    let started = Instant::now();
    let out = chain.call(&call, BlockRef::Latest).unwrap();
    let alone = started.elapsed();
    assert_eq!(words(out.output().unwrap()), (U256::from(7), U256::from(7)));

    // The same call with a block storing a new value in both slots mined while it runs: the
    // block does not wait for the call, and the call reads either state whole, never a mix.
    let mut exercised = 0;
    for round in 0..5u64 {
        let value = 8 + round;
        chain.submit(set(2 + round, value), signer.address()).unwrap();
        let before = chain.call(&call, BlockRef::Latest).map(|o| words(o.output().unwrap())).unwrap();
        let ready = Arc::new(Barrier::new(2));
        let caller = {
            let (chain, ready, call) = (chain.clone(), ready.clone(), call.clone());
            std::thread::spawn(move || {
                ready.wait();
                let began = Instant::now();
                let out = chain.call(&call, BlockRef::Latest).unwrap();
                (words(out.output().unwrap()), began, Instant::now())
            })
        };
        ready.wait();
        std::thread::sleep(alone / 5);
        let mining = Instant::now();
        chain.mine().unwrap();
        let mined = Instant::now();
        let (got, began, done) = caller.join().unwrap();
        let after = (U256::from(value), U256::from(value));
        assert!(got == before || got == after, "the call read a mix of two states: {got:?}");
        if began < mining {
            exercised += 1;
            assert!(mined < done, "the block waited for the call (call alone: {alone:?})");
        }
    }
    assert!(exercised > 0, "no round had the block mined while the call ran");
}
