//! L1 prices at which `aqueduct compare` turns measured gas into money: presets for the eras
//! the seeds talk about, each with where its figures come from, and any of them overridden.

use serde::{Deserialize, Serialize};

/// What L1 charges and what ETH is worth, plus the L1 capacity those prices went with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct L1Prices {
    /// The preset's name (or "custom").
    pub name: String,
    /// Base fee plus a typical priority fee, gwei per gas.
    pub gas_gwei: f64,
    /// Blob base fee, gwei per blob gas (0 before EIP-4844).
    pub blob_gwei: f64,
    pub eth_usd: f64,
    /// L1 block gas limit and slot time: what L1's own throughput is measured against.
    pub block_gas_limit: u64,
    pub block_seconds: f64,
    /// Where the figures come from.
    pub source: String,
}

/// The presets, by name. Yearly typical values read off public charts (Etherscan's gas
/// tracker and gas-limit chart, ultrasound.money's blob fees, CoinGecko's ETH price), rounded:
/// they place the families against each other, they are not a price feed.
pub fn presets() -> Vec<L1Prices> {
    let p = |name: &str, gas: f64, blob: f64, eth: f64, limit: u64, source: &str| L1Prices {
        name: name.into(),
        gas_gwei: gas,
        blob_gwei: blob,
        eth_usd: eth,
        block_gas_limit: limit,
        block_seconds: 12.0,
        source: source.into(),
    };
    vec![
        p(
            "mainnet-2021",
            80.0,
            0.0,
            3_000.0,
            30_000_000,
            "2021 bull market, before EIP-4844 (no blobs): ~80 gwei typical, ETH ~$3,000, 30M gas",
        ),
        p(
            "mainnet-2024",
            15.0,
            0.000_000_001,
            3_000.0,
            30_000_000,
            "2024 after Dencun: ~15 gwei typical, blob base fee at its 1-wei floor most of the year, ETH ~$3,000, 30M gas",
        ),
        p(
            "mainnet-2025",
            2.0,
            0.000_000_001,
            3_000.0,
            36_000_000,
            "2025: ~2 gwei typical, blob base fee mostly at its floor, ETH ~$3,000, 36M gas (raised Feb 2025)",
        ),
        p(
            "blob-congestion",
            15.0,
            50.0,
            3_000.0,
            30_000_000,
            "a blob-fee spike such as March 2024's blobscriptions: blob base fee ~50 gwei, gas ~15 gwei",
        ),
    ]
}

impl L1Prices {
    /// The default preset.
    pub fn default_preset() -> Self {
        Self::preset("mainnet-2024").expect("a built-in preset")
    }

    pub fn preset(name: &str) -> Option<Self> {
        presets().into_iter().find(|p| p.name == name)
    }

    /// Wei for `gas` gas and `blob_gas` blob gas.
    pub fn wei(&self, gas: f64, blob_gas: f64) -> f64 {
        gas * self.gas_gwei * 1e9 + blob_gas * self.blob_gwei * 1e9
    }

    /// US dollars for `gas` gas and `blob_gas` blob gas.
    pub fn usd(&self, gas: f64, blob_gas: f64) -> f64 {
        self.wei(gas, blob_gas) / 1e18 * self.eth_usd
    }

    /// Transfers a second L1 holds when every block is full of transfers of `gas_per_transfer`.
    pub fn l1_capacity(&self, gas_per_transfer: f64) -> f64 {
        self.block_gas_limit as f64 / gas_per_transfer.max(1.0) / self.block_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_price_gas() {
        let p = L1Prices::default_preset();
        // 21,000 gas at 15 gwei and $3,000: $0.945.
        assert!((p.usd(21_000.0, 0.0) - 0.945).abs() < 1e-9);
        assert!((p.l1_capacity(21_000.0) - 30e6 / 21_000.0 / 12.0).abs() < 1e-9);
        let names: Vec<String> = presets().into_iter().map(|p| p.name).collect();
        assert_eq!(names.len(), 4);
        assert!(L1Prices::preset("mainnet-2031").is_none());
        assert!(presets().iter().all(|p| p.gas_gwei > 0.0 && !p.source.is_empty()));
    }
}
