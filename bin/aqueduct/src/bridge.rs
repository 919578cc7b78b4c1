//! `aqueduct bridge`: deposits to L2, withdrawals back to L1 (start, prove, finalize) and where a
//! withdrawal stands in its challenge window.

use std::path::PathBuf;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
    sol_types::SolInterface,
};
use aqueduct_contracts::rollup::RollupPortal;
use aqueduct_rollup_node::{
    BridgeError, L1Call, L1Client, L1Error, RollupSpec, build_proof, deposit_erc20, deposit_eth, finalize_request,
    is_finalized, l2_token_of, output_covering, output_eta, prove_request, seconds_left, withdraw_erc20_call,
    withdraw_eth_call, withdrawal_of_tx,
};
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail, eyre};

/// Account (0) of the standard test mnemonic: funded on the devnet's L1 and L2.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Args, Debug)]
pub struct BridgeArgs {
    /// L1 JSON-RPC.
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    l1_rpc: String,
    /// The sequencer's L2 JSON-RPC (withdrawals are sent there).
    #[arg(long, env = "AQUEDUCT_L2_RPC", default_value = "http://127.0.0.1:9545", global = true)]
    l2_rpc: String,
    /// A verifier's L2 JSON-RPC (proofs are built from the chain derived from L1).
    #[arg(long, env = "AQUEDUCT_VERIFIER_RPC", default_value = "http://127.0.0.1:9547", global = true)]
    verifier_rpc: String,
    /// The devnet's data directory, where its rollup spec is (rollup/rollup.json).
    #[arg(long, env = "AQUEDUCT_DATA_DIR", default_value = ".aqueduct", global = true)]
    data_dir: PathBuf,
    /// The rollup's spec file [default: <data-dir>/rollup/rollup.json].
    #[arg(long, env = "AQUEDUCT_ROLLUP", global = true)]
    rollup: Option<PathBuf>,
    /// The user's private key [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true, global = true)]
    key: PrivateKeySigner,
    #[command(subcommand)]
    command: BridgeCommand,
}

#[derive(Subcommand, Debug)]
pub enum BridgeCommand {
    /// Lock ETH (or an ERC-20 with --token) on L1 and get it credited on L2.
    Deposit(Move),
    /// Start a withdrawal on L2 (ETH, or the L2 twin of L1 token --token); prints its L2 hash.
    Withdraw(Move),
    /// Prove a withdrawal on L1 against the proposed output that covers it.
    Prove {
        /// The L2 transaction that started the withdrawal.
        #[arg(long)]
        tx: B256,
        /// Wait (showing the ETA) until a verifier has derived it and an output covers it,
        /// instead of failing with the ETA.
        #[arg(long)]
        wait: bool,
    },
    /// Pay out a proven withdrawal on L1 once its challenge window has passed.
    Finalize {
        /// The L2 transaction that started the withdrawal.
        #[arg(long)]
        tx: B256,
    },
    /// Where a withdrawal stands: on L2, covered by an output, proven, time left, paid.
    Status {
        /// The L2 transaction that started the withdrawal.
        #[arg(long)]
        tx: B256,
    },
}

/// What a deposit or a withdrawal moves, and to whom.
#[derive(Args, Debug)]
pub struct Move {
    /// Amount in ether (or whole tokens, 18 decimals).
    #[arg(long, value_parser = crate::ether_arg)]
    amount: String,
    /// Recipient on the other side (default: the sender).
    #[arg(long)]
    to: Option<Address>,
    /// The L1 ERC-20 (a withdrawal moves its L2 twin).
    #[arg(long)]
    token: Option<Address>,
}

struct Ctx {
    spec: RollupSpec,
    l1: L1Client,
    l2: L1Client,
    verifier: L1Client,
    key: PrivateKeySigner,
}

pub async fn run(args: BridgeArgs) -> eyre::Result<()> {
    let path = args.rollup.clone().unwrap_or_else(|| args.data_dir.join("rollup/rollup.json"));
    let spec = RollupSpec::load(&path)
        .wrap_err("reading the rollup's spec: start `aqueduct devnet` first, or name its data directory (--data-dir) or spec (--rollup)")?;
    let cx = Ctx {
        spec,
        l1: L1Client::new(&args.l1_rpc)?,
        l2: L1Client::new(&args.l2_rpc)?,
        verifier: L1Client::new(&args.verifier_rpc)?,
        key: args.key,
    };
    match args.command {
        BridgeCommand::Deposit(m) => deposit(&cx, &m).await,
        BridgeCommand::Withdraw(m) => withdraw(&cx, &m).await,
        BridgeCommand::Prove { tx, wait } => prove(&cx, tx, wait).await,
        BridgeCommand::Finalize { tx } => finalize(&cx, tx).await,
        BridgeCommand::Status { tx } => status(&cx, tx).await,
    }
}

