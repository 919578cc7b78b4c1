#![doc = include_str!("../README.md")]

mod anvil;
mod bridge;
mod channel;
mod client;
mod compare;
mod interop;
mod plan;
mod plasma;
mod report;
mod rollup;
mod runner;
mod sidechain;
mod state_root;
mod workload;
mod zk;
mod zk_commit;
mod zk_sizes;

pub use anvil::{Anvil, AnvilError};
pub use bridge::{
    BRIDGE_L2_CHAIN, BridgeBenchError, BridgeBenchOptions, BridgeBenchReport, BridgeWorld, BridgeWorldOptions,
    MainnetQuote, RouteRun, bench_bridge,
};
pub use channel::{ChannelBenchError, ChannelBenchOptions, bench_channel};
pub use client::{RpcClient, RpcError};
pub use compare::{
    AttackCell, Claim, CompareError, CompareOptions, CompareReport, Family, FamilyId, L1Prices, Row, Trust, Verdict,
    compare, family, presets,
};
pub use interop::{InteropBenchError, InteropBenchOptions, InteropBenchReport, SingleMessage, bench_interop};
pub use plan::{Plan, PlannedTransfer};
pub use plasma::{BlockCost, PlasmaBenchError, PlasmaBenchOptions, PlasmaBenchReport, Round, bench_plasma};
pub use report::{BenchReport, print_table};
pub use rollup::{
    CompressorRow, FeeComparison, L1Cost, ModeReport, ReplayReport, RollupBenchOptions, RollupBenchReport,
    WorkloadResult, bench_rollup, compare_compressors, print_rollup,
};
pub use runner::{BenchError, RunOptions, run};
pub use sidechain::{
    CheckpointGas, LoadFigures, SidechainBenchError, SidechainBenchOptions, SidechainBenchReport, bench_sidechain,
};
pub use state_root::{StateRootReport, bench_state_root};
pub use workload::{TxKindMix, Workload, WorkloadSpec};
pub use zk::{ZkBenchError, ZkBenchOptions, bench_zk};
