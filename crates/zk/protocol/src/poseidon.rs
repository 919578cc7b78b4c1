//! The Poseidon permutation (x⁵ S-box) over BN254's scalar field, with round constants and MDS
//! matrices from the reference Grain LFSR (the same generator arkworks and the Poseidon paper use).
//! Width 3 hashes two elements, width 5 hashes four; both use 8 full rounds and the partial rounds
//! the paper prescribes for a 128-bit security level (57 and 60).

use std::sync::OnceLock;

use ark_crypto_primitives::sponge::poseidon::find_poseidon_ark_and_mds;
use ark_ff::{AdditiveGroup, Field, PrimeField};

use crate::F;

/// One Poseidon instance: width, rounds, round constants and MDS matrix.
#[derive(Debug, Clone)]
pub struct Poseidon {
    pub width: usize,
    pub full_rounds: usize,
    pub partial_rounds: usize,
    /// `ark[round][i]`: added to state element `i` at the start of `round`.
    pub ark: Vec<Vec<F>>,
    pub mds: Vec<Vec<F>>,
}

impl Poseidon {
    fn generate(width: usize, partial_rounds: usize) -> Self {
        let (ark, mds) =
            find_poseidon_ark_and_mds::<F>(F::MODULUS_BIT_SIZE as u64, width - 1, 8, partial_rounds as u64, 0);
        Self { width, full_rounds: 8, partial_rounds, ark, mds }
    }

    /// Width 3: hashes two field elements.
    pub fn t3() -> &'static Self {
        static P: OnceLock<Poseidon> = OnceLock::new();
        P.get_or_init(|| Self::generate(3, 57))
    }

    /// Width 5: hashes four field elements.
    pub fn t5() -> &'static Self {
        static P: OnceLock<Poseidon> = OnceLock::new();
        P.get_or_init(|| Self::generate(5, 60))
    }

    pub fn rounds(&self) -> usize {
        self.full_rounds + self.partial_rounds
    }

    /// Whether `round` applies the S-box to the whole state (else only to element 0).
    pub fn is_full(&self, round: usize) -> bool {
        round < self.full_rounds / 2 || round >= self.full_rounds / 2 + self.partial_rounds
    }

    pub fn permute(&self, state: &mut [F]) {
        debug_assert_eq!(state.len(), self.width);
        let mut next = vec![F::ZERO; self.width];
        for round in 0..self.rounds() {
            for (s, c) in state.iter_mut().zip(&self.ark[round]) {
                *s += c;
            }
            if self.is_full(round) {
                state.iter_mut().for_each(sbox);
            } else {
                sbox(&mut state[0]);
            }
            for (i, n) in next.iter_mut().enumerate() {
                *n = self.mds[i].iter().zip(state.iter()).map(|(m, s)| *m * s).sum();
            }
            state.copy_from_slice(&next);
        }
    }

    /// Hashes exactly `width - 1` inputs: the state is `[0, inputs…]`, the output its element 0
    /// after one permutation.
    pub fn hash(&self, inputs: &[F]) -> F {
        assert_eq!(inputs.len(), self.width - 1, "Poseidon width {} takes {} inputs", self.width, self.width - 1);
        let mut state = Vec::with_capacity(self.width);
        state.push(F::ZERO);
        state.extend_from_slice(inputs);
        self.permute(&mut state);
        state[0]
    }
}

fn sbox(x: &mut F) {
    let x2 = x.square();
    *x *= x2.square();
}

/// Poseidon of two elements.
pub fn hash2(a: F, b: F) -> F {
    Poseidon::t3().hash(&[a, b])
}

/// Poseidon of four elements.
pub fn hash4(a: F, b: F, c: F, d: F) -> F {
    Poseidon::t5().hash(&[a, b, c, d])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_deterministic_and_input_sensitive() {
        let a = hash2(F::from(1u64), F::from(2u64));
        assert_eq!(a, hash2(F::from(1u64), F::from(2u64)));
        assert_ne!(a, hash2(F::from(2u64), F::from(1u64)));
        let b = hash4(F::from(1u64), F::from(2u64), F::from(3u64), F::from(4u64));
        assert_ne!(b, hash4(F::from(1u64), F::from(2u64), F::from(3u64), F::from(5u64)));
    }

    #[test]
    fn constants_have_the_documented_shape() {
        let p = Poseidon::t5();
        assert_eq!(p.ark.len(), 68);
        assert!(p.ark.iter().all(|r| r.len() == 5));
        assert_eq!(p.mds.len(), 5);
        assert_eq!(Poseidon::t3().ark.len(), 65);
    }
}