fn amount(s: &str) -> eyre::Result<U256> {
    crate::ether_amount(s)
}

/// A custom error from the portal or the token, by name, from revert data.
fn explain(e: L1Error) -> eyre::Report {
    if let L1Error::WouldRevert { data } = &e {
        if let Ok(err) = RollupPortal::RollupPortalErrors::abi_decode(data) {
            return eyre!("L1 refuses: {err:?}");
        }
        if let Ok(err) = aqueduct_contracts::AqueductToken::AqueductTokenErrors::abi_decode(data) {
            return eyre!("L1 refuses: {err:?}");
        }
    }
    eyre!(e)
}

/// `who`'s balance of the L1 ERC-20 `token`, or why `token` is not one.
async fn token_balance(l1: &L1Client, token: Address, who: Address) -> eyre::Result<U256> {
    let code = l1.provider().get_code_at(token).await.wrap_err("reading the token's code on L1")?;
    if code.is_empty() {
        bail!("{token} is not a contract on L1: --token takes an ERC-20's L1 address");
    }
    l1.read(token, aqueduct_contracts::AqueductToken::balanceOfCall(who))
        .await
        .map_err(|_| eyre!("{token} does not answer balanceOf(address): it is not an ERC-20"))
}

async fn deposit(cx: &Ctx, m: &Move) -> eyre::Result<()> {
    let (amt, token) = (&m.amount, m.token);
    let value = amount(amt)?;
    let to = m.to.unwrap_or(cx.key.address());
    let portal = cx.spec.rollup.portal;
    let have = match token {
        None => cx.l1.balance(cx.key.address()).await.wrap_err("reading the balance on L1")?,
        Some(t) => token_balance(&cx.l1, t, cx.key.address()).await?,
    };
    if have < value {
        bail!("{} holds {have} (smallest units) on L1, less than the {value} to deposit", cx.key.address());
    }
    let hash = match token {
        None => deposit_eth(&cx.l1, &cx.key, portal, to, value).await,
        Some(t) => deposit_erc20(&cx.l1, &cx.key, portal, t, to, value).await,
    }
    .map_err(explain)?;
    let step = crate::progress::step(&format!("waiting for the deposit {hash} to be mined on L1"));
    let r = cx.l1.wait(hash).await.wrap_err("waiting for the deposit on L1")?;
    step.done();
    println!("deposited {amt} {} to {to} on L2", if token.is_some() { "tokens" } else { "ETH" });
    println!("  L1 transaction {hash} (block {})", r.block_number.unwrap_or_default());
    println!("  credited on L2 when the sequencer takes L1 block {} as an origin", r.block_number.unwrap_or_default());
    Ok(())
}

async fn withdraw(cx: &Ctx, m: &Move) -> eyre::Result<()> {
    let value = amount(&m.amount)?;
    let to = m.to.unwrap_or(cx.key.address());
    let call: L1Call = match m.token {
        None => withdraw_eth_call(to, value),
        Some(t) => {
            let l2_token = l2_token_of(&cx.l2, t).await.wrap_err("reading the L2 bridge")?;
            if l2_token == Address::ZERO {
                bail!("token {t} was never deposited: it has no L2 twin");
            }
            withdraw_erc20_call(l2_token, to, value)
        }
    };
    cx.l2.simulate(cx.key.address(), &call).await.map_err(|e| eyre!("L2 refuses the withdrawal: {e}"))?;
    let hash = cx.l2.send_call(&cx.key, &call).await.wrap_err("sending the withdrawal on L2")?;
    let r = cx.l2.wait(hash).await.wrap_err("waiting for the L2 receipt")?;
    println!("withdrawal started on L2: {hash} (block {})", r.block_number.unwrap_or_default());
    println!("next: `aqueduct bridge prove --tx {hash} --wait` (waits for an output covering it)");
    Ok(())
}

