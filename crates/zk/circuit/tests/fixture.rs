//! Writes (with AQUEDUCT_WRITE_GENERATED=1) or checks `contracts/test/zk/ZkFixture.sol`: a
//! verifying key and two real proven blocks for the forge tests of the L1 contracts, plus exit
//! proofs. Keys and proofs come from a seeded source so the file is reproducible (such keys are
//! forgeable by anyone with the seed: fixtures only).

use std::fmt::Write;

use alloy_primitives::{Address, hex};
use aqueduct_zk_circuit::{CircuitParams, Prover, SeedableRng, StdRng, evm};
use aqueduct_zk_protocol::{
    Amount32, BlockWitness, F, OnchainOp, Op, OpKind, SecretKey, TreeShape, UnsignedTx, ZkState, change_key, deposit,
    full_exit, pubdata,
};

const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };
const DOMAIN: u64 = 7;
const SLOTS: usize = 4;

fn w(f: &F) -> String {
    format!("0x{}", hex::encode(evm::word(f)))
}

/// A Solidity array literal of uint256 (the first element sets the type).
fn words(ws: &[[u8; 32]]) -> String {
    let all: Vec<String> = ws.iter().map(|x| format!("0x{}", hex::encode(x))).collect();
    format!("[uint256({}), {}]", all[0], all[1..].join(", "))
}

fn ops_sol(name: &str, ops: &[OnchainOp]) -> String {
    let mut s = format!(
        "    function {name}() internal pure returns (ZkRollup.OnchainOp[] memory o) {{\n        o = new ZkRollup.OnchainOp[]({});\n",
        ops.len()
    );
    for (i, op) in ops.iter().enumerate() {
        writeln!(
            s,
            "        o[{i}] = ZkRollup.OnchainOp({}, {}, {}, {}, {}, {});",
            op.kind as u8,
            op.account,
            op.token,
            alloy_primitives::Address::to_checksum(&op.address, None),
            w(&op.value),
            op.slot
        )
        .unwrap();
    }
    s.push_str("    }\n");
    s
}

fn block_sol(n: u32, b: &BlockWitness, proof: &[[u8; 32]; 8]) -> String {
    let mut s = String::new();
    writeln!(s, "    uint256 internal constant ROOT{n} = {};", w(&b.new_root)).unwrap();
    writeln!(s, "    bytes internal constant PUBDATA{n} = hex\"{}\";", hex::encode(pubdata(&b.chunks()))).unwrap();
    writeln!(s, "    bytes32 internal constant DATA_HASH{n} = {};", b.commitment().data_hash).unwrap();
    writeln!(s, "    uint256 internal constant COMMITMENT{n} = {};", w(&b.commitment().public_input())).unwrap();
    let priority = b.onchain.iter().filter(|o| o.kind.is_priority()).count();
    writeln!(
        s,
        "    function committed{n}() internal pure returns (ZkRollup.Committed memory) {{\n        return ZkRollup.Committed(COMMITMENT{n}, ROOT{n}, {priority});\n    }}"
    )
    .unwrap();
    writeln!(
        s,
        "    function proof{n}() internal pure returns (uint256[8] memory) {{\n        return {};\n    }}",
        words(proof)
    )
    .unwrap();
    s.push_str(&ops_sol(&format!("ops{n}"), &b.onchain));
    s
}

