//! The dispute game against anvil: everything but the one-step verification (anvil has no
//! EXECUTE precompile) runs on a plain Ethereum node. The rollup and dispute contracts are
//! deployed on anvil; an L2 chain is built in-process; the honest challenger and a lying
//! proposer bisect the blocks over anvil's JSON-RPC. At the leaf the liar cannot publish its
//! block (`NoExecutePrecompile`), its clock runs out (anvil's clock moved with
//! `evm_increaseTime`) and the challenger wins on time; then a false challenger goes silent and
//! the proposer wins on time.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, Bytes, TxKind, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolInterface},
};
use aqueduct_attack::{Corruption, make_lie};
use aqueduct_bench::Anvil;
use aqueduct_chain::{BlockAttributes, Chain, ChainTx};
use aqueduct_contracts::rollup::{DisputeGame, OutputOracle, step_verifier::ExecuteStepVerifier};
use aqueduct_l1::dev_signers;
use aqueduct_rollup_node::{
    Challenger, DeployParams, DisputeParams, L1Call, L1Client, L1Error, L1Fees, deploy, deploy_dispute,
    l2_chain_config, l2_genesis, output_at, sign_1559,
};
use rand::SeedableRng;
use tokio_util::sync::CancellationToken;

const ETH: u128 = 1_000_000_000_000_000_000;
const CLOCK: u64 = 3_600;

fn transfer(chain: &Chain, from: &PrivateKeySigner, nonce: u64, to: Address) -> ChainTx {
    let call =
        L1Call { to: TxKind::Call(to), value: U256::from(1_000 + nonce), input: Bytes::new(), gas_limit: 21_000 };
    let fees = L1Fees { base_fee: 1_000_000_000, tip: 1_000_000, ..Default::default() };
    chain.decode_raw_tx(&sign_1559(from, 901, nonce, fees, &call)).unwrap()
}

/// The revert data of `call` from `from`, which must be refused.
async fn refusal(l1: &L1Client, from: Address, call: &L1Call) -> Bytes {
    match l1.simulate(from, call).await {
        Err(L1Error::WouldRevert { data }) => data,
        other => panic!("expected a revert: {other:?}"),
    }
}

async fn rpc(l1: &L1Client, method: &'static str, params: serde_json::Value) {
    let _: serde_json::Value = l1.provider().raw_request(method.into(), params).await.unwrap();
}

async fn game(l1: &L1Client, at: Address, id: u64) -> DisputeGame::Game {
    l1.read(at, DisputeGame::getGameCall { gameId: U256::from(id) }).await.unwrap()
}

/// Game `id` once it exists.
async fn opened(l1: &L1Client, at: Address, id: u64) -> Option<DisputeGame::Game> {
    let n: U256 = l1.read(at, DisputeGame::gameCountCall {}).await.unwrap();
    if n > U256::from(id) { Some(game(l1, at, id).await) } else { None }
}

