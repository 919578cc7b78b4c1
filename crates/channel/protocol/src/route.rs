//! Route finding over the known channel graph.
//!
//! The search runs backwards from the payee (as LDK's does), so each node's fee is computed on
//! the amount it actually forwards: the amount to deliver to a node is what its successor needs
//! plus the node's fee. It minimizes the amount the payer sends, skips channels whose capacity
//! (or, for the payer's own channels, whose spendable balance) is too small, and assigns each
//! hop's expiry so that every intermediate node keeps its expiry delta.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap},
};

use alloy_primitives::{Address, U256};

use crate::{channel::Hop, wire::FeePolicy};

/// A channel as the graph knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub id: U256,
    pub a: Address,
    pub b: Address,
    /// Both deposits together.
    pub capacity: u128,
    /// What each side can send, when known (the node's own channels).
    pub spendable: Option<(u128, u128)>,
}

impl Edge {
    /// How much `from` can send over this channel, as far as the graph knows.
    fn limit(&self, from: Address) -> u128 {
        match self.spendable {
            Some((a, b)) => {
                if from == self.a {
                    a
                } else {
                    b
                }
            }
            None => self.capacity,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("no route from {from} to {to} can carry {amount}")]
    NoRoute { from: Address, to: Address, amount: u128 },
    #[error("route longer than {0} hops")]
    TooLong(usize),
    #[error("a payment to oneself needs no route")]
    SelfPayment,
}

/// Channels and forwarding policies.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    edges: BTreeMap<U256, Edge>,
    policies: HashMap<Address, FeePolicy>,
    default_policy: Option<FeePolicy>,
}

impl Graph {
    pub fn new(default_policy: FeePolicy) -> Self {
        Self { default_policy: Some(default_policy), ..Default::default() }
    }

    pub fn upsert(&mut self, edge: Edge) {
        self.edges.insert(edge.id, edge);
    }

    pub fn remove(&mut self, id: &U256) {
        self.edges.remove(id);
    }

    pub fn set_policy(&mut self, node: Address, policy: FeePolicy) {
        self.policies.insert(node, policy);
    }

    pub fn edges(&self) -> impl Iterator<Item = &Edge> {
        self.edges.values()
    }

    fn policy(&self, node: &Address) -> FeePolicy {
        self.policies.get(node).copied().or(self.default_policy).unwrap_or(FeePolicy {
            base: 0,
            ppm: 0,
            expiry_delta: 0,
        })
    }

    /// The cheapest route delivering `amount` to `to`, its last hop expiring at
    /// `final_expiry`. The first hop is the payer's own channel.
    pub fn find_route(
        &self,
        from: Address,
        to: Address,
        amount: u128,
        final_expiry: u64,
    ) -> Result<Vec<Hop>, RouteError> {
        if from == to {
            return Err(RouteError::SelfPayment);
        }
        let mut adjacent: HashMap<Address, Vec<&Edge>> = HashMap::new();
        for e in self.edges.values() {
            adjacent.entry(e.a).or_default().push(e);
            adjacent.entry(e.b).or_default().push(e);
        }
        // need[n]: what must arrive at n (as an incoming HTLC) for the payment to complete.
        let mut need: HashMap<Address, u128> = HashMap::from([(to, amount)]);
        let mut next: HashMap<Address, (Address, U256)> = HashMap::new();
        let mut hops: HashMap<Address, usize> = HashMap::from([(to, 0)]);
        let mut heap = BinaryHeap::from([Reverse((amount, 0usize, to))]);
        while let Some(Reverse((arrive, depth, v))) = heap.pop() {
            if need.get(&v) != Some(&arrive) || v == from {
                continue;
            }
            if depth >= crate::wire::MAX_HOPS {
                continue;
            }
            for e in adjacent.get(&v).into_iter().flatten() {
                let u = if e.a == v { e.b } else { e.a };
                if e.limit(u) < arrive {
                    continue;
                }
                // The payer pays no fee to itself; every other node charges for forwarding.
                let cost = if u == from { arrive } else { arrive.saturating_add(self.policy(&u).fee(arrive)) };
                if need.get(&u).is_none_or(|&c| cost < c) {
                    need.insert(u, cost);
                    next.insert(u, (v, e.id));
                    hops.insert(u, depth + 1);
                    heap.push(Reverse((cost, depth + 1, u)));
                }
            }
        }
        if !next.contains_key(&from) {
            return Err(RouteError::NoRoute { from, to, amount });
        }
        // Walk forwards, collecting nodes and channels, then assign expiries backwards.
        let mut path = Vec::new();
        let mut at = from;
        while at != to {
            let (v, channel_id) = next[&at];
            path.push(Hop { node: v, channel_id, amount: need[&v], expiry: 0 });
            at = v;
        }
        if path.len() > crate::wire::MAX_HOPS {
            return Err(RouteError::TooLong(crate::wire::MAX_HOPS));
        }
        let mut expiry = final_expiry;
        for i in (0..path.len()).rev() {
            path[i].expiry = expiry;
            expiry += self.policy(&path[i].node).expiry_delta as u64;
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(i: u8) -> Address {
        Address::repeat_byte(i)
    }

    fn edge(id: u64, a: u8, b: u8, capacity: u128) -> Edge {
        Edge { id: U256::from(id), a: n(a), b: n(b), capacity, spendable: None }
    }

    #[test]
    fn cheapest_route_with_fees_and_expiries() {
        let policy = FeePolicy { base: 1, ppm: 10_000, expiry_delta: 40 };
        let mut g = Graph::new(policy);
        // 1 - 2 - 3 - 4 (cheap), and 1 - 5 - 4 (node 5 expensive).
        g.upsert(edge(1, 1, 2, 10_000));
        g.upsert(edge(2, 2, 3, 10_000));
        g.upsert(edge(3, 3, 4, 10_000));
        g.upsert(edge(4, 1, 5, 10_000));
        g.upsert(edge(5, 5, 4, 10_000));
        g.set_policy(n(5), FeePolicy { base: 500, ppm: 0, expiry_delta: 10 });
        let route = g.find_route(n(1), n(4), 1000, 1000).unwrap();
        assert_eq!(route.iter().map(|h| h.node).collect::<Vec<_>>(), vec![n(2), n(3), n(4)]);
        // Node 3 forwards 1000 for 1 + 10 = 11; node 2 forwards 1011 for 1 + 10 = 11.
        assert_eq!(route.iter().map(|h| h.amount).collect::<Vec<_>>(), vec![1022, 1011, 1000]);
        assert_eq!(route.iter().map(|h| h.expiry).collect::<Vec<_>>(), vec![1080, 1040, 1000]);
        // Too little capacity on the cheap path: the expensive one.
        g.upsert(edge(2, 2, 3, 500));
        let route = g.find_route(n(1), n(4), 1000, 1000).unwrap();
        assert_eq!(route.iter().map(|h| (h.node, h.amount)).collect::<Vec<_>>(), vec![(n(5), 1500), (n(4), 1000)]);
        // Own balance limits the first hop.
        g.upsert(Edge { spendable: Some((100, 9_900)), ..edge(4, 1, 5, 10_000) });
        assert_eq!(
            g.find_route(n(1), n(4), 1000, 1000),
            Err(RouteError::NoRoute { from: n(1), to: n(4), amount: 1000 })
        );
        assert_eq!(g.find_route(n(1), n(1), 1, 0), Err(RouteError::SelfPayment));
    }
}
