//! The optimistic rollup the fraud attacks run against: the embedded L1 (with the EXECUTE
//! precompile), the rollup and dispute contracts deployed, a sequencer with its batcher, a
//! verifier deriving the chain from L1 alone, and steady L2 traffic so blocks have many steps.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::Chain;
use aqueduct_contracts::rollup::{DisputeGame, OutputOracle};
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, Challenger, DeployParams, DisputeParams, L1Call, L1Client, L1Fees, Rollup, RollupOptions,
    SequencerConfig, SequencerRole, deploy, deploy_dispute, l2_genesis, sign_1559,
};
use aqueduct_rollup_protocol::RollupConfig;
use tokio_util::sync::CancellationToken;

use crate::AttackError;

pub const ETH: u128 = 1_000_000_000_000_000_000;
const L2_CHAIN_ID: u64 = 901;
const L2_GAS_LIMIT: u64 = 30_000_000;

/// How the world is set up.
#[derive(Clone, Debug)]
pub struct WorldOptions {
    /// Embedded L1 block time, seconds (at least 1: faster blocks run L1 time ahead of the L2's,
    /// since L1 timestamps are whole seconds and strictly increase).
    pub l1_block_time: f64,
    /// Each side's chess clock in a game, seconds.
    pub dispute_clock: u64,
    /// Seconds an output must stand before withdrawals against it are paid.
    pub finalization_period: u64,
    /// Bond posted with every output.
    pub output_bond: U256,
    /// Bond of a game's first move (later moves grow with depth).
    pub base_bond: U256,
    /// L2 transfers submitted per second in the background.
    pub traffic_per_second: u32,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            l1_block_time: 1.0,
            dispute_clock: 3_600,
            finalization_period: 7_200,
            output_bond: U256::from(ETH / 10),
            base_bond: U256::from(ETH / 100),
            traffic_per_second: 16,
        }
    }
}

/// The running world. Dropping it stops everything.
pub struct RollupWorld {
    pub devnet: Devnet,
    pub l1: L1Client,
    pub cfg: RollupConfig,
    pub options: WorldOptions,
    /// The sequencer's chain (where traffic goes).
    pub sequencer: Arc<Chain>,
    /// The verifier's chain: derived from L1 alone, the truth every honest player plays by.
    pub verifier: Arc<Chain>,
    pub signers: Vec<PrivateKeySigner>,
    traffic: CancellationToken,
    _services: (Rollup, Rollup),
    _dir: tempfile::TempDir,
}

/// Accounts that send background traffic (dev accounts 6..9). Dev account 9 is the runs' honest
/// user: its own transactions never race the traffic's for a nonce.
const TRAFFIC_ACCOUNTS: std::ops::Range<usize> = 6..9;

