#![doc = include_str!("../README.md")]

/// `sol!` bindings of one compiled contract. Contract instances for calls through a provider
/// (`Name::new(address, provider)`) come only with the `rpc` feature, so that protocol cores use
/// the types, events and ABI without alloy's provider stack and its async runtime.
macro_rules! bindings {
    ($(#[$attr:meta])* $name:ident, $path:literal) => {
        #[cfg(feature = "rpc")]
        alloy::sol!($(#[$attr])* #[sol(rpc)] $name, $path);
        #[cfg(not(feature = "rpc"))]
        alloy::sol!($(#[$attr])* $name, $path);
    };
}

bindings!(
    /// A plain ERC-20 (contracts/src/AqueductToken.sol).
    #[derive(Debug)]
    AqueductToken,
    "artifacts/AqueductToken.json"
);

/// Multicall3 (contracts/src/util/Multicall3.sol): batches calls, at the address every chain keeps
/// it (`MULTICALL3`), in the L1 and L2 genesis of Aqueduct's devnets.
pub mod multicall {
    bindings!(
        #[derive(Debug)]
        Multicall3,
        "artifacts/Multicall3.json"
    );

    /// Where Ethereum, the OP Stack chains and viem expect Multicall3.
    pub const MULTICALL3: alloy::primitives::Address =
        alloy::primitives::address!("cA11bde05977b3631167028862bE2a173976CA11");
}

/// The ZK rollup's L1 contracts (contracts/src/zk).
pub mod zk {
    /// Width-5 Poseidon, generated from the circuit's constants.
    pub mod poseidon {
        bindings!(
            #[derive(Debug)]
            Poseidon,
            "artifacts/Poseidon.json"
        );
    }
    /// Groth16 over BN254, the verifying key fixed at deployment.
    pub mod verifier {
        bindings!(
            #[derive(Debug)]
            Groth16Verifier,
            "artifacts/Groth16Verifier.json"
        );
    }
    /// The rollup (or validium): priority queue, blocks, exodus.
    #[allow(clippy::too_many_arguments)] // `exit` and the constructor take what the contract needs
    pub mod rollup {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            ZkRollup,
            "artifacts/ZkRollup.json"
        );
    }
    pub use poseidon::Poseidon;
    pub use rollup::ZkRollup;
    pub use verifier::Groth16Verifier;
}

/// The optimistic rollup's L1 contracts and L2 predeploys (contracts/src/rollup).
pub mod rollup {
    /// L1: deposits in, proven withdrawals out.
    pub mod portal {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            RollupPortal,
            "artifacts/RollupPortal.json"
        );
    }
    /// L1: output roots with bonds and a challenge window.
    pub mod oracle {
        bindings!(
            #[derive(Debug)]
            OutputOracle,
            "artifacts/OutputOracle.json"
        );
    }
    /// L1: batches (calldata or blobs) and the forced-inclusion queue.
    pub mod inbox {
        bindings!(
            #[derive(Debug)]
            BatchInbox,
            "artifacts/BatchInbox.json"
        );
    }
    /// L2 predeploy: the current L1 origin.
    pub mod l1_block {
        bindings!(
            #[derive(Debug)]
            L1Block,
            "artifacts/L1Block.json"
        );
    }
    /// L2 predeploy: the L2->L1 message tree.
    pub mod message_passer {
        bindings!(
            #[derive(Debug)]
            L2ToL1MessagePasser,
            "artifacts/L2ToL1MessagePasser.json"
        );
    }
    /// L2 predeploy: the ERC-20 bridge.
    pub mod bridge {
        bindings!(
            #[derive(Debug)]
            L2Bridge,
            "artifacts/L2Bridge.json"
        );
    }

    /// L1: the fault-proof dispute game (bisection, clocks, bonds).
    pub mod game {
        bindings!(
            #[derive(Debug)]
            DisputeGame,
            "artifacts/DisputeGame.json"
        );
    }
    /// L1: one-step verification through the embedded L1's EXECUTE precompile.
    pub mod step_verifier {
        bindings!(
            #[derive(Debug)]
            ExecuteStepVerifier,
            "artifacts/ExecuteStepVerifier.json"
        );
    }

    /// The embedded L1's EXECUTE precompile (its ABI; `aqueduct-rollup-protocol` implements it).
    pub mod execute {
        bindings!(
            #[derive(Debug)]
            IExecute,
            "artifacts/IExecute.json"
        );
    }

    pub use bridge::L2Bridge;
    pub use execute::IExecute;
    pub use game::DisputeGame;
    pub use inbox::BatchInbox;
    pub use l1_block::L1Block;
    pub use message_passer::L2ToL1MessagePasser;
    pub use oracle::OutputOracle;
    pub use portal::RollupPortal;
    pub use step_verifier::ExecuteStepVerifier;
}

/// Messages between rollups (contracts/src/interop), after OP Stack interop: L2 predeploys at the
/// same address on every Aqueduct rollup.
pub mod interop {
    /// L2 predeploy: consumes another rollup's log that the transaction declared in its access list.
    pub mod inbox {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            CrossL2Inbox,
            "artifacts/CrossL2Inbox.json"
        );
    }
    /// L2 predeploy: sends calls to other rollups and relays theirs, each once.
    pub mod messenger {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            L2ToL2Messenger,
            "artifacts/L2ToL2Messenger.json"
        );
    }

    pub use inbox::CrossL2Inbox;
    pub use messenger::L2ToL2Messenger;
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolCall;

    #[test]
    fn bytecode_is_bound() {
        assert!(AqueductToken::BYTECODE.len() > 1000);
        assert!(AqueductToken::DEPLOYED_BYTECODE.len() > 1000);
        assert_eq!(AqueductToken::transferCall::SIGNATURE, "transfer(address,uint256)");
        assert!(rollup::RollupPortal::BYTECODE.len() > 1000);
        assert!(rollup::L2Bridge::DEPLOYED_BYTECODE.len() > 1000);
        assert_eq!(rollup::BatchInbox::submitCall::SIGNATURE, "submit(bytes)");
    }
}

/// The state-channel adjudicator (contracts/src/channel).
pub mod channel {
    /// Deposits, cooperative and unilateral closes, challenges, HTLC settlement.
    pub mod adjudicator {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            ChannelAdjudicator,
            "artifacts/ChannelAdjudicator.json"
        );
    }
    pub use adjudicator::ChannelAdjudicator;
}

