//! A user's side of the plasma chain, for the CLI: pick outputs and send a payment (kept in a
//! wallet directory so the user's watcher can exit it in flight), exit an output after checking
//! the operator's proof against L1's root, replay the chain to find a challenge.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use aqueduct_plasma_protocol::{
    BlockTree, ExitPlan, Output, Payment, Position, SignedTx, Utxo, WatchState, verify_inclusion,
};
use aqueduct_primitives::Signer;
use jsonrpsee::http_client::HttpClient;

use crate::{PlasmaApiClient, error::PlasmaError, l1::PlasmaL1};

/// Why a wallet operation cannot go on.
fn op_err(url: &str, why: impl ToString) -> PlasmaError {
    PlasmaError::Operator { url: url.to_string(), why: why.to_string() }
}

pub struct Wallet {
    pub chain: PlasmaL1,
    pub operator: HttpClient,
    pub operator_url: String,
    /// Where sent payments are kept (one JSON file each) for the user's watcher.
    pub dir: Option<PathBuf>,
}

impl Wallet {
    fn signer(&self) -> Result<Signer, PlasmaError> {
        Signer::from_bytes(&self.chain.signer.to_bytes())
            .ok_or_else(|| op_err(&self.operator_url, "the user's key is not a secp256k1 secret"))
    }

    /// The user's unspent outputs, as the operator reports them.
    pub async fn utxos(&self) -> Result<Vec<Utxo>, PlasmaError> {
        self.operator.get_utxos(self.chain.signer.address()).await.map_err(|e| op_err(&self.operator_url, e))
    }

    /// Pays `amount` of `token` to `to` from the user's outputs (at most 4 inputs, change back).
    pub async fn transfer(&self, to: Address, token: Address, amount: U256) -> Result<SignedTx, PlasmaError> {
        let me = self.chain.signer.address();
        let mut mine: Vec<Utxo> = self.utxos().await?.into_iter().filter(|u| u.output.token == token).collect();
        mine.sort_by_key(|u| std::cmp::Reverse(u.output.amount));
        let mut inputs = Vec::new();
        let mut total = U256::ZERO;
        for u in mine.iter().take(aqueduct_plasma_protocol::MAX_INPUTS) {
            if total >= amount {
                break;
            }
            inputs.push(u.position);
            total += u.output.amount;
        }
        if total < amount {
            return Err(op_err(
                &self.operator_url,
                format!("{me} holds {total} of token {token} in its 4 largest outputs, less than {amount}"),
            ));
        }
        let mut outputs = vec![Output { owner: to, token, amount }];
        if total > amount {
            outputs.push(Output { owner: me, token, amount: total - amount });
        }
        let signer = self.signer()?;
        let signers: Vec<&Signer> = inputs.iter().map(|_| &signer).collect();
        let domain = self.chain.domain().await?;
        let tx = Payment { inputs, outputs }.sign(&domain, &signers);
        // Kept before it is sent: if the operator then withholds its block, the watcher exits it.
        self.keep(&tx)?;
        self.operator
            .send_transaction(tx.tx.encode(), tx.sig_bytes())
            .await
            .map_err(|e| op_err(&self.operator_url, e))?;
        Ok(tx)
    }

    fn keep(&self, tx: &SignedTx) -> Result<(), PlasmaError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let io = |e: std::io::Error| op_err(&dir.display().to_string(), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(format!("{}.json", tx.tx.hash()));
        std::fs::write(&path, serde_json::to_vec(tx).expect("plain data serializes")).map_err(io)
    }

    /// The payments kept in `dir`.
    pub fn sent(dir: &Path) -> Vec<SignedTx> {
        let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
        entries
            .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect()
    }

    /// Where payment `hash` was included (its output 0), if the operator says it was.
    pub async fn position_of(&self, hash: B256) -> Result<Option<Position>, PlasmaError> {
        Ok(self.operator.get_transaction(hash).await.map_err(|e| op_err(&self.operator_url, e))?.map(Position))
    }

    /// Starts a standard exit of output `position`, with the operator's proof checked against
    /// the root L1 holds. Returns the exit id.
    pub async fn exit(&self, position: Position) -> Result<u64, PlasmaError> {
        let url = &self.operator_url;
        let inc = self
            .operator
            .get_inclusion(position.0)
            .await
            .map_err(|e| op_err(url, e))?
            .ok_or_else(|| op_err(url, format!("no transaction at {position}")))?
            .decode()
            .map_err(|e| op_err(url, e))?;
        let root = self.chain.root(position.block()).await?;
        if root == B256::ZERO {
            return Err(op_err(
                url,
                format!("block {}'s root is not on L1 yet: try again once it lands", position.block()),
            ));
        }
        let leaf = inc.tx.leaf();
        let index = position.tx_index() as usize;
        let ok = if position.is_deposit() {
            BlockTree::new(vec![leaf]).root() == root
        } else {
            verify_inclusion(leaf, index, root, &inc.proof)
        };
        if !ok {
            return Err(op_err(url, format!("the proof for {position} does not match L1's root {root}")));
        }
        let output = *inc
            .tx
            .tx
            .outputs
            .get(position.output() as usize)
            .ok_or_else(|| op_err(url, format!("{position} names no output")))?;
        let plan = ExitPlan { utxo: Utxo { position, output, tx_hash: inc.tx.tx.hash() }, creating: inc };
        let bond = self.chain.params().await?.standard_exit_bond;
        Ok(self.chain.start_exit(&plan, bond).await?.0)
    }

    /// The chain replayed from L1's deposits and roots and the operator's data (what a watcher
    /// would know now).
    pub async fn replay(&self) -> Result<WatchState, PlasmaError> {
        let mut w = WatchState::new(self.chain.domain().await?);
        let head = self.chain.l1.head().await?;
        for d in self.chain.deposits(0, head).await? {
            w.on_deposit(d.block, d.owner, d.token, d.amount)?;
        }
        for (n, root) in self.chain.blocks(0, head).await? {
            let data = match self.operator.get_block(n).await {
                Ok(Some(b)) => {
                    b.txs.iter().map(|t| SignedTx::decode(&t.tx, &t.sigs)).collect::<Result<Vec<_>, _>>().ok()
                }
                _ => None,
            };
            w.on_block(n, root, data);
        }
        Ok(w)
    }

    /// Challenges exit `exit_id` if the replayed chain refutes it.
    pub async fn challenge(&self, exit_id: u64) -> Result<Option<crate::Sent>, PlasmaError> {
        let head = self.chain.l1.head().await?;
        let Some(e) = self.chain.exits(0, head).await?.into_iter().find(|e| e.exit_id == exit_id) else {
            return Err(op_err(&self.operator_url, format!("no standard exit {exit_id} on L1")));
        };
        let w = self.replay().await?;
        match w.challenge_for(exit_id, Position(e.position)) {
            Some(c) => Ok(Some(self.chain.challenge(&c).await?)),
            None => Ok(None),
        }
    }
}
