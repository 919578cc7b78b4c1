//! `aqueduct zk`: the ZK rollup from a user's and an operator's seat: L2 keys, deposits,
//! transfers, withdrawals, status, exodus exits; and its processes (operator, committee member).

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, U256, utils::format_ether},
    signers::local::PrivateKeySigner,
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_zk_circuit::{CircuitParams, Prover};
use aqueduct_zk_node::{
    AccountRef, DacClient, DacMember, DataAvailability, Operator, PipelineConfig, ZkAccount, ZkApiClient,
    ZkDeployParams, deploy_zk, exit_call, field_to_u256, reconstruct, serve_rpc_with, zk_client,
};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail, eyre};
use jsonrpsee::{core::ClientError, http_client::HttpClient};
use serde_json::json;

/// Account (0) of the standard test mnemonic.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Args, Debug)]
pub struct ZkArgs {
    /// L1 JSON-RPC.
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    l1_rpc: String,
    /// The ZK operator's JSON-RPC.
    #[arg(long, env = "AQUEDUCT_ZK_RPC", default_value = "http://127.0.0.1:9546", global = true)]
    zk_rpc: String,
    #[command(subcommand)]
    command: ZkCommand,
}

#[derive(Subcommand, Debug)]
pub enum ZkCommand {
    /// Create an L2 key (Baby Jubjub): prints its secret seed and the key hash to register.
    Key {
        /// Derive it from this 32-byte hex seed instead of fresh randomness.
        #[arg(long)]
        seed: Option<String>,
    },
    /// Register an L2 key for your account (a change-key request on L1, signed by your L1 key).
    SetKey {
        #[command(flatten)]
        user: UserL1,
        /// Your L2 key's seed (hex), from `aqueduct zk key`.
        #[arg(long, env = "AQUEDUCT_ZK_KEY", hide_env_values = true)]
        zk_key: String,
    },
    /// Lock ETH on L1; the operator credits it on L2 (creating the account on first deposit).
    Deposit {
        #[command(flatten)]
        user: UserL1,
        /// Amount in ether.
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
        /// Credit this L1 address's account (default: the sender's).
        #[arg(long)]
        to: Option<Address>,
    },
    /// Send ETH on L2, signed with your L2 key.
    Transfer {
        #[command(flatten)]
        user: UserL2,
        /// The receiver: an L1 address with an account, or an account index.
        #[arg(long)]
        to: String,
        /// Amount in ether (exact in the L2's packed format: 27 bits of mantissa and a power of ten).
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
    },
    /// Withdraw ETH to your L1 address: paid when the block's proof verifies.
    Withdraw {
        #[command(flatten)]
        user: UserL2,
        /// Amount in ether (exact in the L2's packed format: 27 bits of mantissa and a power of ten).
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
    },
    /// The operator's status, or one account's (address or index).
    Status { account: Option<String> },
    /// Ask L1 for a full exit: the operator must pay your whole balance by the deadline.
    FullExit(UserL1),
    /// Exodus: rebuild the state from L1 (and committee data), start exodus mode when the
    /// operator missed a deadline, and exit with your balance.
    Exit {
        #[command(flatten)]
        user: UserL1,
        /// The rollup contract.
        #[arg(long, env = "AQUEDUCT_ZK_ROLLUP")]
        rollup: Address,
        /// Committee members to fetch validium data from.
        #[arg(long = "dac", value_delimiter = ',')]
        dac: Vec<String>,
    },
    /// Deploy the ZK rollup (or validium) contracts; generates or loads the proving key.
    Deploy(DeployArgs),
    /// Run the operator (block builder and prover) as its own process.
    Operator(OperatorArgs),
    /// Run one validium committee member as its own process.
    Dac(DacArgs),
}

#[derive(Args, Debug)]
pub struct UserL1 {
    /// Your L1 private key [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true)]
    key: PrivateKeySigner,
}

#[derive(Args, Debug)]
pub struct UserL2 {
    /// Your L2 key's seed (hex), from `aqueduct zk key`.
    #[arg(long, env = "AQUEDUCT_ZK_KEY", hide_env_values = true)]
    zk_key: String,
    /// Your account: its L1 address or index.
    #[arg(long)]
    from: String,
}