impl RollupWorld {
    pub async fn start(options: WorldOptions) -> Result<Self, AttackError> {
        let dir = tempfile::tempdir().map_err(AttackError::TempDir)?;
        let l1_cfg = L1Config {
            block_time: options.l1_block_time,
            data_dir: dir.path().join("l1"),
            rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
            extra_precompiles: vec![aqueduct_rollup_protocol::execute_precompile()],
            ..Default::default()
        };
        let devnet = Devnet::start(l1_cfg, true).await?;
        let s = devnet.signers.clone();
        let l1 = L1Client::new(&devnet.url())?;
        let params = DeployParams {
            batcher: s[1].address(),
            bond: options.output_bond,
            finalization_period: options.finalization_period,
        };
        let dep = deploy(&l1, &s[0], &params).await?;
        // The batcher posts each channel whole, so a short channel timeout costs nothing here; it
        // bounds the L1 data a derivation proof carries (every batch of one timeout's blocks).
        let cfg =
            RollupConfig { seq_window: 20, channel_timeout: 10, ..dep.rollup_config(L2_CHAIN_ID, 500, s[1].address()) };
        let funded: Vec<Address> = s.iter().map(|x| x.address()).collect();
        let balance = U256::from(1000 * ETH);
        let genesis = l2_genesis(&cfg, &funded, balance);
        let dispute = DisputeParams { clock: options.dispute_clock, base_bond: options.base_bond };
        deploy_dispute(&l1, &s[0], &dep, &cfg, L2_GAS_LIMIT, &genesis, &dispute).await?;
        let common = |data: &str| RollupOptions {
            l1_url: devnet.url(),
            rollup: cfg.clone(),
            data_dir: dir.path().join(data),
            gas_limit: L2_GAS_LIMIT,
            funded: funded.clone(),
            funded_balance: balance,
            sequencer: None,
            verifier_rpc: None,
            proposer: None,
            challengers: Vec::new(),
            poll: Duration::from_millis(200),
            dependencies: Vec::new(),
        };
        let seq = Rollup::start(RollupOptions {
            sequencer: Some(SequencerRole {
                rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
                batcher: s[1].clone(),
                sequencer: SequencerConfig::default(),
                batcher_config: BatcherConfig {
                    poll: Duration::from_millis(200),
                    max_delay: Duration::ZERO,
                    ..Default::default()
                },
                dev_signers: vec![],
            }),
            ..common("sequencer")
        })
        .await?;
        let ver = Rollup::start(RollupOptions {
            verifier_rpc: Some("127.0.0.1:0".parse().expect("a socket address")),
            ..common("verifier")
        })
        .await?;
        let sequencer = seq.sequencer.clone().ok_or(AttackError::NoChain("sequencer"))?;
        let verifier = ver.verifier.clone().ok_or(AttackError::NoChain("verifier"))?;
        let traffic = CancellationToken::new();
        tokio::spawn(send_traffic(
            sequencer.clone(),
            s[TRAFFIC_ACCOUNTS].to_vec(),
            options.traffic_per_second,
            traffic.clone(),
        ));
        Ok(Self {
            devnet,
            l1,
            cfg,
            options,
            sequencer,
            verifier,
            signers: s,
            traffic,
            _services: (seq, ver),
            _dir: dir,
        })
    }

    /// A fault-proof player on the verifier's chain: honest with no lies.
    pub fn player(&self, key: &PrivateKeySigner, challenge: bool) -> Challenger {
        let mut c = Challenger::new(
            self.verifier.clone(),
            self.l1.clone(),
            self.cfg.clone(),
            key.clone(),
            Duration::from_millis(150),
        );
        c.challenge = challenge;
        c
    }

    /// Posts an output with its bond; returns its index and the L1 block it landed in.
    pub async fn propose(&self, by: &PrivateKeySigner, root: B256, block: u64) -> Result<(u64, u64), AttackError> {
        let index = self.next_output_index().await?;
        let call = OutputOracle::new(self.cfg.oracle, self.l1.provider())
            .proposeOutput(root, U256::from(block))
            .value(self.options.output_bond)
            .gas(300_000)
            .into_transaction_request();
        let (landed, _) = self.send_l1(by, call, &format!("proposing the output of L2 block {block}")).await?;
        Ok((index, landed))
    }

    pub async fn next_output_index(&self) -> Result<u64, AttackError> {
        Ok(self.l1.read(self.cfg.oracle, OutputOracle::nextOutputIndexCall {}).await?.saturating_to())
    }

    pub async fn game(&self, id: u64) -> Result<DisputeGame::Game, AttackError> {
        Ok(self.l1.read(self.cfg.dispute_game, DisputeGame::getGameCall { gameId: U256::from(id) }).await?)
    }

