//! Starting one of the devnet's optimistic rollups (901, and 902 or the L3 when asked): its spec
//! (found again, or deployed with the dev accounts' deposits), its services and its printout.

use std::{net::SocketAddr, time::Duration};

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_rollup_node::{
    BatcherConfig, ChallengerRole, DeployParams, DisputeParams, L1Client, ProposerRole, Rollup, RollupOptions,
    RollupSpec, SequencerConfig, SequencerRole, deploy, deploy_dispute,
};
use aqueduct_rollup_protocol::RollupConfig;
use eyre::{WrapErr, bail};

use crate::devnet::{ETH, Settings, parse_compressor};

/// The rollup's spec: the one in `dir` if it still matches L1, or a fresh deployment (with the
/// wei deposited to L2 for each dev account).
async fn spec_for(
    s: &Settings,
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    batcher: &PrivateKeySigner,
    signers: &[PrivateKeySigner],
) -> eyre::Result<(RollupSpec, Option<U256>)> {
    let path = s.rollup_dir.join("rollup.json");
    eprintln!("reaching L1 at {}…", l1.url());
    let l1_chain_id = l1.chain_id().await.wrap_err_with(|| format!("reaching L1 at {}", l1.url()))?;
    if path.exists() {
        let spec = RollupSpec::load(&path)?;
        if spec.rollup.l2_chain_id != s.rollup.l2_chain_id {
            bail!(
                "{} holds rollup {}, not {}; start with --fresh to deploy a new one",
                path.display(),
                spec.rollup.l2_chain_id,
                s.rollup.l2_chain_id
            );
        }
        check_on_l1(&spec, l1, l1_chain_id).await.wrap_err_with(|| {
            format!("{} does not match this L1; start with --fresh to deploy a new rollup", path.display())
        })?;
        return Ok((spec, None));
    }
    let r = &s.rollup;
    let params = DeployParams {
        batcher: batcher.address(),
        bond: U256::from(r.bond_wei),
        finalization_period: r.challenge_window,
    };
    let step = crate::progress::step(&format!("deploying rollup {}'s contracts on L1", r.l2_chain_id));
    let dep = deploy(l1, deployer, &params).await.wrap_err("deploying the rollup contracts")?;
    let spec = RollupSpec {
        l1_chain_id,
        rollup: RollupConfig {
            seq_window: r.seq_window,
            channel_timeout: r.channel_timeout,
            ..dep.rollup_config(r.l2_chain_id, r.block_time_ms, params.batcher)
        },
        gas_limit: r.gas_limit,
        // No L2 wei without L1 wei behind it: the dev accounts are funded by real deposits below.
        funded: Vec::new(),
        funded_balance: U256::ZERO,
        bond: params.bond,
        finalization_period: params.finalization_period,
    };
    let dispute = DisputeParams { clock: r.dispute_clock, base_bond: U256::from(r.dispute_bond_wei) };
    step.set("the dispute game");
    deploy_dispute(l1, deployer, &dep, &spec.rollup, spec.gas_limit, &spec.genesis(), &dispute)
        .await
        .wrap_err("deploying the dispute game")?;
    step.done();
    let each = U256::from(r.balance_ether as u128 * ETH);
    deposit_for_dev_accounts(l1, spec.rollup.portal, signers, each).await?;
    spec.save(&path)?;
    Ok((spec, Some(each)))
}

/// Funds every dev account on L2 by a real deposit of `each` wei into the portal, so that every
/// L2 wei is backed by ETH the portal holds (a genesis allocation would be paid out of later
/// users' deposits). Sent together, then awaited.
async fn deposit_for_dev_accounts(
    l1: &L1Client,
    portal: alloy::primitives::Address,
    signers: &[PrivateKeySigner],
    each: U256,
) -> eyre::Result<()> {
    if each.is_zero() {
        return Ok(());
    }
    for s in signers {
        let have = l1.balance(s.address()).await.wrap_err("reading a dev account's L1 balance")?;
        if have <= each {
            bail!(
                "dev account {} holds {have} wei on L1, too little to deposit {each} wei to L2; lower [rollup] balance_ether",
                s.address()
            );
        }
    }
    let step = crate::progress::step(&format!(
        "depositing {} ETH to L2 for each of the {} dev accounts",
        each / U256::from(ETH),
        signers.len()
    ));
    let sent = futures::future::try_join_all(
        signers.iter().map(|s| aqueduct_rollup_node::deposit_eth(l1, s, portal, s.address(), each)),
    )
    .await
    .wrap_err("depositing the dev accounts' L2 ETH")?;
    for (i, tx) in sent.into_iter().enumerate() {
        step.set(format!("{i} of {} mined on L1", signers.len()));
        l1.wait(tx).await.wrap_err("waiting for a dev account's deposit")?;
    }
    step.done();
    Ok(())
}

