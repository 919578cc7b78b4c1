//! The relayer's fee, term by term. A relayer pays the recipient on the destination at once and
//! is repaid `inputAmount` only after the canonical bridge's challenge window and the bundle's
//! liveness, so it charges: the destination gas of the fill and its share of the repayment's L1
//! gas; the cost of its capital for that window at a base annual rate; and a premium that rises
//! with how much of its capital is out (Across's rate curve:
//! `R(U) = R0 + R1·min(U,Ū)/Ū + R2·max(0,U−Ū)/(1−Ū)`, annual, charged for the window).

use alloy::primitives::U256;
use serde::{Deserialize, Serialize};

const YEAR_SECS: u128 = 365 * 24 * 3600;
/// Rates are in parts per million.
const PPM: u128 = 1_000_000;

/// Across's utilisation curve, annual rates in parts per million.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateCurve {
    /// Base rate: what idle capital costs the relayer (R0).
    pub base_ppm: u64,
    /// Added linearly up to the kink (R1).
    pub slope1_ppm: u64,
    /// Added linearly beyond the kink (R2).
    pub slope2_ppm: u64,
    /// The kink Ū.
    pub kink_ppm: u64,
}

impl Default for RateCurve {
    /// R0 5 %, R1 8 %, R2 100 %, Ū 65 % (REFERENCE's sample curve, with a 5 % base rate).
    fn default() -> Self {
        Self { base_ppm: 50_000, slope1_ppm: 80_000, slope2_ppm: 1_000_000, kink_ppm: 650_000 }
    }
}

impl RateCurve {
    /// The premium over the base rate at utilisation `u_ppm` (annual, ppm).
    pub fn premium_ppm(&self, u_ppm: u64) -> u128 {
        let (u, kink) = (u128::from(u_ppm.min(PPM as u64)), u128::from(self.kink_ppm.clamp(1, PPM as u64 - 1)));
        let below = u128::from(self.slope1_ppm) * u.min(kink) / kink;
        let above = u128::from(self.slope2_ppm) * u.saturating_sub(kink) / (PPM - kink);
        below + above
    }
}

/// What a relayer charges; every field is an input a user can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeModel {
    /// Gas of one `fillRelay` on the destination.
    pub fill_gas: u64,
    /// The relayer's share per deposit of the repayment's L1 gas (executing its entry, and the
    /// bundle's proposal and the spoke's delivery spread over the deposits they carry).
    pub repay_gas: u64,
    /// The destination's gas price now (wei).
    pub gas_price: u128,
    /// Seconds from the fill to the repayment: challenge window, liveness and the lag between.
    pub window_secs: u64,
    pub curve: RateCurve,
}

/// A quote for moving `input` wei: the three terms and what the recipient gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub input: U256,
    /// Destination gas of the fill plus the share of the repayment's gas.
    pub gas_fee: U256,
    /// The base rate on `input` for the window.
    pub capital_fee: U256,
    /// The utilisation premium on `input` for the window.
    pub utilisation_fee: U256,
    /// `gas_fee + capital_fee + utilisation_fee`.
    pub total: U256,
    /// `input - total` (zero when the fee exceeds the amount).
    pub output: U256,
}

impl Quote {
    /// The fee in parts per million of the input.
    pub fn fee_ppm(&self) -> u64 {
        if self.input.is_zero() {
            return 0;
        }
        (self.total.saturating_mul(U256::from(PPM)) / self.input).saturating_to()
    }
}

impl FeeModel {
    /// The fee for `input` wei when `utilisation_ppm` of the relayer's capital is out (after this
    /// fill).
    pub fn quote(&self, input: U256, utilisation_ppm: u64) -> Quote {
        let gas_fee = U256::from(u128::from(self.fill_gas + self.repay_gas) * self.gas_price);
        let for_window = |rate_ppm: u128| {
            input.saturating_mul(U256::from(rate_ppm)).saturating_mul(U256::from(self.window_secs))
                / U256::from(PPM * YEAR_SECS)
        };
        let capital_fee = for_window(u128::from(self.curve.base_ppm));
        let utilisation_fee = for_window(self.curve.premium_ppm(utilisation_ppm));
        let total = gas_fee + capital_fee + utilisation_fee;
        Quote { input, gas_fee, capital_fee, utilisation_fee, total, output: input.saturating_sub(total) }
    }

    /// Whether a deposit of `input` offering `output` pays at least this model's fee.
    pub fn pays(&self, input: U256, output: U256, utilisation_ppm: u64) -> bool {
        output <= self.quote(input, utilisation_ppm).output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH: u128 = 1_000_000_000_000_000_000;

    #[test]
    fn the_curve_has_its_kink() {
        let c = RateCurve::default();
        assert_eq!(c.premium_ppm(0), 0);
        assert_eq!(c.premium_ppm(650_000), 80_000);
        assert_eq!(c.premium_ppm(1_000_000), 1_080_000);
        assert!(c.premium_ppm(800_000) > c.premium_ppm(700_000));
    }

    /// Mainnet-like: 7 days of challenge and 2 h of liveness at 5 % give Across's ~0.1 %.
    #[test]
    fn terms_add_up_and_scale() {
        let m = FeeModel {
            fill_gas: 60_000,
            repay_gas: 40_000,
            gas_price: 10_000_000_000,
            window_secs: 7 * 86_400 + 7_200,
            curve: RateCurve::default(),
        };
        let q = m.quote(U256::from(ETH), 0);
        assert_eq!(q.gas_fee, U256::from(100_000u128 * 10_000_000_000));
        assert_eq!(q.total, q.gas_fee + q.capital_fee + q.utilisation_fee);
        assert_eq!(q.utilisation_fee, U256::ZERO);
        assert_eq!(q.output, U256::from(ETH) - q.total);
        let capital_ppm = (q.capital_fee * U256::from(PPM) / U256::from(ETH)).to::<u64>();
        assert!((950..1000).contains(&capital_ppm), "7 days at 5 %: {capital_ppm} ppm");
        let busy = m.quote(U256::from(ETH), 900_000);
        assert!(busy.utilisation_fee > busy.capital_fee, "beyond the kink the premium dominates");
        // Small transfers pay mostly gas (Across users' complaint).
        assert!(m.quote(U256::from(ETH / 10_000), 0).fee_ppm() > 100 * q.fee_ppm());
        assert!(m.pays(U256::from(ETH), q.output, 0));
        assert!(!m.pays(U256::from(ETH), q.output + U256::from(1), 0));
    }
}
