//! Witnesses, step roots and proofs: what re-executes a block or one step without this node (D4).

use super::*;

impl Chain {
    /// What re-executes block `n` without this node (D4): the trie nodes, code and block hashes
    /// its execution and root update read, its inputs, and the pre-state root (block `n - 1`'s).
    /// The witness is checked: a stateless run over it reaches this block's state root.
    pub fn witness(&self, n: u64) -> Result<(crate::Witness, crate::StatelessInput, B256), ChainError> {
        let inner = self.inner.lock();
        let (block, pre_root) = Self::transition(&inner, n)?;
        let input = crate::stateless_input(&self.rules, &block);
        let nodes = aqueduct_trie::MemoryNodes::new();
        let (witness, post, _) = self.record(&inner, &nodes, pre_root, input.clone(), n)?;
        if post != block.header.state_root {
            return Err(ChainError::Internal(format!(
                "stateless root {post} of block {n} differs from its header's {}",
                block.header.state_root
            )));
        }
        Ok((witness, input, pre_root))
    }

    /// The witness [`crate::build_stateless`] needs to build, on top of block `n - 1`, the block
    /// `attrs` make (the block a fault proof re-derives), checked by building it statelessly:
    /// the witness, and that block's header and included transactions.
    #[allow(clippy::type_complexity)]
    pub fn rebuild_witness(
        &self,
        n: u64,
        attrs: &BlockAttributes,
    ) -> Result<(crate::Witness, Header, Vec<ChainTx>), ChainError> {
        let inner = self.inner.lock();
        let parent = inner
            .blocks
            .get(n.checked_sub(1).ok_or_else(|| ChainError::InvalidParams("genesis has no parent".into()))? as usize)
            .cloned()
            .ok_or_else(|| ChainError::InvalidParams(format!("no block {}", n - 1)))?;
        let pre_root = parent.header.state_root;
        let nodes = inner.state.nodes();
        let (diff, mut witness) = Self::recorded(&inner, nodes, pre_root, |state, hashes| {
            crate::rebuild::build_diff(&self.rules, &parent.header, self.config.beneficiary, state, hashes, attrs)
        })
        .map_err(|e| ChainError::witness(n, e))?;
        Self::complete_for_root(&inner, nodes, &mut witness, pre_root, diff, n)?;
        let (header, txs) =
            crate::build_stateless(&self.rules, &parent.header, self.config.beneficiary, &witness, attrs)
                .map_err(|e| ChainError::witness(n, e))?;
        Ok((witness, header, txs))
    }

    /// The state roots between the steps of block `n` (each deposit, then each transaction):
    /// `roots[0]` is the parent's state root, `roots[k + 1]` the root after step `k`, the last
    /// the block's own.
    pub fn step_roots(&self, n: u64) -> Result<Vec<B256>, ChainError> {
        let inner = self.inner.lock();
        Ok(self.steps(&inner, n, None)?.0)
    }

    /// Block `n`'s step roots as claimed by a node whose state differs from this one by `change`
    /// from `roots[from]` on (the attack suite's lying proposers): earlier roots are the true
    /// ones; each later one is the root of the true state at that point with `change(state)`
    /// applied over it. The changed tries are real: every claimed root has a full trie behind it.
    pub fn step_roots_changed(
        &self,
        n: u64,
        from: usize,
        change: impl Fn(&dyn StateView) -> Result<StateDiff, TrieError>,
    ) -> Result<Vec<B256>, ChainError> {
        let inner = self.inner.lock();
        let (mut roots, _, created) = self.steps(&inner, n, None)?;
        let nodes = aqueduct_trie::Layered { top: &created, base: inner.state.nodes() };
        for root in roots.iter_mut().skip(from) {
            *root = Self::changed_root(&inner, &nodes, *root, &change)
                .map_err(|source| ChainError::ChangedState { block: n, source })?;
        }
        Ok(roots)
    }