/// The plasma chain's root contract (contracts/src/plasma): blocks, deposits, standard and
/// in-flight exits, challenges, the exit queues.
pub mod plasma {
    /// Blocks, deposits, exit games and their priority queues.
    #[allow(clippy::too_many_arguments)]
    pub mod chain {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            PlasmaChain,
            "artifacts/PlasmaChain.json"
        );
    }
    pub use chain::PlasmaChain;
}

/// The sidechain's contracts (contracts/src/sidechain): the L1 bridge that holds the validator
/// set and accepts checkpoints, and the bridge in the sidechain's genesis.
pub mod sidechain {
    /// L1: validators and stake, checkpoints signed by more than 2/3, locks and withdrawals.
    pub mod bridge {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            SidechainBridge,
            "artifacts/SidechainBridge.json"
        );
    }
    /// Sidechain: mints L1 deposits, burns withdrawals (in genesis at `CHILD_BRIDGE`).
    pub mod child {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            ChildBridge,
            "artifacts/ChildBridge.json"
        );
    }
    /// L1: checkpoints accepted with one aggregate BLS12-381 signature (EIP-2537), the variant
    /// measured beside the bridge's secp256k1 signatures.
    pub mod bls {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            BlsCheckpoints,
            "artifacts/BlsCheckpoints.json"
        );
    }
    pub use bls::BlsCheckpoints;
    pub use bridge::SidechainBridge;
    pub use child::ChildBridge;

    /// Where the sidechain's genesis puts `ChildBridge`.
    pub const CHILD_BRIDGE: alloy::primitives::Address =
        alloy::primitives::address!("5100000000000000000000000000000000000001");
    /// Sender of the validators' deposit transactions (`ChildBridge.SYSTEM`).
    pub const SYSTEM: alloy::primitives::Address =
        alloy::primitives::address!("51000000000000000000000000000000000000FF");
}

/// The fast bridge (contracts/src/bridge, after Across v3): the spoke on the rollup, the hub on
/// L1. Each module has its own copy of `BridgeLib`'s types; `aqueduct-bridge-protocol` converts.
pub mod bridge {
    /// L2: deposits and their tree, sent to the hub through the canonical bridge.
    pub mod spoke {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            SpokePool,
            "artifacts/SpokePool.json"
        );
    }
    /// L1: fills, deliveries, refund bundles, disputes, execution.
    #[allow(clippy::too_many_arguments)]
    pub mod hub {
        bindings!(
            #[derive(Debug, PartialEq, Eq)]
            HubPool,
            "artifacts/HubPool.json"
        );
    }
    pub use hub::HubPool;
    pub use spoke::SpokePool;
}
