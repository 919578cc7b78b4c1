//! Four validators in one process on commonware's deterministic runtime and simulated network
//! (D9): blocks finalize, an L1 deposit is minted, transfers sent to one validator are executed
//! by all, every validator holds the same block at every height, and each checkpoint gathers
//! every validator's signature. The same seed replays the same run. A fifth validator joins
//! and a first one leaves when L1's set changes (consensus epochs), every chain the same.

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::{BlockRef, Chain};
use aqueduct_sidechain_node::{
    AppNet, Channel, Shared, SideStore, SidechainSpec, ValidatorInfo, ValidatorKeys,
    consensus::{CH_BODIES, CH_CERTIFICATES, CH_CHECKPOINTS, CH_FETCH, CH_RESOLVER, CH_TXS, CH_VOTES},
    engine::{self, Channels, Timing},
};
use aqueduct_sidechain_protocol::{L1Deposit, Quorum, SetChange};
use commonware_p2p::simulated::{self, Link};
use commonware_runtime::{Clock, Quota, Runner, Supervisor, deterministic};
use commonware_utils::{NZU32, NZUsize};

const N: usize = 4;
const GENESIS_TIME: u64 = 1_700_000_000;
const ETH: u128 = 1_000_000_000_000_000_000;

fn spec(keys: &[ValidatorKeys]) -> SidechainSpec {
    SidechainSpec {
        chain_id: 7777,
        l1_chain_id: 31337,
        bridge: Address::repeat_byte(0xb1),
        deployed_at: 0,
        l1_confirmations: 0,
        checkpoint_interval: 4,
        block_time_ms: 1_000,
        gas_limit: 30_000_000,
        genesis_time: GENESIS_TIME,
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| ValidatorInfo {
                signer: k.signer.address(),
                consensus_key: k.consensus_key_hex(),
                p2p: format!("127.0.0.1:{}", 30_000 + i).parse().unwrap(),
                rpc: String::new(),
            })
            .collect(),
    }
}

fn transfer(user: &PrivateKeySigner, nonce: u64, to: Address) -> Vec<u8> {
    let mut tx = TxEip1559 {
        chain_id: 7777,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(to),
        value: U256::from(1_000),
        ..Default::default()
    };
    let sig = user.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718()
}

/// What a run leaves: each validator's block hashes from height 1, its shared state and chain.
struct Run {
    hashes: Vec<Vec<B256>>,
    shareds: Vec<Arc<Shared>>,
    chains: Vec<Arc<Chain>>,
    stores: Vec<Arc<SideStore>>,
    bob: Address,
}

/// Runs the network for `secs` simulated seconds after the transfers; with `byzantine`,
/// validator 3 is simplex's own conflicter mock (it signs a second, conflicting notarize and
/// finalize vote for every one it sees) instead of an honest validator.
fn run(seed: u64, secs: u64, byzantine: bool) -> Run {
    run_with(seed, secs, byzantine, false)
}