    /// The game opened on output `index` with root `root`, if there is one yet.
    pub async fn game_on(&self, index: u64, root: B256, from: u64) -> Result<Option<u64>, AttackError> {
        let n: u64 = self.l1.read(self.cfg.dispute_game, DisputeGame::gameCountCall {}).await?.saturating_to();
        for id in from..n {
            let g = self.game(id).await?;
            if g.outputIndex == index && g.outputRoot == root {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    pub async fn game_count(&self) -> Result<u64, AttackError> {
        Ok(self.l1.read(self.cfg.dispute_game, DisputeGame::gameCountCall {}).await?.saturating_to())
    }

    /// What `who` may pull from the game contract.
    pub async fn credit(&self, who: Address) -> Result<U256, AttackError> {
        Ok(self.l1.read(self.cfg.dispute_game, DisputeGame::creditCall(who)).await?)
    }

    /// Stamps the next L1 block `secs` after the latest one (`evm_setNextBlockTimestamp`) and
    /// waits for it: every clock on L1 moves forward by exactly that much.
    pub async fn advance_l1_time(&self, secs: u64) -> Result<(), AttackError> {
        let target = self.devnet.chain.head().header.timestamp + secs.max(1);
        self.devnet.chain.set_next_timestamp(target)?;
        wait_for("an L1 block after the time jump", 60, || async {
            Ok(self.devnet.chain.head().header.timestamp >= target)
        })
        .await
    }

    /// Waits until the verifier has derived L2 block `n`.
    pub async fn derived(&self, n: u64) -> Result<(), AttackError> {
        wait_for(&format!("the verifier to derive L2 block {n}"), 240, || async {
            Ok(self.verifier.head().number() >= n)
        })
        .await
    }

    /// Simulates `call` from `by` (a refusal comes back by its custom error's name), sends it and
    /// waits for it to land; returns its L1 block and gas.
    pub async fn send_l1(
        &self,
        by: &PrivateKeySigner,
        call: TransactionRequest,
        what: &str,
    ) -> Result<(u64, u64), AttackError> {
        self.l1
            .simulate_request(by.address(), call.clone())
            .await
            .map_err(|e| AttackError::Refused { what: what.to_string(), reason: revert_name(&e) })?;
        let h = self.l1.send_request(by, call).await?;
        let r = self.l1.wait(h).await.map_err(|source| AttackError::L1During { what: what.to_string(), source })?;
        Ok((r.block_number.unwrap_or_default(), r.gas_used))
    }

    /// Sends one signed L2 transaction from `from` through the sequencer; returns its hash.
    pub fn send_l2(&self, from: &PrivateKeySigner, call: &L1Call) -> Result<B256, AttackError> {
        let nonce = self.sequencer.next_nonce(from.address());
        self.sequencer.send_raw(&sign_l2(from, nonce, call)).map_err(AttackError::from)
    }
}

impl Drop for RollupWorld {
    fn drop(&mut self) {
        self.traffic.cancel();
    }
}

/// An L2 transaction at a fee every L2 block takes (base fee 1 gwei at most, a small tip).
fn sign_l2(from: &PrivateKeySigner, nonce: u64, call: &L1Call) -> Bytes {
    let fees = L1Fees { base_fee: 1_000_000_000, tip: 1_000_000, ..Default::default() };
    sign_1559(from, L2_CHAIN_ID, nonce, fees, call)
}

/// Plain L2 transfers, round robin over `from`, at `per_second`.
async fn send_traffic(seq: Arc<Chain>, from: Vec<PrivateKeySigner>, per_second: u32, cancel: CancellationToken) {
    if per_second == 0 || from.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second as f64));
    let mut i: u64 = 0;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let who = &from[(i as usize) % from.len()];
        let call = L1Call {
            to: TxKind::Call(Address::repeat_byte(0x70 + (i % 7) as u8)),
            value: U256::from(1_000 + i),
            input: Bytes::new(),
            gas_limit: 21_000,
        };
        let nonce = seq.next_nonce(who.address());
        // A full pool or a nonce race only skips one transfer of background traffic.
        let _ = seq.send_raw(&sign_l2(who, nonce, &call));
        i += 1;
    }
}

/// Polls `cond` every 100 ms for up to `secs` seconds.
pub async fn wait_for<F, Fut>(what: &str, secs: u64, mut cond: F) -> Result<(), AttackError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, AttackError>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if cond().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(AttackError::Timeout { what: what.to_string(), secs });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An L1 error with a contract's custom error decoded by name where it is one of the rollup's.
pub fn revert_name(e: &aqueduct_rollup_node::L1Error) -> String {
    use alloy::sol_types::SolInterface;
    use aqueduct_contracts::rollup::{RollupPortal, game::DisputeGame as Game, oracle::OutputOracle as Oracle};
    let aqueduct_rollup_node::L1Error::WouldRevert { data } = e else { return e.to_string() };
    if let Ok(err) = RollupPortal::RollupPortalErrors::abi_decode(data) {
        return format!("reverts with {err:?}");
    }
    if let Ok(err) = Game::DisputeGameErrors::abi_decode(data) {
        return format!("reverts with {err:?}");
    }
    if let Ok(err) = Oracle::OutputOracleErrors::abi_decode(data) {
        return format!("reverts with {err:?}");
    }
    e.to_string()
}