#[derive(Args, Debug, Clone)]
pub struct CircuitArgs {
    /// Transaction slots a block.
    #[arg(long, default_value_t = 8)]
    pub slots: usize,
    /// Levels of the 4-ary account tree (12: 2^24 accounts).
    #[arg(long, default_value_t = 12)]
    pub account_levels: usize,
    /// Levels of each account's 4-ary balance tree (2: 16 tokens).
    #[arg(long, default_value_t = 2)]
    pub balance_levels: usize,
    /// Where proving keys are cached.
    #[arg(long, default_value = ".aqueduct/zk/keys")]
    pub keys_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    circuit: CircuitArgs,
    /// Deployer's L1 key [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_DEPLOYER_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true)]
    key: PrivateKeySigner,
    /// The operator's address (default: the deployer).
    #[arg(long)]
    operator: Option<Address>,
    /// Seconds the operator has to serve an L1 request before exodus may start.
    #[arg(long, default_value_t = 86_400)]
    priority_expiry: u64,
    /// Validium committee members' addresses (none: a rollup).
    #[arg(long, value_delimiter = ',')]
    committee: Vec<Address>,
    /// Signatures a validium block needs from its committee (0 with no committee: a rollup).
    #[arg(long, default_value_t = 0)]
    threshold: u64,
}

#[derive(Args, Debug)]
pub struct OperatorArgs {
    /// The rollup contract (its shape and domain are read from it).
    #[arg(long, env = "AQUEDUCT_ZK_ROLLUP")]
    rollup: Address,
    /// The operator's L1 key (it posts blocks and proofs) [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_ZK_OPERATOR_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true)]
    key: PrivateKeySigner,
    /// Where the Groth16 proving key is cached (generated once per circuit shape).
    #[arg(long, default_value = ".aqueduct/zk/keys")]
    keys_dir: PathBuf,
    /// The operator's database (pending transactions, blocks, accounts).
    #[arg(long, default_value = ".aqueduct/zk/operator.redb")]
    store: PathBuf,
    /// JSON-RPC listen address.
    #[arg(long, env = "AQUEDUCT_ZK_ADDR", default_value = "127.0.0.1:9546")]
    addr: SocketAddr,
    /// Committee members' JSON-RPC URLs (validium).
    #[arg(long = "dac", value_delimiter = ',')]
    dac: Vec<String>,
    /// Most proofs one L1 transaction verifies (a batched pairing check, `proveBlocks`).
    #[arg(long, env = "AQUEDUCT_ZK_AGGREGATE", default_value_t = 4)]
    aggregate: usize,
    /// Milliseconds a proven block waits for further proofs to share its verification while the
    /// prover is idle (0: land at once; longer: less L1 gas a transfer, later payouts).
    #[arg(long, env = "AQUEDUCT_ZK_MAX_WAIT_MS", default_value_t = 0)]
    max_wait_ms: u64,
    /// Milliseconds transactions wait for more to fill their block while the prover is idle.
    #[arg(long, env = "AQUEDUCT_ZK_BLOCK_TIME_MS", default_value_t = 0)]
    block_time_ms: u64,
    /// Where a rollup's pubdata goes: calldata, blob (one blob a group of up to `--aggregate`
    /// blocks, bound to their proofs by a point evaluation) or auto (whichever costs less at
    /// L1's prices when a group closes).
    #[arg(long, env = "AQUEDUCT_ZK_DATA", default_value = "auto")]
    data: aqueduct_zk_node::ZkDataMode,
}

#[derive(Args, Debug)]
pub struct DacArgs {
    /// The validium contract.
    #[arg(long, env = "AQUEDUCT_ZK_ROLLUP")]
    rollup: Address,
    /// The member's signing key.
    #[arg(long, env = "AQUEDUCT_DAC_KEY", hide_env_values = true, value_parser = crate::l1_key)]
    key: PrivateKeySigner,
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1:9560")]
    addr: SocketAddr,
    /// The operator's database (pending transactions, blocks, accounts).
    #[arg(long, default_value = ".aqueduct/dac/member.redb")]
    store: PathBuf,
    /// Start withholding data (the attack).
    #[arg(long)]
    withhold: bool,
}

pub fn parse_seed(s: &str) -> eyre::Result<SecretKey> {
    let b = alloy::primitives::hex::decode(s.trim_start_matches("0x")).wrap_err("the L2 key is not hex")?;
    let seed: [u8; 32] = b.try_into().map_err(|_| eyre!("the L2 key seed must be 32 bytes"))?;
    Ok(SecretKey::from_seed(seed))
}

