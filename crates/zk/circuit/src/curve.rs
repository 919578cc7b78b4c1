//! Baby Jubjub arithmetic in R1CS (twisted Edwards, a = 1, as ark-ed-on-bn254 defines it; its
//! addition law is complete, so the identity and doublings need no special cases).
//! Addition costs 6 constraints, doubling 5.

use aqueduct_zk_protocol::F;
use ark_ec::{CurveGroup, PrimeGroup, twisted_edwards::TECurveConfig};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsConfig, EdwardsProjective};
use ark_ff::{AdditiveGroup, Field};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::bits::{boolean, witness};

#[derive(Clone)]
pub struct PointVar {
    pub x: FpVar<F>,
    pub y: FpVar<F>,
}

fn d() -> F {
    EdwardsConfig::COEFF_D
}

impl PointVar {
    pub fn witness(cs: &ConstraintSystemRef<F>, x: F, y: F) -> Result<Self, SynthesisError> {
        Ok(Self { x: witness(cs, x)?, y: witness(cs, y)? })
    }

    pub fn constant(p: EdwardsAffine) -> Self {
        Self { x: FpVar::constant(p.x), y: FpVar::constant(p.y) }
    }

    pub fn identity() -> Self {
        Self { x: FpVar::zero(), y: FpVar::one() }
    }

    /// `x² + y² = 1 + d·x²·y²` (4 constraints).
    pub fn enforce_on_curve(&self) -> Result<(), SynthesisError> {
        let x2 = self.x.square()?;
        let y2 = self.y.square()?;
        let x2y2 = &x2 * &y2;
        (x2 + y2).enforce_equal(&(FpVar::one() + x2y2 * FpVar::constant(d())))
    }

    /// `x3 = (x1y2 + y1x2) / (1 + d·τ)`, `y3 = (y1y2 − x1x2) / (1 − d·τ)` with `τ = x1x2y1y2`.
    pub fn add(&self, other: &Self) -> Result<Self, SynthesisError> {
        let beta = &self.x * &other.y;
        let gamma = &self.y * &other.x;
        let delta = (&self.y - &self.x) * (&other.x + &other.y);
        let tau = &beta * &gamma;
        let dtau = tau * FpVar::constant(d());
        self.finish(&beta, &gamma, &delta, &dtau)
    }

    pub fn double(&self) -> Result<Self, SynthesisError> {
        let beta = &self.x * &self.y;
        let delta = (&self.y - &self.x) * (&self.x + &self.y);
        let dtau = beta.square()? * FpVar::constant(d());
        self.finish(&beta, &beta, &delta, &dtau)
    }

    fn finish(
        &self,
        beta: &FpVar<F>,
        gamma: &FpVar<F>,
        delta: &FpVar<F>,
        dtau: &FpVar<F>,
    ) -> Result<Self, SynthesisError> {
        let cs = self.x.cs().or(self.y.cs()).or(beta.cs());
        let (num_x, den_x) = (beta + gamma, FpVar::one() + dtau);
        let (num_y, den_y) = (delta + beta - gamma, FpVar::one() - dtau);
        let quotient = |n: &FpVar<F>, dd: &FpVar<F>| -> Result<FpVar<F>, SynthesisError> {
            if n.is_constant() && dd.is_constant() {
                return Ok(FpVar::constant(n.value()? * dd.value()?.inverse().unwrap_or_default()));
            }
            let q = FpVar::new_witness(cs.clone(), || {
                let den = dd.value()?;
                // The denominators never vanish on this curve (the law is complete).
                Ok(n.value()? * den.inverse().ok_or(SynthesisError::DivisionByZero)?)
            })?;
            q.mul_equals(dd, n)?;
            Ok(q)
        };
        Ok(Self { x: quotient(&num_x, &den_x)?, y: quotient(&num_y, &den_y)? })
    }

    /// `self` when `bit`, else `other` (2 constraints).
    pub fn select(bit: &Boolean<F>, yes: &Self, no: &Self) -> Result<Self, SynthesisError> {
        Ok(Self { x: bit.select(&yes.x, &no.x)?, y: bit.select(&yes.y, &no.y)? })
    }