/// Waits until the sequencer has credited the dev accounts' deposits.
async fn wait_for_dev_deposits(rollup: &Rollup, signers: &[PrivateKeySigner], each: U256) -> eyre::Result<()> {
    let Some(chain) = &rollup.sequencer else { return Ok(()) };
    let start = std::time::Instant::now();
    loop {
        let credited = signers.iter().all(|s| {
            chain
                .account(s.address(), aqueduct_chain::BlockRef::Latest)
                .ok()
                .flatten()
                .is_some_and(|a| a.balance >= each)
        });
        if credited {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(300) {
            bail!("the dev accounts' deposits did not reach L2 within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A spec belongs to this L1 when the chain id, the anchor block and the portal's code match.
pub async fn check_on_l1(spec: &RollupSpec, l1: &L1Client, l1_chain_id: u64) -> eyre::Result<()> {
    use alloy::providers::Provider;
    if spec.l1_chain_id != l1_chain_id {
        bail!("the rollup settles on chain {}, this L1 is chain {l1_chain_id}", spec.l1_chain_id);
    }
    let anchor = spec.rollup.l1_genesis;
    let origin = l1.header(anchor.number).await.wrap_err("reading the rollup's L1 anchor block")?;
    if origin.hash != anchor.hash {
        bail!("L1 block {} is {}, the rollup is anchored to {}", anchor.number, origin.hash, anchor.hash);
    }
    let code = l1.provider().get_code_at(spec.rollup.portal).await.wrap_err("reading the portal's code")?;
    if code.is_empty() {
        bail!("no portal contract at {} on L1", spec.rollup.portal);
    }
    Ok(())
}

/// Who runs a devnet rollup: its L1 accounts, its JSON-RPC addresses, the rollups it accepts
/// messages from.
pub struct Roles {
    pub batcher: PrivateKeySigner,
    pub proposer: PrivateKeySigner,
    pub challenger: PrivateKeySigner,
    pub l2_addr: SocketAddr,
    pub verifier_addr: SocketAddr,
    pub dependencies: Vec<RollupSpec>,
}

/// Deploys a rollup (or finds it in `s.rollup_dir`) and starts its sequencer, verifier,
/// proposer and challengers.
pub async fn start_rollup(
    s: &Settings,
    roles: Roles,
    l1_url: &str,
    deployer: &PrivateKeySigner,
    signers: &[PrivateKeySigner],
) -> eyre::Result<(Rollup, aqueduct_dashboard::RollupAddrs, RollupSpec)> {
    let l1 = L1Client::new(l1_url)?;
    let (spec, deposited) = spec_for(s, &l1, deployer, &roles.batcher, signers).await?;
    let r = &s.rollup;
    let compressor = parse_compressor(&r.compressor).map_err(|e| eyre::eyre!(e))?;
    let accounts = [roles.batcher.address(), roles.proposer.address(), roles.challenger.address()];
    let rollup = Rollup::start(RollupOptions {
        l1_url: l1_url.to_string(),
        rollup: spec.rollup.clone(),
        data_dir: s.rollup_dir.clone(),
        gas_limit: spec.gas_limit,
        funded: spec.funded.clone(),
        funded_balance: spec.funded_balance,
        sequencer: Some(SequencerRole {
            rpc_addr: roles.l2_addr,
            batcher: roles.batcher,
            sequencer: SequencerConfig::default(),
            batcher_config: BatcherConfig { compressor, mode: r.data_mode, ..Default::default() },
            dev_signers: signers.to_vec(),
        }),
        verifier_rpc: Some(roles.verifier_addr),
        proposer: Some(ProposerRole { signer: roles.proposer.clone(), interval: r.proposal_interval, bond: spec.bond }),
        // The honest challenger, and the proposer defending its own outputs.
        challengers: vec![
            ChallengerRole { signer: roles.challenger, challenge: true },
            ChallengerRole { signer: roles.proposer, challenge: false },
        ],
        poll: Duration::from_millis(500),
        dependencies: roles.dependencies,
    })
    .await
    .wrap_err("starting the rollup")?;
    if let Some(each) = deposited {
        let step = crate::progress::step("waiting for the dev accounts' deposits to reach L2");
        if let Err(e) = wait_for_dev_deposits(&rollup, signers, each).await {
            rollup.stop().await;
            return Err(e);
        }
        step.done();
    }
    print_rollup(&spec, &rollup, s, accounts);
    let c = &spec.rollup;
    let addrs = aqueduct_dashboard::RollupAddrs {
        oracle: c.oracle,
        inbox: c.inbox,
        batcher: c.batcher,
        portal: c.portal,
        dispute_game: c.dispute_game,
    };
    Ok((rollup, addrs, spec))
}

fn print_rollup(spec: &RollupSpec, rollup: &Rollup, s: &Settings, [batcher, proposer, challenger]: [Address; 3]) {
    let c = &spec.rollup;
    let addr = |a: Option<SocketAddr>| a.map(|a| format!("http://{a}")).unwrap_or_default();
    println!("\nOptimistic rollup (chain id {})", c.l2_chain_id);
    println!("  sequencer JSON-RPC  {}  (blocks every {} ms)", addr(rollup.sequencer_rpc), c.block_time_ms);
    println!("  verifier JSON-RPC   {}  (read-only, derived from L1)", addr(rollup.verifier_rpc));
    println!("  L1 contracts        portal {}  oracle {}  inbox {}", c.portal, c.oracle, c.inbox);
    println!("  dispute game        {}", c.dispute_game);
    println!("  L1 anchor block     {} ({})", c.l1_genesis.number, c.l1_genesis.hash);
    println!("  challenge window    {} s   sequencing window {} L1 blocks", spec.finalization_period, c.seq_window);
    println!("  batcher {batcher}  proposer {proposer}  challenger {challenger}");
    println!("  spec                {}", s.rollup_dir.join("rollup.json").display());
    if !spec.funded.is_empty() {
        println!("  L2 dev accounts     the {} accounts above (L2 genesis)", spec.funded.len());
    } else {
        println!("  L2 dev accounts     the accounts above, funded by deposits into the portal at the first start");
    }
}