/// With `reconfigure`, a fifth validator runs as a candidate from the start (L1 announced it);
/// after the transfers L1's set becomes all five (epoch 1), later the first one leaves (epoch 2).
fn run_with(seed: u64, secs: u64, byzantine: bool, reconfigure: bool) -> Run {
    let total = if reconfigure { N + 1 } else { N };
    let keys: Vec<ValidatorKeys> =
        (0..total).map(|i| ValidatorKeys::from_secret(&ValidatorKeys::dev_secret(i)).unwrap()).collect();
    let spec = spec(&keys[..N]);
    let dirs: Vec<tempfile::TempDir> = (0..total).map(|_| tempfile::tempdir().unwrap()).collect();
    let chains: Vec<Arc<Chain>> = dirs.iter().map(|d| Chain::open(spec.chain_config(d.path())).unwrap()).collect();
    let stores: Vec<Arc<SideStore>> =
        dirs.iter().map(|d| Arc::new(SideStore::open(&d.path().join("sidechain.redb")).unwrap())).collect();
    let quorum = Quorum { validators: keys.iter().map(|k| (k.signer.address(), U256::from(1))).collect() };
    let shareds: Vec<Arc<Shared>> =
        (0..total).map(|_| Arc::new(Shared::new(quorum.clone(), &spec.validators))).collect();
    let candidate = ValidatorInfo {
        signer: keys[total - 1].signer.address(),
        consensus_key: keys[total - 1].consensus_key_hex(),
        p2p: "127.0.0.1:30004".parse().unwrap(),
        rpc: String::new(),
    };
    if reconfigure {
        for s in &shareds {
            s.add_candidate(candidate.clone());
        }
    }
    let user = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x42)).unwrap();
    let bob = Address::repeat_byte(0xb0);
    // The same L1 deposit, as every validator's L1 watcher would have seen it.
    for s in &shareds {
        s.add_deposit(L1Deposit {
            nonce: 0,
            l1_block: 1,
            depositor: user.address(),
            recipient: user.address(),
            token: Address::ZERO,
            amount: U256::from(100 * ETH),
        });
    }

    let start = std::time::UNIX_EPOCH + Duration::from_secs(GENESIS_TIME);
    let executor = deterministic::Runner::new(deterministic::Config::default().with_seed(seed).with_start_time(start));
    let (c2, s2, u2, stores2) = (chains.clone(), shareds.clone(), user.clone(), stores.clone());
    let hashes = executor.start(|context| async move {
        let peers: Vec<_> = keys
            .iter()
            .map(|k| {
                use commonware_cryptography::Signer as _;
                k.consensus.public_key()
            })
            .collect();
        let cfg = simulated::Config {
            max_size: 8 * 1024 * 1024,
            max_peers_per_set: NZUsize!(N + 1),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        };
        let (network, oracle) = simulated::Network::new_with_peers(context.child("network"), cfg, peers.clone()).await;
        network.start();
        for a in &peers {
            for b in &peers {
                if a != b {
                    let link = Link {
                        latency: Duration::from_millis(10),
                        jitter: Duration::from_millis(2),
                        success_rate: 1.0.try_into().unwrap(),
                    };
                    oracle.add_link(a.clone(), b.clone(), link).await.unwrap();
                }
            }
        }
        let quota = Quota::per_second(NZU32!(100_000));
        for i in 0..total {
            let control = oracle.control(peers[i].clone());
            if byzantine && i == N - 1 {
                use commonware_consensus::simplex::mocks::conflicter::{Config, Conflicter};
                let participants = commonware_utils::ordered::Set::try_from(peers.clone()).unwrap();
                let scheme = aqueduct_sidechain_node::consensus::Scheme::signer(
                    &aqueduct_sidechain_node::consensus::namespace(spec.chain_id),
                    participants,
                    keys[i].consensus.clone(),
                )
                .unwrap();
                // Consensus messages travel on the epoch's subchannel (epoch 0 here).
                let (s, r) = control.register(CH_VOTES, quota).await.unwrap();
                let (muxer, mut mux) = commonware_p2p::utils::mux::Muxer::new(context.child("byzantine_mux"), s, r);
                muxer.start();
                let votes = mux.register(0).await.unwrap();
                Conflicter::<_, _, commonware_cryptography::Sha256>::new(context.child("byzantine"), Config { scheme })
                    .start(votes);
                continue;
            }
            let mut reg = Vec::new();
            for ch in [CH_VOTES, CH_CERTIFICATES, CH_RESOLVER, CH_BODIES, CH_FETCH, CH_CHECKPOINTS, CH_TXS] {
                reg.push(control.register(ch, quota).await.unwrap());
            }
            let mut it = reg.into_iter();
            let mut next = || it.next().unwrap();
            let (votes, certificates, resolver) = (next(), next(), next());
            let mut ch = || {
                let (sender, receiver) = next();
                Channel { sender, receiver }
            };
            let app = AppNet { bodies: ch(), fetch: ch(), checkpoints: ch(), txs: ch() };
            engine::start(
                context.child("validator").with_attribute("index", i),
                &spec,
                &keys[i],
                c2[i].clone(),
                stores2[i].clone(),
                s2[i].clone(),
                control,
                Channels { votes, certificates, resolver, app },
                Timing::default(),
            )
            .unwrap();
        }
        // Let the deposit land, then send transfers to validator 1 only.
        context.sleep(Duration::from_secs(5)).await;
        for n in 0..20 {
            c2[1].send_raw(&transfer(&u2, n, bob)).unwrap();
        }
        if reconfigure {
            // L1 applied the join: every validator's watcher sees the change.
            context.sleep(Duration::from_secs(3)).await;
            let mut all: Vec<Address> = keys.iter().map(|k| k.signer.address()).collect();
            all.sort();
            for s in &s2 {
                s.add_set_change(SetChange { epoch: 1, at_checkpoint: 1, validators: all.clone() });
            }
            context.sleep(Duration::from_secs(12)).await;
            // Then validator 0 leaves.
            let gone = keys[0].signer.address();
            let rest: Vec<Address> = all.iter().copied().filter(|a| *a != gone).collect();
            for s in &s2 {
                s.add_set_change(SetChange { epoch: 2, at_checkpoint: 4, validators: rest.clone() });
            }
        }
        context.sleep(Duration::from_secs(secs)).await;
        let _ = &dirs;
        c2.iter()
            .map(|c| (1..=c.head().header.number).map(|n| c.block(BlockRef::Number(n)).unwrap().hash).collect())
            .collect::<Vec<Vec<B256>>>()
    });
    Run { hashes, shareds, chains, stores, bob }
}