    /// `k·self` for the little-endian bits of `k`: double-and-add from the top bit
    /// (13 constraints a bit).
    pub fn mul_bits(&self, bits: &[Boolean<F>]) -> Result<Self, SynthesisError> {
        let mut acc = Self::identity();
        for bit in bits.iter().rev() {
            acc = acc.double()?;
            let sum = acc.add(self)?;
            acc = Self::select(bit, &sum, &acc)?;
        }
        Ok(acc)
    }

    /// `k·G` for the generator `G` and the little-endian bits of `k`, two bits a window: a
    /// window's multiple (0..3)·4ⁱ·G is looked up with one constraint and added with six.
    pub fn mul_generator(bits: &[Boolean<F>]) -> Result<Self, SynthesisError> {
        let mut acc = Self::identity();
        let mut base = EdwardsProjective::generator();
        for pair in bits.chunks(2) {
            let p = [EdwardsProjective::default(), base, base.double(), base.double() + base].map(|q| q.into_affine());
            let (x, y) = match pair {
                [b0, b1] => {
                    let both = boolean(&(b0 & b1));
                    let (f0, f1) = (boolean(b0), boolean(b1));
                    let lookup = |c: [F; 4]| {
                        FpVar::constant(c[0])
                            + &f0 * FpVar::constant(c[1] - c[0])
                            + &f1 * FpVar::constant(c[2] - c[0])
                            + &both * FpVar::constant(c[3] - c[2] - c[1] + c[0])
                    };
                    (lookup(p.map(|q| q.x)), lookup(p.map(|q| q.y)))
                }
                [b0] => {
                    let f0 = boolean(b0);
                    (
                        FpVar::constant(p[0].x) + &f0 * FpVar::constant(p[1].x - p[0].x),
                        FpVar::constant(p[0].y) + &f0 * FpVar::constant(p[1].y - p[0].y),
                    )
                }
                _ => unreachable!("chunks(2)"),
            };
            acc = acc.add(&Self { x, y })?;
            base = base.double().double();
        }
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator_times(k: ark_ed_on_bn254::Fr) -> EdwardsAffine {
        (EdwardsAffine::generator() * k).into_affine()
    }
    use crate::bits::to_bits;
    use ark_ec::AffineRepr;
    use ark_ed_on_bn254::Fr as Scalar;
    use ark_ff::{BigInteger, PrimeField};
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn scalar_multiplications_match_native_arithmetic() {
        let cs = ConstraintSystem::<F>::new_ref();
        let k = Scalar::from(123_456_789_123u64) * Scalar::from(987_654_321u64);
        let kf = F::from_le_bytes_mod_order(&k.into_bigint().to_bytes_le());
        let kv = witness(&cs, kf).unwrap();
        let bits = to_bits(&kv, 251).unwrap();
        let before = cs.num_constraints();
        let fixed = PointVar::mul_generator(&bits).unwrap();
        let fixed_cost = cs.num_constraints() - before;
        let expect = generator_times(k);
        assert_eq!((fixed.x.value().unwrap(), fixed.y.value().unwrap()), (expect.x, expect.y));
        let a = generator_times(Scalar::from(5u64));
        let av = PointVar::witness(&cs, a.x, a.y).unwrap();
        av.enforce_on_curve().unwrap();
        let before = cs.num_constraints();
        let var = av.mul_bits(&bits).unwrap();
        let var_cost = cs.num_constraints() - before;
        let expect = (a * k).into_affine();
        assert_eq!((var.x.value().unwrap(), var.y.value().unwrap()), (expect.x, expect.y));
        assert!(cs.is_satisfied().unwrap());
        assert!(fixed_cost <= 126 * 7, "{fixed_cost}");
        assert!(var_cost <= 251 * 13, "{var_cost}");
    }

    #[test]
    fn a_point_off_the_curve_is_refused() {
        let cs = ConstraintSystem::<F>::new_ref();
        let p = PointVar::witness(&cs, F::from(1u64), F::from(2u64)).unwrap();
        p.enforce_on_curve().unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
