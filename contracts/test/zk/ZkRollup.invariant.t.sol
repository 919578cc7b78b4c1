// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {ZkFixture as F} from "./ZkFixture.sol";
import {Poseidon} from "../../src/zk/Poseidon.sol";
import {Groth16Verifier} from "../../src/zk/Groth16Verifier.sol";
import {ZkRollup} from "../../src/zk/ZkRollup.sol";

/// Drives the rollup's money paths in random order with the prover's real blocks and proofs
/// (ZkFixture.sol): deposits, the two fixture blocks proven one at a time or committed and
/// verified as one batch, exodus with exits and refunds. It is the operator; A, B and C receive
/// ETH only from the rollup, so their balances are what it paid out.
contract ZkHandler is Test {
    ZkRollup public rollup;
    address constant A = 0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa;
    address constant B = 0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB;
    address constant C = address(0xC0C0);
    uint64 constant EXPIRY = 3 days;
    uint256 public deposited;
    /// What was deposited for C (the rest, 1,050 wei, for A and B, who trade on L2).
    uint256 public depositedForC;
    /// Blocks verified from the fixture (0, 1 or 2).
    uint256 public stage;

    constructor() {
        rollup = new ZkRollup(
            new Poseidon(),
            new Groth16Verifier(F.vk()),
            address(this),
            F.DOMAIN,
            [F.SLOTS, F.ACCOUNT_LEVELS, F.BALANCE_LEVELS, F.ONCHAIN_SLOTS],
            F.GENESIS,
            EXPIRY,
            new address[](0),
            0
        );
        vm.deal(address(this), 1_000_000 ether);
        // The requests block 1 serves.
        _deposit(A, 1000);
        _deposit(B, 50);
        vm.prank(A);
        rollup.changeKey(F.PUBKEY_HASH1);
        vm.prank(B);
        rollup.changeKey(F.PUBKEY_HASH2);
    }

    function _deposit(address to, uint256 amount) internal {
        rollup.depositETH{value: amount}(to);
        deposited += amount;
    }

    /// A deposit for C (never served by a fixture block: refunded in exodus).
    function deposit(uint96 amount) external {
        if (rollup.exodus()) return;
        uint256 a = bound(amount, 1, 100 ether);
        _deposit(C, a);
        depositedForC += a;
    }

    function proveBlock1() external {
        if (stage != 0 || rollup.exodus()) return;
        rollup.commitBlock(F.ROOT1, F.PUBDATA1, F.ops1());
        rollup.proveBlock(F.proof1(), F.committed1(), F.ops1());
        stage = 1;
    }

    /// A's full exit, then block 2 (its withdrawal and full exit paid); from stage 0, blocks 1
    /// and 2 in one commitBlocks and one proveBlocks.
    function proveBlock2() external {
        if (stage == 2 || rollup.exodus() || rollup.totalPriority() != 4) return;
        vm.prank(A);
        rollup.requestFullExit(0);
        if (stage == 1) {
            rollup.commitBlock(F.ROOT2, F.PUBDATA2, F.ops2());
            rollup.proveBlock(F.proof2(), F.committed2(), F.ops2());
        } else {
            ZkRollup.BlockData[] memory bs = new ZkRollup.BlockData[](2);
            bs[0] = ZkRollup.BlockData(F.ROOT1, F.PUBDATA1, F.ops1());
            bs[1] = ZkRollup.BlockData(F.ROOT2, F.PUBDATA2, F.ops2());
            rollup.commitBlocks(bs);
            uint256[8][] memory proofs = new uint256[8][](2);
            (proofs[0], proofs[1]) = (F.proof1(), F.proof2());
            ZkRollup.Committed[] memory cs = new ZkRollup.Committed[](2);
            (cs[0], cs[1]) = (F.committed1(), F.committed2());
            ZkRollup.OnchainOp[][] memory ops = new ZkRollup.OnchainOp[][](2);
            (ops[0], ops[1]) = (F.ops1(), F.ops2());
            rollup.proveBlocks(proofs, cs, ops);
        }
        stage = 2;
    }

    function exodus(uint32 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 2 * EXPIRY));
        try rollup.activateExodus() {} catch {}
    }

    /// The fixture's exits (against block 1's root), each tried whatever the state.
    function exitA() external {
        try rollup.exit(1, 0, F.EXIT1_BALANCE, 0, F.EXIT1_PUBKEY_HASH, F.exit1Balance(), F.exit1Account()) {} catch {}
    }

    function exitB() external {
        try rollup.exit(2, 0, F.EXIT2_BALANCE, 0, F.EXIT2_PUBKEY_HASH, F.exit2Balance(), F.exit2Account()) {} catch {}
    }

    function refund(uint8 max) external {
        try rollup.refundDeposits(max) {} catch {}
    }

    function paidOut() external view returns (uint256) {
        return A.balance + B.balance + C.balance;
    }

    function paidToAB() external view returns (uint256) {
        return A.balance + B.balance;
    }

    function paidToC() external view returns (uint256) {
        return C.balance;
    }
}

contract ZkRollupInvariantTest is Test {
    ZkHandler handler;

    function setUp() public {
        handler = new ZkHandler();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// No one is paid beyond what was deposited for them: A and B (who trade only with each
    /// other on L2) at most their 1,050 wei together, C at most its own deposits (refunds), so
    /// no path pays one user from another's deposits; what was not paid is still held.
    function invariant_zk_payouts_never_exceed_deposits() public view {
        assertTrue(handler.paidToAB() <= 1050, "A and B paid beyond their deposits");
        assertTrue(handler.paidToC() <= handler.depositedForC(), "C paid beyond its deposits");
        assertEq(address(handler.rollup()).balance + handler.paidOut(), handler.deposited(), "books balance");
    }
}
