//! A 4-ary Merkle path in R1CS. One set of siblings proves a leaf before and after an update:
//! both roots are computed over the same siblings and position bits, sharing the selector work
//! (11 constraints a level for the two, plus two Poseidon hashes).

use aqueduct_zk_protocol::{F, MerklePath};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::{
    bits::{boolean, witness},
    poseidon::hash4,
};

pub struct PathVar {
    siblings: Vec<[FpVar<F>; 3]>,
}

impl PathVar {
    pub fn new(cs: &ConstraintSystemRef<F>, path: &MerklePath) -> Result<Self, SynthesisError> {
        let siblings = path
            .siblings
            .iter()
            .map(|s| Ok([witness(cs, s[0])?, witness(cs, s[1])?, witness(cs, s[2])?]))
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        Ok(Self { siblings })
    }

    pub fn levels(&self) -> usize {
        self.siblings.len()
    }

    /// The roots for `before` and `after` at the position given by `index_bits` (two a level,
    /// least significant first).
    pub fn roots(
        &self,
        index_bits: &[Boolean<F>],
        before: &FpVar<F>,
        after: &FpVar<F>,
    ) -> Result<(FpVar<F>, FpVar<F>), SynthesisError> {
        assert_eq!(index_bits.len(), 2 * self.levels(), "two index bits a level");
        let (mut old, mut new) = (before.clone(), after.clone());
        for (level, [s0, s1, s2]) in self.siblings.iter().enumerate() {
            let (b0, b1) = (&index_bits[2 * level], &index_bits[2 * level + 1]);
            // One-hot position: e3 = b0·b1, e1 = b0 − e3, e2 = b1 − e3, e0 = 1 − b0 − b1 + e3.
            let e3 = boolean(&(b0 & b1));
            let e1 = boolean(b0) - &e3;
            let e2 = boolean(b1) - &e3;
            let e0 = FpVar::one() - boolean(b0) - boolean(b1) + &e3;
            // Shared by both computations.
            let t01 = &e0 * (s0 - s1);
            let t12 = (&e0 + &e1) * (s1 - s2);
            let children = |cur: &FpVar<F>| -> [FpVar<F>; 4] {
                [
                    s0 + &e0 * (cur - s0),
                    s1 + &e1 * (cur - s1) + &t01,
                    s2 + &e2 * (cur - s2) + &t12,
                    s2 + &e3 * (cur - s2),
                ]
            };
            let [a, b, c, d] = children(&old);
            old = hash4(&a, &b, &c, &d)?;
            let [a, b, c, d] = children(&new);
            new = hash4(&a, &b, &c, &d)?;
        }
        Ok((old, new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bits::to_bits;
    use aqueduct_zk_protocol::QuadTree;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn roots_match_the_native_tree_for_every_position() {
        let mut t = QuadTree::new(2, F::from(0u64));
        for i in 0..16u64 {
            t.set(i, F::from(i * 7 + 1));
        }
        for index in 0..16u64 {
            let cs = ConstraintSystem::<F>::new_ref();
            let path = t.path(index);
            let idx = witness(&cs, F::from(index)).unwrap();
            let bits = to_bits(&idx, 4).unwrap();
            let p = PathVar::new(&cs, &path).unwrap();
            let before = witness(&cs, t.leaf(index)).unwrap();
            let after = witness(&cs, F::from(1000u64)).unwrap();
            let (old, new) = p.roots(&bits, &before, &after).unwrap();
            assert_eq!(old.value().unwrap(), t.root());
            let mut t2 = t.clone();
            assert_eq!(new.value().unwrap(), t2.set(index, F::from(1000u64)));
            assert!(cs.is_satisfied().unwrap());
        }
    }
}