#[test]
fn four_validators_finalize_the_same_blocks() {
    let Run { hashes, shareds, chains, bob, .. } = run(7, 20, false);
    let least = hashes.iter().map(|h| h.len()).min().unwrap();
    assert!(least >= 12, "every validator executed blocks: {:?}", hashes.iter().map(|h| h.len()).collect::<Vec<_>>());
    for h in &hashes[1..] {
        assert_eq!(&h[..least], &hashes[0][..least], "same block at every height");
    }
    for c in &chains {
        let bal = c.account(bob, BlockRef::Latest).unwrap().map(|a| a.balance).unwrap_or_default();
        assert_eq!(bal, U256::from(20 * 1_000), "all 20 transfers executed everywhere");
    }
    for s in &shareds {
        let p = s.progress();
        assert_eq!(p.deposits_minted, 1, "the L1 deposit was minted");
        let cp = s.checkpoint(0).expect("checkpoint 0 signed");
        assert_eq!((cp.checkpoint.start_block, cp.checkpoint.end_block), (1, 4));
        assert_eq!(cp.signatures.len(), N, "every validator's signature gathered");
        assert!(s.evidence().is_empty(), "no Byzantine evidence among honest validators");
    }
    // The same seed replays the same chain.
    let again = run(7, 20, false);
    assert_eq!(again.hashes[0][..least], hashes[0][..least]);
}

/// A validator that votes for two blocks in one view is reported by every honest validator
/// (simplex's conflicting-vote evidence), and the three honest ones (> 2/3) keep finalizing.
#[test]
fn a_double_voting_validator_is_reported_and_the_chain_goes_on() {
    let Run { hashes, shareds, .. } = run(11, 15, true);
    let honest = &hashes[..N - 1];
    let least = honest.iter().map(|h| h.len()).min().unwrap();
    assert!(least >= 10, "the honest validators finalized: {:?}", honest.iter().map(|h| h.len()).collect::<Vec<_>>());
    for h in &honest[1..] {
        assert_eq!(&h[..least], &honest[0][..least]);
    }
    for s in &shareds[..N - 1] {
        let ev = s.evidence();
        assert!(ev.iter().any(|e| e.contains("conflicting notarize votes")), "evidence: {ev:?}");
    }
}

/// L1's set changes twice: a fifth validator (a candidate that followed the chain from the
/// start) joins, then the first leaves. Each change ends a consensus epoch at a checkpoint
/// boundary; the joiner then runs consensus (its engine finalizes views), the leaver only follows,
/// and all five hold the same block at every height.
#[test]
fn validators_join_and_leave_at_checkpoint_boundaries() {
    let Run { hashes, shareds, stores, .. } = run_with(5, 20, false, true);
    let least = hashes.iter().map(|h| h.len()).min().unwrap();
    assert!(least >= 25, "every validator executed blocks: {:?}", hashes.iter().map(|h| h.len()).collect::<Vec<_>>());
    for h in &hashes[1..] {
        assert_eq!(&h[..least], &hashes[0][..least], "same block at every height");
    }
    for (i, s) in shareds.iter().enumerate() {
        let p = s.progress();
        assert_eq!(p.epoch, 2, "validator {i} reached epoch 2");
        assert_eq!(p.member, i != 0, "validator {i}: only the leaver is not a member");
        if i != 0 {
            assert!(p.finalized_view > 0, "validator {i}'s epoch-2 consensus finalized views");
        }
        assert!(s.evidence().is_empty(), "no evidence: {:?}", s.evidence());
    }
    for st in &stores {
        let starts = st.epochs().unwrap();
        assert_eq!(starts.iter().map(|e| e.change.epoch).collect::<Vec<_>>(), vec![1, 2]);
        assert!(starts.iter().all(|e| e.height % 4 == 0), "epochs end at checkpoint boundaries: {starts:?}");
        assert_eq!(starts, stores[0].epochs().unwrap(), "every validator ended the epochs at the same bodies");
    }
}