async fn wait(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the silent side is to move and nobody has moved for a while, then moves anvil's
/// clock to where its time is up.
async fn run_out_clock(l1: &L1Client, at: Address, id: u64, defender_silent: bool) -> u64 {
    wait("the silent side on move", 120, async || {
        opened(l1, at, id).await.is_some_and(|g| g.defenderToMove == defender_silent && g.moves > 1)
    })
    .await;
    let moves = game(l1, at, id).await.moves;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(game(l1, at, id).await.moves, moves, "nobody moves while the silent side is on move");
    let left: u64 =
        l1.read(at, DisputeGame::clockLeftCall { gameId: U256::from(id) }).await.unwrap().left.saturating_to();
    assert!(left > 0 && left <= CLOCK + 1, "{left}");
    rpc(l1, "evm_increaseTime", serde_json::json!([left])).await;
    rpc(l1, "evm_mine", serde_json::json!([])).await;
    left
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bisection_and_clocks_run_on_anvil() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let anvil = Anvil::spawn(port, 31337, 30_000_000, None).await.expect("anvil (scripts/tools.sh installs it)");
    let l1 = L1Client::new(&anvil.url).unwrap();
    let s = dev_signers(10).unwrap();
    let dep = deploy(
        &l1,
        &s[0],
        &DeployParams { batcher: s[1].address(), bond: U256::from(ETH / 10), finalization_period: 600 },
    )
    .await
    .unwrap();
    let cfg = dep.rollup_config(901, 500, s[1].address());
    let funded: Vec<Address> = s.iter().map(|x| x.address()).collect();
    let genesis = l2_genesis(&cfg, &funded, U256::from(1000 * ETH));
    deploy_dispute(
        &l1,
        &s[0],
        &dep,
        &cfg,
        30_000_000,
        &genesis,
        &DisputeParams { clock: CLOCK, base_bond: U256::from(ETH / 100) },
    )
    .await
    .unwrap();

    // An L2 chain of 16 blocks of transfers, built here (its roots are what the players know).
    let dir = tempfile::tempdir().unwrap();
    let chain: Arc<Chain> = Chain::open(l2_chain_config(&cfg, 30_000_000, dir.path().join("l2"), genesis)).unwrap();
    for n in 0..16u64 {
        let txs =
            (0..3).map(|i| transfer(&chain, &s[6 + i as usize], n, Address::repeat_byte(0x70 + i as u8))).collect();
        chain.build_block(BlockAttributes { transactions: txs, ..Default::default() }).unwrap();
    }
    let player = |key: &PrivateKeySigner, challenge: bool| {
        let mut c = Challenger::new(chain.clone(), l1.clone(), cfg.clone(), key.clone(), Duration::from_millis(100));
        c.challenge = challenge;
        c
    };
    let propose = async |by: &PrivateKeySigner, root, block: u64| {
        let call = L1Call {
            to: TxKind::Call(cfg.oracle),
            value: U256::from(ETH / 10),
            input: OutputOracle::proposeOutputCall { outputRoot: root, l2BlockNumber: U256::from(block) }
                .abi_encode()
                .into(),
            gas_limit: 300_000,
        };
        let h = l1.send_call(by, &call).await.unwrap();
        l1.wait(h).await.unwrap();
    };
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    tokio::spawn(player(&s[3], true).run(cancel.clone()));
    tokio::spawn(player(&s[2], false).run(cancel.clone()));

    // 1. A wrong output at block 16, corrupted from some block on: the blocks are bisected on
    // anvil down to one; the liar cannot open its steps there and loses on time.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let lie = make_lie(&chain, Corruption::BalanceChanged, 0, 16, &s[4], &mut rng).unwrap();
    let mut liar = player(&s[4], false);
    lie.teach(&mut liar);
    tokio::spawn(liar.run(cancel.clone()));
    propose(&s[4], lie.output().hash(), 16).await;
    wait("the block bisection to reach one block", 120, async || {
        opened(&l1, cfg.dispute_game, 0).await.is_some_and(|g| g.hi - g.lo == 1 && g.defenderToMove)
    })
    .await;
    let g = game(&l1, cfg.dispute_game, 0).await;
    assert_eq!(g.hi, lie.first_wrong_block, "the bisection finds the first wrong block: {g:?}");
    assert!(g.moves >= 8, "challenge + 4 claims and answers over 16 blocks, at least: {g:?}");
    // The leaf's block cannot be checked without EXECUTE: the liar's openSteps reverts by name.
    let b = chain.block(aqueduct_chain::BlockRef::Number(g.hi)).unwrap();
    let bond: U256 = l1.read(cfg.dispute_game, DisputeGame::moveBondCall { depth: U256::from(g.moves) }).await.unwrap();
    let proof =
        |o: aqueduct_rollup_protocol::OutputRoot| aqueduct_contracts::rollup::game::RollupLib::OutputRootProof {
            version: o.version,
            stateRoot: o.state_root,
            withdrawalsRoot: o.withdrawals_root,
            latestBlockhash: o.block_hash,
        };
    let open = DisputeGame::openStepsCall {
        gameId: U256::ZERO,
        agreed: proof(output_at(&chain, g.hi - 1).unwrap()),
        disputed: proof(lie.outputs[&g.hi]),
        blockData: aqueduct_chain::StepBlock::new(b.header.clone(), b.txs.clone()).encode().into(),
    };
    let call = L1Call {
        to: TxKind::Call(cfg.dispute_game),
        value: bond,
        input: open.abi_encode().into(),
        gas_limit: 3_000_000,
    };
    let data = refusal(&l1, s[4].address(), &call).await;
    assert!(
        matches!(
            ExecuteStepVerifier::ExecuteStepVerifierErrors::abi_decode(&data),
            Ok(ExecuteStepVerifier::ExecuteStepVerifierErrors::NoExecutePrecompile(_))
        ),
        "openSteps on anvil: {data}"
    );
    let advanced = run_out_clock(&l1, cfg.dispute_game, 0, true).await;
    wait("the challenger's timeout claim", 60, async || game(&l1, cfg.dispute_game, 0).await.status != 1).await;
    let g = game(&l1, cfg.dispute_game, 0).await;
    assert_eq!(g.status, 2, "the challenger wins on time after {advanced} s: {g:?}");
    let next: U256 = l1.read(cfg.oracle, OutputOracle::nextOutputIndexCall {}).await.unwrap();
    assert_eq!(next, U256::ZERO, "the wrong output is deleted");
    let credit: U256 = l1.read(cfg.dispute_game, DisputeGame::creditCall(s[3].address())).await.unwrap();
    assert!(credit > U256::from(ETH / 10), "the challenger holds the liar's bonds: {credit}");

    // 2. A false challenger disputes the honest output and goes silent after three moves.
    let belief = aqueduct_attack::false_belief(&chain, 16, &mut rng).unwrap();
    let mut fc = player(&s[5], true);
    belief.teach(&mut fc);
    let fc_actions = fc.actions.clone();
    let fc_cancel = CancellationToken::new();
    tokio::spawn(fc.run(fc_cancel.clone()));
    propose(&s[2], output_at(&chain, 16).unwrap().hash(), 16).await;
    wait("three moves of the false challenger", 120, async || fc_actions.lock().len() >= 3).await;
    fc_cancel.cancel();
    run_out_clock(&l1, cfg.dispute_game, 1, false).await;
    wait("the defender's timeout claim", 60, async || game(&l1, cfg.dispute_game, 1).await.status != 1).await;
    let g = game(&l1, cfg.dispute_game, 1).await;
    assert_eq!(g.status, 3, "the proposer wins on time: {g:?}");
    let next: U256 = l1.read(cfg.oracle, OutputOracle::nextOutputIndexCall {}).await.unwrap();
    assert_eq!(next, U256::from(1), "the honest output stands");
    // Late and out-of-turn moves are refused on anvil too.
    let late = DisputeGame::answerCall { gameId: U256::from(1), agree: true };
    let call =
        L1Call { to: TxKind::Call(cfg.dispute_game), value: bond, input: late.abi_encode().into(), gas_limit: 300_000 };
    let data = refusal(&l1, s[5].address(), &call).await;
    assert!(
        matches!(DisputeGame::DisputeGameErrors::abi_decode(&data), Ok(DisputeGame::DisputeGameErrors::GameOver(_))),
        "a move after the end: {data}"
    );
}