fn generate() -> String {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let params = CircuitParams { shape: SHAPE, slots: SLOTS, onchain_slots: SLOTS, domain: DOMAIN };
    let prover = Prover::setup_with(params, &mut rng).unwrap();
    let (ka, kb) = (SecretKey::from_seed([1; 32]), SecretKey::from_seed([2; 32]));
    let (a, b) = (Address::repeat_byte(0xaa), Address::repeat_byte(0xbb));
    let mut s = ZkState::new(SHAPE, DOMAIN);
    let genesis = s.root();
    let ops1 = [
        deposit(1, a, 0, 1_000),
        deposit(2, b, 0, 50),
        change_key(1, a, ka.public().hash()),
        change_key(2, b, kb.public().hash()),
    ];
    let (b1, skipped) = s.apply_block(&ops1, SLOTS, SLOTS);
    assert!(skipped.is_empty());
    // Exit proofs against the state after block 1.
    let exit_sol = |s: &ZkState, idx: u32| {
        let acc = s.account(idx).unwrap();
        let bal: Vec<String> = acc.balance_path(SHAPE, 0).siblings.iter().flatten().map(w).collect();
        let accp: Vec<String> = s.account_path(idx).siblings.iter().flatten().map(w).collect();
        format!(
            "    uint256 internal constant EXIT{idx}_BALANCE = {};\n    uint256 internal constant EXIT{idx}_PUBKEY_HASH = {};\n    function exit{idx}Balance() internal pure returns (uint256[] memory p) {{\n        p = new uint256[]({});\n{}    }}\n    function exit{idx}Account() internal pure returns (uint256[] memory p) {{\n        p = new uint256[]({});\n{}    }}\n",
            acc.balance(0),
            w(&acc.pubkey_hash),
            bal.len(),
            bal.iter().enumerate().map(|(i, x)| format!("        p[{i}] = {x};\n")).collect::<String>(),
            accp.len(),
            accp.iter().enumerate().map(|(i, x)| format!("        p[{i}] = {x};\n")).collect::<String>(),
        )
    };
    let exits = exit_sol(&s, 1) + &exit_sol(&s, 2);
    let t = |key: &SecretKey, kind, from, to, amount: u128, nonce| {
        Op::Tx(
            UnsignedTx { kind, from, to, token: 0, amount: Amount32::pack(amount).unwrap(), nonce }.sign(DOMAIN, key),
        )
    };
    let ops2 = [t(&ka, OpKind::Transfer, 1, 2, 300, 0), t(&kb, OpKind::Withdraw, 2, 2, 100, 0), full_exit(1, a, 0)];
    let (b2, skipped) = s.apply_block(&ops2, SLOTS, SLOTS);
    assert!(skipped.is_empty());
    let p1 = prover.prove_with(&b1, &mut rng).unwrap();
    let p2 = prover.prove_with(&b2, &mut rng).unwrap();
    assert!(prover.verify(b1.commitment().public_input(), &p1));
    assert!(prover.verify(b2.commitment().public_input(), &p2));
    let mut out = String::new();
    out.push_str("// SPDX-License-Identifier: MIT OR Apache-2.0\n// GENERATED by crates/zk/circuit/tests/fixture.rs (AQUEDUCT_WRITE_GENERATED=1); do not edit.\n// Seeded keys and proofs: forgeable by anyone with the seed, for tests only.\npragma solidity ^0.8.24;\n\nimport {ZkRollup} from \"../../src/zk/ZkRollup.sol\";\n\nlibrary ZkFixture {\n");
    writeln!(out, "    uint64 internal constant DOMAIN = {DOMAIN};").unwrap();
    writeln!(out, "    uint256 internal constant SLOTS = {SLOTS};").unwrap();
    writeln!(out, "    uint256 internal constant ONCHAIN_SLOTS = {SLOTS};").unwrap();
    writeln!(out, "    uint256 internal constant ACCOUNT_LEVELS = {};", SHAPE.account_levels).unwrap();
    writeln!(out, "    uint256 internal constant BALANCE_LEVELS = {};", SHAPE.balance_levels).unwrap();
    writeln!(out, "    uint256 internal constant GENESIS = {};", w(&genesis)).unwrap();
    writeln!(out, "    uint256 internal constant PUBKEY_HASH1 = {};", w(&ka.public().hash())).unwrap();
    writeln!(out, "    uint256 internal constant PUBKEY_HASH2 = {};", w(&kb.public().hash())).unwrap();
    let vk = evm::vk_words(prover.vk()).unwrap();
    writeln!(
        out,
        "    function vk() internal pure returns (uint256[18] memory) {{\n        return {};\n    }}",
        words(&vk)
    )
    .unwrap();
    out.push_str(&block_sol(1, &b1, &evm::proof_words(&p1)));
    out.push_str(&block_sol(2, &b2, &evm::proof_words(&p2)));
    out.push_str(&exits);
    out.push_str(&blob_sol(&prover, &b1, &b2, &mut rng));
    writeln!(
        out,
        "    uint256 internal constant HASH4_1234 = {};",
        w(&aqueduct_zk_protocol::hash4(F::from(1u64), F::from(2u64), F::from(3u64), F::from(4u64)))
    )
    .unwrap();
    out.push_str("}\n");
    out
}