/// What is left before an output covers L2 block `block`, in words.
async fn eta_words(cx: &Ctx, block: u64) -> String {
    match output_eta(&cx.l1, cx.spec.rollup.oracle, block).await {
        Ok(Some(e)) => format!(
            "the latest output covers L2 block {}; at the proposer's pace (an output every {} blocks, {} s) one covers block {block} in about {} s",
            e.latest_block, e.blocks_per_output, e.secs_per_output, e.secs
        ),
        Ok(None) => format!("the proposer has not reached L2 block {block}; no pace to judge from yet"),
        Err(e) => format!("the proposer's pace is unknown ({e})"),
    }
}

async fn prove(cx: &Ctx, tx: B256, wait: bool) -> eyre::Result<()> {
    let oracle = cx.spec.rollup.oracle;
    let mut step = None;
    let proof = loop {
        match build_proof(&cx.verifier, &cx.l1, oracle, tx).await {
            Ok(p) => break p,
            Err(BridgeError::NotProposed(block)) if !wait => {
                bail!("no output covers L2 block {block} yet: {}; or use --wait", eta_words(cx, block).await)
            }
            Err(BridgeError::NotProposed(block)) => {
                let s =
                    step.get_or_insert_with(|| crate::progress::step("waiting for an output to cover the withdrawal"));
                s.set(eta_words(cx, block).await);
            }
            Err(e @ (BridgeError::NotDerived(_) | BridgeError::BlockNotDerived(_))) if !wait => {
                bail!("{e}; or use --wait")
            }
            Err(e @ (BridgeError::NotDerived(_) | BridgeError::BlockNotDerived(_))) => {
                let s =
                    step.get_or_insert_with(|| crate::progress::step("waiting for an output to cover the withdrawal"));
                s.set(format!("{e}"));
            }
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    };
    if let Some(s) = step {
        s.done();
    }
    let call = prove_request(&cx.l1, cx.spec.rollup.portal, &proof);
    cx.l1.simulate_request(cx.key.address(), call.clone()).await.map_err(explain)?;
    let hash = cx.l1.send_request(&cx.key, call).await?;
    cx.l1.wait(hash).await.wrap_err("waiting for the proof on L1")?;
    let left = seconds_left(&cx.l1, cx.spec.rollup.portal, &proof.withdrawal).await?.unwrap_or_default();
    println!("proven on L1: {hash}");
    println!("  against output {} (L2 block {})", proof.output_index, proof.l2_block);
    println!("  challenge window: {left} s left; then `aqueduct bridge finalize --tx {tx}`");
    Ok(())
}

async fn finalize(cx: &Ctx, tx: B256) -> eyre::Result<()> {
    let (w, _) = withdrawal_of_tx(&cx.verifier, tx).await?;
    let call = finalize_request(&cx.l1, cx.spec.rollup.portal, &w);
    cx.l1.simulate_request(cx.key.address(), call.clone()).await.map_err(explain)?;
    let hash = cx.l1.send_request(&cx.key, call).await?;
    cx.l1.wait(hash).await.wrap_err("waiting for the payout on L1")?;
    println!("finalized on L1: {hash} ({} wei to {})", w.value, w.target);
    Ok(())
}

async fn status(cx: &Ctx, tx: B256) -> eyre::Result<()> {
    let (w, block) = match withdrawal_of_tx(&cx.verifier, tx).await {
        Ok(x) => x,
        Err(e) => {
            let seen = cx.l2.receipt(tx).await.ok().flatten().is_some();
            if seen {
                println!("on the sequencer's L2 chain; not yet derived from L1 by the verifier ({e})");
                return Ok(());
            }
            return Err(e.into());
        }
    };
    println!("withdrawal {} of {} wei to {}", w.hash(), w.value, w.target);
    println!("  L2 block      {block} (derived from L1)");
    let portal = cx.spec.rollup.portal;
    let covered = output_covering(&cx.l1, cx.spec.rollup.oracle, block).await?;
    match covered {
        Some((i, n)) => println!("  output        {i} (L2 block {n})"),
        None => println!("  output        none yet: {}", eta_words(cx, block).await),
    }
    if is_finalized(&cx.l1, portal, &w).await? {
        println!("  state         finalized (paid on L1)");
        return Ok(());
    }
    match seconds_left(&cx.l1, portal, &w).await? {
        None => println!("  state         not proven"),
        Some(0) => println!("  state         proven; challenge window over: ready to finalize"),
        Some(s) => {
            let now = cx.l1.provider().get_block_number().await.ok();
            println!("  state         proven; challenge window: {s} s left (L1 head {})", now.unwrap_or_default());
        }
    }
    Ok(())
}