    /// The root of block `n`'s post-state with `change(state)` applied over it.
    pub fn state_root_changed(
        &self,
        n: u64,
        change: impl Fn(&dyn StateView) -> Result<StateDiff, TrieError>,
    ) -> Result<B256, ChainError> {
        let inner = self.inner.lock();
        let root = Self::state_root_at(&inner, n)?;
        Self::changed_root(&inner, inner.state.nodes(), root, &change)
            .map_err(|source| ChainError::ChangedState { block: n, source })
    }

    pub(super) fn changed_root<N: aqueduct_trie::NodeStore>(
        inner: &Inner,
        nodes: &N,
        root: B256,
        change: &impl Fn(&dyn StateView) -> Result<StateDiff, TrieError>,
    ) -> Result<B256, TrieError> {
        let view = crate::state::HistoricState::new(nodes, inner.state.codes(), root);
        let diff = change(&view)?;
        Ok(crate::stateless::root_after(&view, nodes, root, diff)?.0)
    }

    /// Step `k` of block `n` as a one-step proof needs it: the block, the witness of the step
    /// and the roots before and after it.
    pub fn step_proof(&self, n: u64, k: u64) -> Result<StepProof, ChainError> {
        let (roots, witness, _) = self.steps(&self.inner.lock(), n, Some(k))?;
        let block =
            self.block(BlockRef::Number(n)).ok_or_else(|| ChainError::InvalidParams(format!("no block {n}")))?;
        let k = k as usize;
        Ok(StepProof {
            block: crate::StepBlock::new(block.header.clone(), block.txs.clone()),
            witness: witness.unwrap_or_default(),
            pre_root: roots[k],
            post_root: roots[k + 1],
        })
    }

    /// Runs block `n` step by step, each step over the roots the earlier ones left; with
    /// `want`, also records that step's witness.
    /// Also returns the trie nodes the intermediate roots created.
    #[allow(clippy::type_complexity)]
    pub(super) fn steps(
        &self,
        inner: &Inner,
        n: u64,
        want: Option<u64>,
    ) -> Result<(Vec<B256>, Option<crate::Witness>, aqueduct_trie::MemoryNodes), ChainError> {
        let (block, pre_root) = Self::transition(inner, n)?;
        let input = crate::stateless_input(&self.rules, &block);
        let count = input.step_count() as u64;
        if let Some(k) = want.filter(|k| *k >= count) {
            return Err(ChainError::InvalidParams(format!("block {n} has {count} steps, not {}", k + 1)));
        }
        let mut roots = vec![pre_root];
        let mut created = aqueduct_trie::MemoryNodes::new();
        let mut recorded = None;
        for k in 0..count {
            let one = input.step(k as usize).expect("k is below the step count");
            let (witness, post, new) = self.record(inner, &created, roots[k as usize], one, n)?;
            created.extend(new);
            if want == Some(k) {
                recorded = Some(witness);
            }
            roots.push(post);
        }
        if roots.last() != Some(&block.header.state_root) {
            return Err(ChainError::Internal(format!(
                "block {n}: its steps end at {:?}, its header says {}",
                roots.last(),
                block.header.state_root
            )));
        }
        Ok((roots, recorded, created))
    }

    /// The witness of a read-only call to `to` with `data` at block `n`'s state (what
    /// [`crate::call_stateless`] needs), with that state's root.
    pub fn call_witness(&self, n: u64, to: Address, data: Bytes) -> Result<(crate::Witness, B256), ChainError> {
        let inner = self.inner.lock();
        let root = Self::state_root_at(&inner, n)?;
        let (_, witness) = Self::recorded(&inner, inner.state.nodes(), root, |state, hashes| {
            crate::stateless::read_call(&self.rules, state, hashes, to, data)
        })
        .map_err(|e| ChainError::witness(n, e))?;
        Ok((witness, root))
    }

