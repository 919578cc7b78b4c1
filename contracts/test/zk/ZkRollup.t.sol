// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test, Vm} from "../utils/Test.sol";
import {ZkFixture as F} from "./ZkFixture.sol";
import {Poseidon} from "../../src/zk/Poseidon.sol";
import {Groth16Verifier} from "../../src/zk/Groth16Verifier.sol";
import {ZkRollup} from "../../src/zk/ZkRollup.sol";

/// Real proofs from the Rust prover (ZkFixture.sol) against the L1 contracts.
contract ZkRollupTest is Test {
    Poseidon poseidon;
    Groth16Verifier verifier;
    ZkRollup rollup;
    address constant A = 0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa;
    address constant B = 0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB;
    address constant OPERATOR = address(0x0F);
    uint64 constant EXPIRY = 3 days;

    function setUp() public {
        poseidon = new Poseidon();
        verifier = new Groth16Verifier(F.vk());
        rollup = _deploy(new address[](0), 0);
    }

    function _deploy(address[] memory committee, uint256 k) internal returns (ZkRollup) {
        return new ZkRollup(
            poseidon, verifier, OPERATOR, F.DOMAIN, [F.SLOTS, F.ACCOUNT_LEVELS, F.BALANCE_LEVELS, F.ONCHAIN_SLOTS], F.GENESIS, EXPIRY, committee, k
        );
    }

    function _requests(ZkRollup r) internal {
        r.depositETH{value: 1000}(A);
        r.depositETH{value: 50}(B);
        vm.prank(A);
        r.changeKey(F.PUBKEY_HASH1);
        vm.prank(B);
        r.changeKey(F.PUBKEY_HASH2);
    }

    function _block1() internal {
        _requests(rollup);
        vm.prank(OPERATOR);
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, F.ops1());
        rollup.proveBlock(F.proof1(), F.committed1(), F.ops1());
    }

    function test_poseidonMatchesTheCircuit() public view {
        assertEq(poseidon.hash4(1, 2, 3, 4), F.HASH4_1234, "hash4");
    }

    /// The commitment L1 computes (SHA-256 over roots, the pubdata's hash and the on-chain
    /// records) is the one the Rust prover proved, and commit costs no Poseidon.
    function test_commitmentMatchesTheProver() public {
        assertEq(sha256(F.PUBDATA1), F.DATA_HASH1, "pubdata hash");
        _requests(rollup);
        vm.recordLogs();
        vm.prank(OPERATOR);
        uint256 g = gasleft();
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, F.ops1());
        g -= gasleft();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (uint256 root, bytes32 dataHash, uint256 commitment, uint64 priority) =
            abi.decode(logs[logs.length - 1].data, (uint256, bytes32, uint256, uint64));
        assertEq(root, F.ROOT1, "root");
        assertEq(dataHash, F.DATA_HASH1, "data hash");
        assertEq(commitment, F.COMMITMENT1, "commitment");
        assertEq(priority, 4, "priority requests");
        assertTrue(g < 150_000, "commit gas");
    }

    function test_verifierAcceptsOnlyItsProofAndInput() public view {
        uint256 g = gasleft();
        assertTrue(verifier.verify(F.proof1(), F.COMMITMENT1), "proof 1");
        g -= gasleft();
        assertTrue(g < 250_000, "verify gas");
        assertTrue(!verifier.verify(F.proof1(), F.COMMITMENT2), "proof 1 for block 2");
        assertTrue(!verifier.verify(F.proof1(), F.COMMITMENT1 + 1), "another input");
        uint256[8] memory p = F.proof1();
        p[6] ^= 1;
        assertTrue(!verifier.verify(p, F.COMMITMENT1), "a changed proof");
        p = F.proof1();
        p[0] = type(uint256).max;
        assertTrue(!verifier.verify(p, F.COMMITMENT1), "a coordinate out of the field");
        assertTrue(!verifier.verify(F.proof1(), F.COMMITMENT1 + 21888242871839275222246405745257275088548364400416034343698204186575808495617), "input above the field");
    }

    function testFuzz_randomProofsNeverVerify(uint256[8] memory p, uint256 input) public view {
        uint256 g = gasleft();
        assertTrue(!verifier.verify(p, input), "random proof");
        assertTrue(g - gasleft() < 250_000, "a malformed proof costs what a good one does, no more");
    }

    function test_depositsTransfersAndWithdrawalsPaidWhenTheProofLands() public {
        _block1();
        assertEq(rollup.stateRoot(), F.ROOT1, "root 1");
        assertEq(rollup.firstPriority(), 4, "requests served");
        vm.prank(A);
        rollup.requestFullExit(0);
        uint256 a0 = A.balance;
        uint256 b0 = B.balance;
        vm.prank(OPERATOR);
        rollup.commitBlock(F.ROOT2, F.PUBDATA2, F.ops2());
        assertEq(A.balance, a0, "nothing paid at commit");
        rollup.proveBlock(F.proof2(), F.committed2(), F.ops2());
        assertEq(rollup.stateRoot(), F.ROOT2, "root 2");
        assertEq(B.balance - b0, 100, "withdrawal paid at once");
        assertEq(A.balance - a0, 700, "full exit paid at once");
        assertEq(address(rollup).balance, 250, "what stays locked");
    }

    function _commitBoth() internal {
        _requests(rollup);
        vm.prank(OPERATOR);
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, F.ops1());
        vm.prank(A);
        rollup.requestFullExit(0);
        vm.prank(OPERATOR);
        rollup.commitBlock(F.ROOT2, F.PUBDATA2, F.ops2());
    }

    function _batch(uint256[8] memory p1, uint256[8] memory p2)
        internal
        pure
        returns (uint256[8][] memory proofs, ZkRollup.Committed[] memory bs, ZkRollup.OnchainOp[][] memory ops)
    {
        proofs = new uint256[8][](2);
        (proofs[0], proofs[1]) = (p1, p2);
        bs = new ZkRollup.Committed[](2);
        (bs[0], bs[1]) = (F.committed1(), F.committed2());
        ops = new ZkRollup.OnchainOp[][](2);
        (ops[0], ops[1]) = (F.ops1(), F.ops2());
    }

    /// Two blocks verified by one batched pairing check pay what two proveBlock calls pay.
    function test_proveBlocksVerifiesABatchWithOnePairingCheck() public {
        _commitBoth();
        uint256 a0 = A.balance;
        uint256 b0 = B.balance;
        (uint256[8][] memory proofs, ZkRollup.Committed[] memory bs, ZkRollup.OnchainOp[][] memory ops) =
            _batch(F.proof1(), F.proof2());
        rollup.proveBlocks(proofs, bs, ops);
        assertEq(rollup.totalVerified(), 2, "both verified");
        assertEq(rollup.stateRoot(), F.ROOT2, "root 2");
        assertEq(rollup.firstPriority(), 5, "requests served");
        assertEq(B.balance - b0, 100, "withdrawal paid");
        assertEq(A.balance - a0, 700, "full exit paid");
        assertEq(address(rollup).balance, 250, "what stays locked");
        assertEq(rollup.blocks(1), bytes32(0), "commitment slot cleared");
    }

    /// Two blocks committed in one transaction are the two commitBlock calls' blocks: the same
    /// commitments, proven the same way; a bad block in the batch reverts it whole.
    function test_commitBlocksCommitsABatchAsSingleCommitsWould() public {
        _requests(rollup);
        vm.prank(A);
        rollup.requestFullExit(0);
        ZkRollup.BlockData[] memory bs = new ZkRollup.BlockData[](2);
        bs[0] = ZkRollup.BlockData(F.ROOT1, F.PUBDATA1, F.ops1());
        bs[1] = ZkRollup.BlockData(F.ROOT2, hex"00", F.ops2());
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.BadPubdata.selector, 1, 48));
        rollup.commitBlocks(bs);
        assertEq(rollup.totalCommitted(), 0, "nothing committed");
        bs[1].pubdata = F.PUBDATA2;
        vm.prank(address(0xBAD));
        vm.expectRevert(ZkRollup.NotOperator.selector);
        rollup.commitBlocks(bs);
        vm.prank(OPERATOR);
        rollup.commitBlocks(bs);
        assertEq(rollup.totalCommitted(), 2, "both committed");
        (uint256[8][] memory proofs, ZkRollup.Committed[] memory cs, ZkRollup.OnchainOp[][] memory ops) =
            _batch(F.proof1(), F.proof2());
        rollup.proveBlocks(proofs, cs, ops);
        assertEq(rollup.stateRoot(), F.ROOT2, "root 2");
        assertEq(address(rollup).balance, 250, "what stays locked");
    }

    function _blobBlocks() internal pure returns (ZkRollup.BlobBlock[] memory bs) {
        bs = new ZkRollup.BlobBlock[](2);
        bs[0] = ZkRollup.BlobBlock(F.ROOT1, F.DATA_HASH1, F.BLOB_Y1, F.ops1());
        bs[1] = ZkRollup.BlobBlock(F.ROOT2, F.DATA_HASH2, F.BLOB_Y2, F.ops2());
    }

    function _blobHash() internal {
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = F.BLOB_HASH;
        vm.blobhashes(hashes);
    }

    /// Two blocks whose pubdata is one blob (lanes 0 and 1, the blob built and KZG-proven by the
    /// Rust prover with c-kzg): L1 draws the point, gives each block its lane's point, checks
    /// the blob's value there with the point-evaluation precompile, and the proofs made at
    /// those points verify; the blocks pay out as calldata blocks do.
    function test_blobBlocksCommitWithThePointEvaluationAndProve() public {
        _requests(rollup);
        vm.prank(A);
        rollup.requestFullExit(0);
        _blobHash();
        vm.recordLogs();
        vm.prank(OPERATOR);
        uint256 g = gasleft();
        rollup.commitBlocksBlob(_blobBlocks(), F.BLOB_KZG);
        g -= gasleft();
        assertTrue(g < 250_000, "commit gas of two blob blocks");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (,,uint256 c1,) = abi.decode(logs[logs.length - 2].data, (uint256, bytes32, uint256, uint64));
        (,,uint256 c2,) = abi.decode(logs[logs.length - 1].data, (uint256, bytes32, uint256, uint64));
        assertEq(c1, F.BLOB_COMMITMENT1, "lane 0's commitment");
        assertEq(c2, F.BLOB_COMMITMENT2, "lane 1's commitment");
        assertEq(addmod(F.BLOB_Y1, F.BLOB_Y2, 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001), F.BLOB_Y, "lanes sum");
        ZkRollup.Committed[] memory cs = new ZkRollup.Committed[](2);
        cs[0] = ZkRollup.Committed(F.BLOB_COMMITMENT1, F.ROOT1, 4);
        cs[1] = ZkRollup.Committed(F.BLOB_COMMITMENT2, F.ROOT2, 1);
        (uint256[8][] memory proofs,, ZkRollup.OnchainOp[][] memory ops) = _batch(F.blobProof1(), F.blobProof2());
        // The calldata-mode proofs do not verify for blob blocks.
        (uint256[8][] memory calldataProofs,,) = _batch(F.proof1(), F.proof2());
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        rollup.proveBlocks(calldataProofs, cs, ops);
        uint256 b0 = B.balance;
        rollup.proveBlocks(proofs, cs, ops);
        assertEq(rollup.stateRoot(), F.ROOT2, "root 2");
        assertEq(B.balance - b0, 100, "withdrawal paid");
        assertEq(address(rollup).balance, 250, "what stays locked");
    }

    /// A blob that is not the blocks' data, a y that is not their value, blocks in other lanes,
    /// no blob at all: refused before anything is committed.
    function test_blobBlocksAreRefusedUnlessTheBlobIsTheirData() public {
        _requests(rollup);
        vm.prank(A);
        rollup.requestFullExit(0);
        ZkRollup.BlobBlock[] memory bs = _blobBlocks();
        vm.prank(OPERATOR);
        vm.expectRevert(ZkRollup.NoBlob.selector);
        rollup.commitBlocksBlob(bs, F.BLOB_KZG);
        _blobHash();
        bs[1].y = addmod(bs[1].y, 1, 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001);
        vm.prank(OPERATOR);
        vm.expectRevert(ZkRollup.BadBlob.selector);
        rollup.commitBlocksBlob(bs, F.BLOB_KZG);
        // Another data hash draws another point: the KZG proof is for the blob at F's point only.
        bs = _blobBlocks();
        bs[0].dataHash = F.DATA_HASH2;
        vm.prank(OPERATOR);
        vm.expectRevert(ZkRollup.BadBlob.selector);
        rollup.commitBlocksBlob(bs, F.BLOB_KZG);
        // A KZG proof with one bit flipped.
        bytes memory kzg = F.BLOB_KZG;
        kzg[95] ^= 0x01;
        vm.prank(OPERATOR);
        vm.expectRevert(ZkRollup.BadBlob.selector);
        rollup.commitBlocksBlob(_blobBlocks(), kzg);
        assertEq(rollup.totalCommitted(), 0, "nothing committed");
        // The lanes' values swapped: the blob's value is the same sum, so L1 commits them, but
        // each block's commitment now holds the other lane's value: no proof verifies.
        bs = _blobBlocks();
        (bs[0].y, bs[1].y) = (bs[1].y, bs[0].y);
        vm.recordLogs();
        vm.prank(OPERATOR);
        rollup.commitBlocksBlob(bs, F.BLOB_KZG);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (,, uint256 c1,) = abi.decode(logs[0].data, (uint256, bytes32, uint256, uint64));
        (,, uint256 c2,) = abi.decode(logs[1].data, (uint256, bytes32, uint256, uint64));
        assertTrue(c1 != F.BLOB_COMMITMENT1 && c2 != F.BLOB_COMMITMENT2, "other commitments");
        (uint256[8][] memory proofs,, ZkRollup.OnchainOp[][] memory ops) = _batch(F.blobProof1(), F.blobProof2());
        ZkRollup.Committed[] memory cs = new ZkRollup.Committed[](2);
        cs[0] = ZkRollup.Committed(c1, F.ROOT1, 4);
        cs[1] = ZkRollup.Committed(c2, F.ROOT2, 1);
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        rollup.proveBlocks(proofs, cs, ops);
        assertEq(rollup.stateRoot(), F.GENESIS, "nothing verified");
    }

    function test_proveBlocksRefusesABatchWithOneBadProof() public {
        _commitBoth();
        (uint256[8][] memory proofs, ZkRollup.Committed[] memory bs, ZkRollup.OnchainOp[][] memory ops) =
            _batch(F.proof2(), F.proof1());
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        rollup.proveBlocks(proofs, bs, ops);
        uint256[8] memory bad = F.proof2();
        bad[7] ^= 1;
        (proofs, bs, ops) = _batch(F.proof1(), bad);
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        rollup.proveBlocks(proofs, bs, ops);
        // The same proof twice (for both inputs) does not pass either.
        (proofs, bs, ops) = _batch(F.proof1(), F.proof1());
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        rollup.proveBlocks(proofs, bs, ops);
        // A batch must match what was committed, and not run past it.
        (proofs, bs, ops) = _batch(F.proof1(), F.proof2());
        (bs[0], bs[1]) = (bs[1], bs[0]);
        vm.expectRevert(ZkRollup.BlockMismatch.selector);
        rollup.proveBlocks(proofs, bs, ops);
        vm.expectRevert(ZkRollup.BadBatch.selector);
        rollup.proveBlocks(new uint256[8][](0), new ZkRollup.Committed[](0), new ZkRollup.OnchainOp[][](0));
        assertEq(rollup.totalVerified(), 0, "nothing verified");
        // Block 1 alone, then a batch of one more than is committed.
        rollup.proveBlock(F.proof1(), F.committed1(), F.ops1());
        (proofs, bs, ops) = _batch(F.proof2(), F.proof2());
        vm.expectRevert(ZkRollup.NoBlockToVerify.selector);
        rollup.proveBlocks(proofs, bs, ops);
        assertEq(rollup.totalVerified(), 1, "block 1 only");
    }

    function test_verifyBatchAcceptsOnlyValidProofsForTheirInputs() public view {
        uint256[8][] memory proofs = new uint256[8][](2);
        (proofs[0], proofs[1]) = (F.proof1(), F.proof2());
        uint256[] memory inputs = new uint256[](2);
        (inputs[0], inputs[1]) = (F.COMMITMENT1, F.COMMITMENT2);
        uint256 g = gasleft();
        assertTrue(verifier.verifyBatch(proofs, inputs), "both");
        uint256 batch = g - gasleft();
        g = gasleft();
        assertTrue(verifier.verify(F.proof1(), F.COMMITMENT1) && verifier.verify(F.proof2(), F.COMMITMENT2), "each");
        uint256 single = g - gasleft();
        // Five pairings instead of eight: a second proof adds one pairing and two scalar
        // multiplications (46.2k gas at EIP-1108 prices), not a whole check's four pairings.
        assertTrue(batch + 100_000 < single, "a batch of two costs less than two checks");
        (inputs[0], inputs[1]) = (F.COMMITMENT2, F.COMMITMENT1);
        assertTrue(!verifier.verifyBatch(proofs, inputs), "inputs swapped");
        (inputs[0], inputs[1]) = (F.COMMITMENT1, F.COMMITMENT2 + 1);
        assertTrue(!verifier.verifyBatch(proofs, inputs), "one input changed");
        assertTrue(!verifier.verifyBatch(proofs, new uint256[](1)), "lengths differ");
        uint256[8][] memory one = new uint256[8][](1);
        one[0] = F.proof1();
        uint256[] memory in1 = new uint256[](1);
        in1[0] = F.COMMITMENT1;
        assertTrue(verifier.verifyBatch(one, in1), "a batch of one");
    }

    function testFuzz_randomBatchesNeverVerify(uint256[8] memory p, uint256 input) public view {
        uint256[8][] memory proofs = new uint256[8][](2);
        (proofs[0], proofs[1]) = (F.proof1(), p);
        uint256[] memory inputs = new uint256[](2);
        (inputs[0], inputs[1]) = (F.COMMITMENT1, input);
        assertTrue(!verifier.verifyBatch(proofs, inputs), "a random proof beside a valid one");
    }

    function test_badProofsWrongRootsAndForeignOpsAreRejected() public {
        _requests(rollup);
        vm.prank(address(0xBAD));
        vm.expectRevert(ZkRollup.NotOperator.selector);
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, F.ops1());
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.BadPubdata.selector, 12, 48));
        rollup.commitBlock(F.ROOT1, hex"000000000000000000000000", F.ops1());
        ZkRollup.OnchainOp[] memory ops = F.ops1();
        ops[0].value += 1;
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.PriorityMismatch.selector, 0, 0));
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, ops);
        // An operation out of the on-chain slots, or out of slot order, is refused.
        ops = F.ops1();
        ops[3].slot = uint16(F.ONCHAIN_SLOTS);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.BadOp.selector, 3));
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, ops);
        ops = F.ops1();
        (ops[1].slot, ops[2].slot) = (ops[2].slot, ops[1].slot);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.BadOp.selector, 2));
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, ops);
        // A wrong root commits but cannot be proven.
        vm.prank(OPERATOR);
        rollup.commitBlock(F.ROOT1 + 1, F.PUBDATA1, F.ops1());
        ZkRollup.Committed memory c = _recommitted(F.committed1(), F.ROOT1 + 1, F.PUBDATA1, F.ops1());
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        rollup.proveBlock(F.proof1(), c, F.ops1());
        // What proveBlock is given must be what was committed.
        vm.expectRevert(ZkRollup.BlockMismatch.selector);
        rollup.proveBlock(F.proof1(), F.committed1(), F.ops1());
        vm.expectRevert(ZkRollup.BlockMismatch.selector);
        rollup.proveBlock(F.proof1(), c, F.ops2());
        assertEq(rollup.stateRoot(), F.GENESIS, "nothing verified");
    }

    /// `c` with the commitment L1 computed when `root` and `data` were committed with `ops` on
    /// top of genesis (as `_commit` does), for a block that cannot be proven.
    function _recommitted(ZkRollup.Committed memory c, uint256 root, bytes memory data, ZkRollup.OnchainOp[] memory ops)
        internal
        pure
        returns (ZkRollup.Committed memory)
    {
        bytes memory records = new bytes(F.ONCHAIN_SLOTS * 57);
        for (uint256 i = 0; i < ops.length; i++) {
            bytes memory r = abi.encodePacked(ops[i].kind, uint24(ops[i].account), ops[i].token, ops[i].addr, ops[i].value);
            for (uint256 j = 0; j < 57; j++) {
                records[uint256(ops[i].slot) * 57 + j] = r[j];
            }
        }
        c.commitment =
            uint256(sha256(abi.encodePacked(F.GENESIS, root, sha256(data), uint256(0), uint256(0), records))) & ((1 << 253) - 1);
        c.newRoot = root;
        return c;
    }

    /// A proof does not verify for a commitment whose records differ by one operation.
    function test_recordsMatchTheProverByteForByte() public pure {
        ZkRollup.Committed memory c = F.committed1();
        assertEq(_recommitted(c, F.ROOT1, F.PUBDATA1, F.ops1()).commitment, F.COMMITMENT1, "Solidity's records");
        ZkRollup.OnchainOp[] memory ops = F.ops1();
        ops[2].value ^= 1;
        assertTrue(_recommitted(c, F.ROOT1, F.PUBDATA1, ops).commitment != F.COMMITMENT1, "one value changed");
    }

    function test_wrongPubdataCannotBeProven() public {
        _requests(rollup);
        bytes memory data = F.PUBDATA1;
        data[0] = 0x02;
        vm.prank(OPERATOR);
        rollup.commitBlock(F.ROOT1, data, F.ops1());
        ZkRollup.Committed memory c = _recommitted(F.committed1(), F.ROOT1, data, F.ops1());
        vm.expectRevert(ZkRollup.InvalidProof.selector);
        rollup.proveBlock(F.proof1(), c, F.ops1());
    }

    function test_exodusPaysEachLastVerifiedBalanceOnce() public {
        _block1();
        vm.expectRevert(ZkRollup.ExodusNotDue.selector);
        rollup.activateExodus();
        rollup.depositETH{value: 7}(A); // never served: refunded
        vm.warp(block.timestamp + EXPIRY + 1);
        rollup.activateExodus();
        vm.expectRevert(ZkRollup.InExodus.selector);
        rollup.depositETH{value: 1}(A);
        uint256 a0 = A.balance;
        rollup.exit(1, 0, F.EXIT1_BALANCE, 0, F.EXIT1_PUBKEY_HASH, F.exit1Balance(), F.exit1Account());
        assertEq(A.balance - a0, 1000, "account 1 exits with its balance");
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.AlreadyExited.selector, 1, 0));
        rollup.exit(1, 0, F.EXIT1_BALANCE, 0, F.EXIT1_PUBKEY_HASH, F.exit1Balance(), F.exit1Account());
        vm.expectRevert(ZkRollup.StaleProof.selector);
        rollup.exit(2, 0, F.EXIT2_BALANCE + 1, 0, F.EXIT2_PUBKEY_HASH, F.exit2Balance(), F.exit2Account());
        uint256 b0 = B.balance;
        rollup.exit(2, 0, F.EXIT2_BALANCE, 0, F.EXIT2_PUBKEY_HASH, F.exit2Balance(), F.exit2Account());
        assertEq(B.balance - b0, 50, "account 2 exits with its balance");
        a0 = A.balance;
        rollup.refundDeposits(10);
        assertEq(A.balance - a0, 7, "the unserved deposit is refunded");
        assertEq(address(rollup).balance, 0, "everything went back");
    }

    // ------------------------------------------------------------------ validium

    function _committee() internal pure returns (uint256[3] memory keys) {
        keys = [uint256(0xD1), 0xD2, 0xD3];
    }

    function _sorted(bytes32 digest, uint256[] memory which) internal pure returns (bytes[] memory sigs) {
        // Sort the chosen keys by address (insertion sort on a tiny array).
        uint256[] memory k = which;
        for (uint256 i = 1; i < k.length; i++) {
            for (uint256 j = i; j > 0 && vm.addr(k[j]) < vm.addr(k[j - 1]); j--) {
                (k[j], k[j - 1]) = (k[j - 1], k[j]);
            }
        }
        sigs = new bytes[](k.length);
        for (uint256 i = 0; i < k.length; i++) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(k[i], digest);
            sigs[i] = abi.encodePacked(r, s, v);
        }
    }

    function _validium() internal returns (ZkRollup v, bytes32 digest) {
        uint256[3] memory keys = _committee();
        address[] memory members = new address[](3);
        for (uint256 i = 0; i < 3; i++) {
            members[i] = vm.addr(keys[i]);
        }
        for (uint256 i = 1; i < 3; i++) {
            for (uint256 j = i; j > 0 && members[j] < members[j - 1]; j--) {
                (members[j], members[j - 1]) = (members[j - 1], members[j]);
            }
        }
        v = _deploy(members, 2);
        _requests(v);
        digest = v.dacDigest(1, F.DATA_HASH1);
    }

    function test_validiumTakesTheSameProofWithKOfNSignatures() public {
        (ZkRollup v, bytes32 digest) = _validium();
        uint256[] memory two = new uint256[](2);
        two[0] = 0xD1;
        two[1] = 0xD3;
        vm.prank(OPERATOR);
        v.commitBlockValidium(F.ROOT1, F.DATA_HASH1, F.ops1(), _sorted(digest, two));
        v.proveBlock(F.proof1(), F.committed1(), F.ops1());
        assertEq(v.stateRoot(), F.ROOT1, "validium root");
    }

    function test_validiumRejectsForgedDuplicateUnsortedOrTooFewSignatures() public {
        (ZkRollup v, bytes32 digest) = _validium();
        uint256[] memory one = new uint256[](1);
        one[0] = 0xD2;
        vm.startPrank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotEnoughSignatures.selector, 1, 2));
        v.commitBlockValidium(F.ROOT1, F.DATA_HASH1, F.ops1(), _sorted(digest, one));
        uint256[] memory two = new uint256[](2);
        two[0] = 0xD1;
        two[1] = 0xD2;
        bytes[] memory sigs = _sorted(digest, two);
        bytes[] memory dup = new bytes[](2);
        dup[0] = sigs[0];
        dup[1] = sigs[0];
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.BadSignature.selector, 1));
        v.commitBlockValidium(F.ROOT1, F.DATA_HASH1, F.ops1(), dup);
        bytes[] memory unsorted = new bytes[](2);
        unsorted[0] = sigs[1];
        unsorted[1] = sigs[0];
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.BadSignature.selector, 1));
        v.commitBlockValidium(F.ROOT1, F.DATA_HASH1, F.ops1(), unsorted);
        two[1] = 0xE0; // not a member
        vm.expectRevert();
        v.commitBlockValidium(F.ROOT1, F.DATA_HASH1, F.ops1(), _sorted(digest, two));
        // Signatures over another data hash do not count.
        two[1] = 0xD2;
        vm.expectRevert();
        v.commitBlockValidium(F.ROOT1, bytes32(uint256(F.DATA_HASH1) + 1), F.ops1(), _sorted(digest, two));
        vm.expectRevert(ZkRollup.WrongMode.selector);
        v.commitBlock(F.ROOT1, F.PUBDATA1, F.ops1());
        vm.stopPrank();
    }
}