/// Blocks 1 and 2 again, in lanes 0 and 1 of one blob: what `commitBlocksBlob` takes (the
/// versioned hash, the KZG commitment and proof at L1's point, each block's y) and their proofs.
fn blob_sol(prover: &Prover, b1: &BlockWitness, b2: &BlockWitness, rng: &mut StdRng) -> String {
    use alloy::eips::eip4844::{c_kzg, env_settings::EnvKzgSettings, kzg_to_versioned_hash};
    use aqueduct_zk_protocol::blob;
    let lanes = vec![pubdata(&b1.chunks()), pubdata(&b2.chunks())];
    let k = blob::lane_elements(lanes[0].len());
    let settings = EnvKzgSettings::Default.get();
    let kb = c_kzg::Blob::from_bytes(&blob::blob(&lanes, k)).unwrap();
    let commitment = settings.blob_to_kzg_commitment(&kb).unwrap();
    let vh = kzg_to_versioned_hash(commitment.as_slice());
    let z = blob::challenge(vh, &[b1.commitment().data_hash, b2.commitment().data_hash]);
    let (kzg_proof, y) = settings.compute_kzg_proof(&kb, &c_kzg::Bytes32::new(blob::to_bytes(&z))).unwrap();
    let mut s = String::new();
    writeln!(s, "    bytes32 internal constant BLOB_HASH = {vh};").unwrap();
    writeln!(
        s,
        "    bytes internal constant BLOB_KZG = hex\"{}{}\";",
        hex::encode(commitment.as_slice()),
        hex::encode(kzg_proof.to_bytes().as_slice())
    )
    .unwrap();
    writeln!(s, "    uint256 internal constant BLOB_Y = 0x{};", hex::encode(y.as_slice())).unwrap();
    let mut sum = aqueduct_zk_protocol::BlobFr::from(0u64);
    for (lane, b) in [b1, b2].into_iter().enumerate() {
        let w = BlockWitness { blob_z: blob::lane_point(z, lane, k), ..b.clone() };
        let c = w.commitment();
        sum += c.y;
        let proof = prover.prove_with(&w, rng).unwrap();
        assert!(prover.verify(c.public_input(), &proof));
        let n = lane + 1;
        writeln!(s, "    uint256 internal constant BLOB_Y{n} = 0x{};", hex::encode(blob::to_bytes(&c.y))).unwrap();
        writeln!(s, "    uint256 internal constant BLOB_COMMITMENT{n} = {};", self::w(&c.public_input())).unwrap();
        writeln!(
            s,
            "    function blobProof{n}() internal pure returns (uint256[8] memory) {{\n        return {};\n    }}",
            words(&evm::proof_words(&proof))
        )
        .unwrap();
    }
    assert_eq!(blob::to_bytes(&sum), *y, "the lanes sum to the blob's value at z");
    s
}

#[test]
fn the_committed_fixture_is_what_the_circuit_produces() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../contracts/test/zk/ZkFixture.sol");
    let fresh = generate();
    if std::env::var_os("AQUEDUCT_WRITE_GENERATED").is_some() {
        std::fs::write(path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(committed == fresh, "contracts/test/zk/ZkFixture.sol is stale: rerun with AQUEDUCT_WRITE_GENERATED=1");
}
