//! Replaying a block from what L1 holds (its pubdata and its on-chain operations), without the
//! signatures: how anyone rebuilds the rollup's state from L1 alone.

use crate::{
    F,
    op::{Amount32, Chunk, OnchainOp, Op, OpKind, PriorityOp, field_to_u128},
    state::{OpError, ZkState},
};

impl ZkState {
    /// Applies a published block: the chunks in order, each priority or withdrawal chunk taking
    /// the next on-chain operation (which must agree with it). Returns the new root. On an error
    /// the state is left as it was.
    pub fn replay_block(&mut self, chunks: &[Chunk], onchain: &[OnchainOp]) -> Result<F, OpError> {
        let mut next = self.clone();
        let mut records = onchain.iter();
        for (i, c) in chunks.iter().enumerate() {
            let bad = |why: &str| OpError::Malformed(format!("chunk {i}: {why}"));
            let kind = OpKind::from_u8(c.kind).ok_or_else(|| bad("unknown kind"))?;
            if kind == OpKind::Noop {
                continue;
            }
            let rec = if kind.is_onchain() {
                let r = records.next().ok_or_else(|| bad("no on-chain operation left for it"))?;
                if r.kind != kind || r.account != c.a || r.token != c.token || r.slot as usize != i {
                    return Err(bad("its on-chain operation does not match"));
                }
                Some(r)
            } else {
                None
            };
            match (kind, rec) {
                (OpKind::Transfer | OpKind::Withdraw, _) => {
                    let amount = Amount32::unpack(c.amount).ok_or(OpError::BadAmount(c.amount))?;
                    if let Some(r) = rec
                        && field_to_u128(r.value) != Some(amount)
                    {
                        return Err(bad("the withdrawal's amount differs from its chunk"));
                    }
                    next.move_funds(c.a, c.b, c.token, amount, kind == OpKind::Transfer)?;
                }
                (_, Some(r)) => {
                    let value = if kind == OpKind::FullExit { F::from(0u64) } else { r.value };
                    let op = Op::Priority(PriorityOp {
                        kind,
                        account: r.account,
                        address: r.address,
                        token: r.token,
                        value,
                    });
                    let (_, produced) = next.apply(&op)?;
                    if produced.map(|p| OnchainOp { slot: r.slot, ..p }).as_ref() != Some(r) {
                        return Err(bad("the operation's effect differs from what L1 recorded"));
                    }
                }
                (_, None) => return Err(bad("a priority chunk without its on-chain operation")),
            }
        }
        if records.next().is_some() {
            return Err(OpError::Malformed("more on-chain operations than chunks that take them".into()));
        }
        *self = next;
        Ok(self.root())
    }

    /// A transfer's or withdrawal's effect: the sender's nonce up and balance down, the receiver
    /// credited (transfers).
    fn move_funds(&mut self, from: u32, to: u32, token: u8, amount: u128, credit: bool) -> Result<(), OpError> {
        let mut a = self.get(from)?;
        let balance = a.balance(token);
        if balance < amount {
            return Err(OpError::Insufficient { balance, amount });
        }
        a.nonce = a.nonce.checked_add(1).ok_or(OpError::Overflow)?;
        *a.balances.entry(token).or_default() -= amount;
        self.put(from, a);
        if credit {
            let mut b = self.get(to)?;
            let bal = b.balances.entry(token).or_default();
            *bal = bal.checked_add(amount).ok_or(OpError::Overflow)?;
            self.put(to, b);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;

    use crate::{
        OpKind, SecretKey, TreeShape, UnsignedTx, ZkState, change_key, deposit, full_exit,
        op::{Amount32, Op},
    };

    const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };

    #[test]
    fn replay_of_published_blocks_matches_the_operator() {
        let mut operator = ZkState::new(SHAPE, 7);
        let mut follower = ZkState::new(SHAPE, 7);
        let (ka, kb) = (SecretKey::from_seed([3; 32]), SecretKey::from_seed([4; 32]));
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let mut blocks = vec![vec![
            deposit(1, a, 0, 5_000),
            deposit(2, b, 1, 70),
            change_key(1, a, ka.public().hash()),
            change_key(2, b, kb.public().hash()),
        ]];
        let tx = |kind, from, to, token, amount: u128, nonce, key: &SecretKey| {
            let amount = Amount32::pack(amount).unwrap();
            Op::Tx(UnsignedTx { kind, from, to, token, amount, nonce }.sign(7, key))
        };
        blocks.push(vec![
            tx(OpKind::Transfer, 1, 2, 0, 1_200, 0, &ka),
            tx(OpKind::Withdraw, 2, 2, 1, 30, 0, &kb),
            tx(OpKind::Transfer, 2, 1, 0, 200, 1, &kb),
            full_exit(2, b, 1),
        ]);
        blocks.push(vec![full_exit(1, b, 0), tx(OpKind::Withdraw, 1, 1, 0, 4_000, 1, &ka)]);
        for ops in &blocks {
            let (w, skipped) = operator.apply_block(ops, 4, 4);
            assert!(skipped.is_empty(), "{skipped:?}");
            let root = follower.replay_block(&w.chunks(), &w.onchain).unwrap();
            assert_eq!(root, w.new_root);
            assert_eq!(follower, operator);
        }
        assert_eq!(follower.account(1).unwrap().balance(0), 0);
        assert_eq!(follower.account(2).unwrap().balance(0), 1_000);
        assert_eq!(follower.account(2).unwrap().balance(1), 0);
    }

    #[test]
    fn replay_rejects_data_that_disagrees_with_l1() {
        let mut operator = ZkState::new(SHAPE, 7);
        let a = Address::repeat_byte(1);
        let (w, _) = operator.apply_block(&[deposit(1, a, 0, 10), full_exit(1, a, 0)], 2, 2);
        let mut follower = ZkState::new(SHAPE, 7);
        let before = follower.root();
        // A deposit without its L1 record, an exit claiming more than the balance, extra records.
        assert!(follower.replay_block(&w.chunks(), &w.onchain[..1]).is_err());
        let mut forged = w.onchain.clone();
        forged[1].value = crate::F::from(11u64);
        assert!(follower.replay_block(&w.chunks(), &forged).is_err());
        let mut extra = w.onchain.clone();
        extra.push(w.onchain[0].clone());
        assert!(follower.replay_block(&w.chunks(), &extra).is_err());
        // An overspending transfer chunk.
        let mut chunks = w.chunks();
        chunks[1] = crate::Chunk { kind: 2, a: 1, b: 2, token: 0, amount: Amount32::pack(50).unwrap() };
        assert!(follower.replay_block(&chunks, &w.onchain[..1]).is_err());
        assert_eq!(follower.root(), before, "a failed replay leaves the state alone");
        assert_eq!(follower.replay_block(&w.chunks(), &w.onchain).unwrap(), w.new_root);
    }
}