/// Reads a contract's circuit parameters.
pub async fn params_of(l1: &L1Client, rollup: Address) -> eyre::Result<(CircuitParams, bool)> {
    let slots = l1.read(rollup, ZkRollup::slotsCall {}).await.wrap_err("reading the rollup contract")?;
    let a = l1.read(rollup, ZkRollup::accountLevelsCall {}).await?;
    let b = l1.read(rollup, ZkRollup::balanceLevelsCall {}).await?;
    let onchain = l1.read(rollup, ZkRollup::onchainSlotsCall {}).await?;
    let domain = l1.read(rollup, ZkRollup::domainCall {}).await?;
    let validium = l1.read(rollup, ZkRollup::validiumCall {}).await?;
    let shape = TreeShape { account_levels: a.saturating_to(), balance_levels: b.saturating_to() };
    let params = CircuitParams { shape, slots: slots.saturating_to(), onchain_slots: onchain.saturating_to(), domain };
    Ok((params, validium))
}

/// The proving key for `params`, from `dir` or generated there (once; minutes at full size).
pub async fn load_prover(dir: PathBuf, params: CircuitParams) -> eyre::Result<Arc<Prover>> {
    eprintln!(
        "ZK circuit: {} slots, {} account levels; loading or generating its proving key in {}",
        params.slots,
        params.shape.account_levels,
        dir.display()
    );
    Ok(aqueduct_zk_node::load_prover(dir, params).await?)
}

/// Sends a call of the rollup contract at `rollup` to L1 after simulating it (a revert comes
/// back as an error with its data), waits for its receipt and prints it.
async fn send<C: alloy::sol_types::SolCall>(
    l1: &L1Client,
    key: &PrivateKeySigner,
    rollup: Address,
    value: U256,
    call: C,
) -> eyre::Result<()> {
    let tx = ZkRollup::new(rollup, l1.provider()).call_builder(&call).value(value).into_transaction_request();
    let r = l1.transact(key, tx).await.map_err(|e| match e {
        L1Error::WouldRevert { data } => eyre!("L1 refuses the call (revert data {data})"),
        e => eyre!(e),
    })?;
    println!(
        "L1 transaction {} (block {}, gas {})",
        r.transaction_hash,
        r.block_number.unwrap_or_default(),
        r.gas_used
    );
    Ok(())
}

fn amount_wei(s: &str) -> eyre::Result<u128> {
    u128::try_from(crate::ether_amount(s)?).map_err(|_| eyre!("{s} ether is too much"))
}

/// The operator's JSON-RPC client, with its URL for messages.
struct Zk {
    client: HttpClient,
    url: String,
}

impl Zk {
    fn new(url: &str) -> eyre::Result<Self> {
        let client = zk_client(url).map_err(|e| eyre!("--zk-rpc {url}: {e}"))?;
        Ok(Self { client, url: url.to_string() })
    }

    /// A failed call in one line: the operator's own message when it answered.
    fn err(&self, what: &str, e: ClientError) -> eyre::Report {
        match e {
            ClientError::Call(e) => eyre!("{what}: the ZK operator at {} refused: {}", self.url, e.message()),
            e => eyre!("{what}: cannot reach the ZK operator at {}: {e}", self.url),
        }
    }
}

async fn account(zk: &Zk, who: &str) -> eyre::Result<ZkAccount> {
    let arg = match who.parse::<u32>() {
        Ok(i) => AccountRef::Index(i),
        Err(_) => {
            AccountRef::Address(who.parse().map_err(|_| eyre!("{who} is neither an account index nor an address"))?)
        }
    };
    let v = zk.client.get_account(arg).await.map_err(|e| zk.err(&format!("asking for account {who}"), e))?;
    v.ok_or_else(|| eyre!("no L2 account for {who}"))
}

async fn send_l2(zk: &Zk, user: &UserL2, kind: OpKind, to: Option<&str>, amount: &str) -> eyre::Result<()> {
    let key = parse_seed(&user.zk_key)?;
    let domain = zk.client.config().await.map_err(|e| zk.err("reading the rollup's config", e))?.domain;
    let from = account(zk, &user.from).await?;
    let from_index = from.index;
    let to_index = match to {
        Some(t) => account(zk, t).await?.index,
        None => from_index,
    };
    if kind == OpKind::Transfer && to_index == from_index {
        bail!("a transfer to your own account moves nothing: name another account with --to");
    }
    let wei = amount_wei(amount)?;
    let packed = Amount32::pack(wei)
        .ok_or_else(|| eyre!("{amount} ether is not exact in 27 bits of mantissa and a power of ten: round it"))?;
    let nonce = from.next_nonce;
    let tx = UnsignedTx { kind, from: from_index, to: to_index, token: 0, amount: packed, nonce }.sign(domain, &key);
    let r = zk.client.send_transaction(tx).await.map_err(|e| zk.err("sending the transaction", e))?;
    println!("accepted (queue position {}): {kind:?} of {amount} ETH from account {from_index} to {to_index}", r.seq);
    Ok(())
}