    /// Runs `run` over the state with root `root` (its nodes in `store`), recording every trie
    /// node, code and block hash it reads: its result, and the witness of those reads.
    pub(super) fn recorded<N: aqueduct_trie::NodeStore, R>(
        inner: &Inner,
        store: &N,
        root: B256,
        run: impl FnOnce(
            &crate::stateless::CodeRecorder<'_, crate::state::HistoricState<'_, aqueduct_trie::RecordingStore<&N>>>,
            &crate::stateless::HashRecorder<'_>,
        ) -> Result<R, crate::StatelessError>,
    ) -> Result<(R, crate::Witness), crate::StatelessError> {
        use crate::stateless::{CodeRecorder, HashRecorder};
        let recording = aqueduct_trie::RecordingStore::new(store);
        let (out, codes, block_hashes) = {
            let view = crate::state::HistoricState::new(&recording, inner.state.codes(), root);
            let code_rec = CodeRecorder { inner: &view, seen: Default::default() };
            let hash_rec = HashRecorder { all: inner.hashes.as_slice(), seen: Default::default() };
            let out = run(&code_rec, &hash_rec)?;
            (out, code_rec.seen.into_inner(), hash_rec.seen.into_inner())
        };
        Ok((out, crate::Witness { nodes: recording.into_witness(), codes, block_hashes }))
    }

    /// The state root after block `n`.
    pub(super) fn state_root_at(inner: &Inner, n: u64) -> Result<B256, ChainError> {
        let block = inner.blocks.get(n as usize).ok_or_else(|| ChainError::InvalidParams(format!("no block {n}")))?;
        Ok(block.header.state_root)
    }

    pub(super) fn transition(inner: &Inner, n: u64) -> Result<(Arc<SealedBlock>, B256), ChainError> {
        if n == 0 {
            return Err(ChainError::InvalidParams("genesis has no transition to witness".into()));
        }
        let block =
            inner.blocks.get(n as usize).cloned().ok_or_else(|| ChainError::InvalidParams(format!("no block {n}")))?;
        Ok((block, inner.blocks[n as usize - 1].header.state_root))
    }

    /// Executes `input` over the state with root `pre_root` (its nodes in the node's state or in
    /// `extra`), recording what it reads. Returns the witness, the post-state root and the trie
    /// nodes the root update created.
    pub(super) fn record(
        &self,
        inner: &Inner,
        extra: &aqueduct_trie::MemoryNodes,
        pre_root: B256,
        input: crate::StatelessInput,
        n: u64,
    ) -> Result<(crate::Witness, B256, aqueduct_trie::MemoryNodes), ChainError> {
        use crate::stateless::run_body;
        let all_nodes = aqueduct_trie::Layered { top: extra, base: inner.state.nodes() };
        let (diff, mut witness) = Self::recorded(inner, &all_nodes, pre_root, |state, hashes| {
            run_body(&self.rules, state, hashes, input).map(|(diff, _, _)| diff)
        })
        .map_err(|e| ChainError::witness(n, e))?;
        let (post, created) = Self::complete_for_root(inner, &all_nodes, &mut witness, pre_root, diff, n)?;
        Ok((witness, post, created))
    }

    /// Adds to `witness` the nodes the root update after `diff` needs that no read touched
    /// (siblings of deleted leaves); returns the post-state root and the nodes the update made.
    pub(super) fn complete_for_root<N: aqueduct_trie::NodeStore>(
        inner: &Inner,
        all_nodes: &N,
        witness: &mut crate::Witness,
        pre_root: B256,
        diff: StateDiff,
        n: u64,
    ) -> Result<(B256, aqueduct_trie::MemoryNodes), ChainError> {
        use crate::stateless::root_after;
        loop {
            let view = crate::state::HistoricState::new(&witness.nodes, inner.state.codes(), pre_root);
            match root_after(&view, &witness.nodes, pre_root, diff.clone()) {
                Ok(done) => return Ok(done),
                Err(aqueduct_trie::TrieError::MissingNode(h)) => {
                    let node = aqueduct_trie::NodeStore::node(all_nodes, &h)
                        .ok_or_else(|| ChainError::Internal(format!("trie node {h} of block {n} is not kept")))?;
                    witness.nodes.insert(h, node);
                }
                Err(e) => return Err(ChainError::witness(n, e.into())),
            }
        }
    }
}