pub async fn run(args: ZkArgs) -> eyre::Result<()> {
    let zk = Zk::new(&args.zk_rpc)?;
    match args.command {
        ZkCommand::Key { seed } => {
            let seed: [u8; 32] = match seed {
                Some(s) => {
                    let b = alloy::primitives::hex::decode(s.trim_start_matches("0x"))?;
                    b.try_into().map_err(|_| eyre!("the seed must be 32 bytes"))?
                }
                None => rand::random(),
            };
            let key = SecretKey::from_seed(seed);
            println!("L2 key seed (secret)  0x{}", alloy::primitives::hex::encode(seed));
            println!("key hash              {:#x}", field_to_u256(&key.public().hash()));
            println!("register it with: aqueduct zk set-key --key <your L1 key> --zk-key 0x…");
        }
        ZkCommand::SetKey { user: u, zk_key } => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let rollup = rollup_of(&zk).await?;
            let key = parse_seed(&zk_key)?;
            let call = ZkRollup::changeKeyCall { pubkeyHash: field_to_u256(&key.public().hash()) };
            send(&l1, &u.key, rollup, U256::ZERO, call).await?;
            println!("change-key request queued on L1; the operator applies it in its next block");
        }
        ZkCommand::Deposit { user, amount, to } => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let rollup = rollup_of(&zk).await?;
            let to = to.unwrap_or(user.key.address());
            let wei = amount_wei(&amount)?;
            let have = l1.balance(user.key.address()).await.wrap_err("reading the balance on L1")?;
            if have < U256::from(wei) {
                bail!(
                    "{} holds {} ETH on L1, less than the {amount} to deposit",
                    user.key.address(),
                    format_ether(have)
                );
            }
            send(&l1, &user.key, rollup, U256::from(wei), ZkRollup::depositETHCall { to }).await?;
            println!("deposit of {amount} ETH to {to} queued on L1");
        }
        ZkCommand::Transfer { user, to, amount } => send_l2(&zk, &user, OpKind::Transfer, Some(&to), &amount).await?,
        ZkCommand::Withdraw { user, amount } => send_l2(&zk, &user, OpKind::Withdraw, None, &amount).await?,
        ZkCommand::Status { account: None } => {
            let c = zk.client.config().await.map_err(|e| zk.err("reading the rollup's config", e))?;
            let s = zk.client.status().await.map_err(|e| zk.err("reading the operator's status", e))?;
            println!("{}", serde_json::to_string_pretty(&json!({ "config": c, "status": s }))?);
        }
        ZkCommand::Status { account: Some(who) } => {
            let a = account(&zk, &who).await?;
            let eth = a.balances.get(&0).and_then(|b| b.parse::<U256>().ok()).unwrap_or_default();
            println!("{}", serde_json::to_string_pretty(&a)?);
            println!("ETH balance: {}", format_ether(eth));
        }
        ZkCommand::FullExit(u) => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let rollup = rollup_of(&zk).await?;
            send(&l1, &u.key, rollup, U256::ZERO, ZkRollup::requestFullExitCall { token: 0 }).await?;
            println!("full-exit request queued on L1: paid with the block that serves it");
        }
        ZkCommand::Exit { user, rollup, dac } => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let (params, _) = params_of(&l1, rollup).await?;
            let committee: Vec<DacClient> = dac.into_iter().map(DacClient::new).collect();
            if !l1.read(rollup, ZkRollup::exodusCall {}).await? {
                send(&l1, &user.key, rollup, U256::ZERO, ZkRollup::activateExodusCall {})
                    .await
                    .wrap_err("exodus mode is not on, and cannot start yet (no L1 request is past its deadline)")?;
            }
            let r = reconstruct(&l1, rollup, params.shape, params.domain, &committee).await?;
            println!("rebuilt {} of {} verified blocks from L1", r.blocks, r.verified);
            if !r.complete() {
                bail!(
                    "the data of block {} is not available: no balance can be proven against L1's root \
                     (the validium's committee withholds it); only unserved deposits can be refunded",
                    r.withheld.unwrap_or(r.blocks + 1)
                );
            }
            let index = r.state.index_of(user.key.address()).ok_or_else(|| eyre!("no L2 account for this key"))?;
            let (proof, call) = exit_call(&r.state, index, 0).ok_or_else(|| eyre!("no account {index}"))?;
            send(&l1, &user.key, rollup, U256::ZERO, call).await?;
            println!("exited account {index} with {} ETH", format_ether(U256::from(proof.balance)));
        }
        ZkCommand::Deploy(d) => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let chain_id = l1.chain_id().await?;
            let shape =
                TreeShape { account_levels: d.circuit.account_levels, balance_levels: d.circuit.balance_levels };
            shape.validate().map_err(|e| eyre!(e))?;
            let params = CircuitParams::new(shape, d.circuit.slots, chain_id);
            let prover = load_prover(d.circuit.keys_dir.clone(), params).await?;
            let dep = deploy_zk(
                &l1,
                &d.key,
                prover.vk(),
                &ZkDeployParams {
                    circuit: params,
                    operator: d.operator.unwrap_or(d.key.address()),
                    priority_expiry: d.priority_expiry,
                    committee: d.committee,
                    threshold: d.threshold,
                },
            )
            .await?;
            println!("ZkRollup {}  (verifier {}, Poseidon {})", dep.rollup, dep.verifier, dep.poseidon);
        }
        ZkCommand::Operator(o) => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let (params, validium) = params_of(&l1, o.rollup).await?;
            let prover = load_prover(o.keys_dir, params).await?;
            let da = if validium {
                let threshold = l1.read(o.rollup, ZkRollup::thresholdCall {}).await?.saturating_to();
                if o.dac.len() < threshold {
                    bail!("a validium needs at least {threshold} committee members (--dac)");
                }
                DataAvailability::Validium { committee: o.dac.into_iter().map(DacClient::new).collect(), threshold }
            } else {
                DataAvailability::Rollup
            };
            let op = Operator::open(l1, o.key, o.rollup, prover, da, &o.store).await?;
            let pipeline = PipelineConfig {
                depth: o.aggregate.max(1) + 1,
                aggregate: o.aggregate.max(1),
                block_time: Duration::from_millis(o.block_time_ms),
                max_wait: Duration::from_millis(o.max_wait_ms),
                data: o.data,
            };
            let svc = serve_rpc_with(op, o.addr, Duration::from_millis(500), pipeline).await?;
            println!("ZK operator for {} on http://{}", o.rollup, svc.rpc_addr);
            let outcome = crate::devnet::until_stopped(vec![svc.halt.clone()]).await;
            svc.stop().await;
            outcome?;
        }
        ZkCommand::Dac(d) => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let chain_id = l1.chain_id().await?;
            let m = Arc::new(DacMember::open(d.key, chain_id, d.rollup, &d.store)?);
            m.set_withholding(d.withhold);
            let address = m.address();
            let (addr, handle) = m.serve(d.addr).await?;
            println!("committee member {address} for {} on http://{addr}", d.rollup);
            tokio::signal::ctrl_c().await?;
            let _ = handle.stop();
        }
    }
    Ok(())
}

async fn rollup_of(zk: &Zk) -> eyre::Result<Address> {
    Ok(zk.client.config().await.map_err(|e| zk.err("reading the rollup's config", e))?.rollup)
}

/// Starts the devnet's ZK rollup (`aqueduct_zk_node::start_zk_stack`) and says where it is.
pub async fn start_devnet_zk(
    s: &crate::devnet::Settings,
    addr: SocketAddr,
    l1_url: &str,
    deployer: &PrivateKeySigner,
    operator_key: &PrivateKeySigner,
) -> eyre::Result<aqueduct_zk_node::ZkService> {
    let z = &s.zk;
    let o = aqueduct_zk_node::ZkStackOptions {
        dir: s.zk_dir.clone(),
        slots: z.slots,
        account_levels: z.account_levels,
        balance_levels: z.balance_levels,
        priority_expiry: z.priority_expiry,
        rpc_addr: addr,
    };
    eprintln!(
        "ZK circuit: {} slots, {} account levels; loading or generating its proving key in {}",
        z.slots,
        z.account_levels,
        s.zk_dir.join("keys").display()
    );
    let (svc, spec) = aqueduct_zk_node::start_zk_stack(&o, l1_url, deployer, operator_key).await?;
    println!("\nZK rollup (Groth16 on BN254, {} slots a block, 4^{} accounts)", z.slots, z.account_levels);
    println!(
        "  operator JSON-RPC   http://{}  (zk_config, zk_status, zk_getAccount, zk_sendTransaction, zk_getBlock)",
        svc.rpc_addr
    );
    println!("  L1 contracts        rollup {}  verifier {}", spec.rollup, spec.verifier);
    println!(
        "  operator            {}   exodus after {} s of an unserved L1 request",
        operator_key.address(),
        z.priority_expiry
    );
    println!("  try                 aqueduct zk key; aqueduct zk deposit --amount 1; aqueduct zk status");
    Ok(svc)
}
