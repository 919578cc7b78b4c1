// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {MerkleHelper} from "./MerkleHelper.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";
import {RollupLib} from "../../src/rollup/RollupLib.sol";
import {OutputOracle} from "../../src/rollup/OutputOracle.sol";
import {RollupPortal} from "../../src/rollup/RollupPortal.sol";

contract Receiver {
    uint256 public got;

    receive() external payable {
        got += msg.value;
    }
}

/// Records which L2 contract the portal says sent the message it delivers.
contract SenderProbe {
    address public seen;

    function probe() external payable {
        seen = RollupPortal(payable(msg.sender)).l2Sender();
    }
}

contract RollupPortalTest is Test {
    OutputOracle oracle;
    RollupPortal portal;
    AqueductToken token;
    address user = address(0xA11CE);
    address challenger = address(0xC4A1);
    uint256 constant WINDOW = 1 days;
    uint256 nextL2Block = 10;

    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);

    function setUp() public {
        vm.warp(1_700_000_000);
        oracle = new OutputOracle(0.1 ether, WINDOW, challenger);
        portal = new RollupPortal(oracle);
        token = new AqueductToken("Test", "TST", 18, 1_000_000 ether);
        token.transfer(user, 1000 ether);
        vm.deal(user, 100 ether);
        vm.deal(address(this), 100 ether);
    }

    // ------------------------------------------------------------------ deposits

    function test_eth_deposit_emits_deposit_transaction() public {
        vm.expectEmit(true, true, true, true);
        emit TransactionDeposited(user, user, 0, abi.encodePacked(uint256(1 ether), uint256(1 ether), uint64(21_000), false, ""));
        vm.prank(user);
        portal.depositTransaction{value: 1 ether}(user, 1 ether, 21_000, false, "");
        assertEq(address(portal).balance, 1 ether, "eth locked");
    }

    function test_deposits_carry_their_index_and_are_recorded() public {
        bytes memory opaque = abi.encodePacked(uint256(1 ether), uint256(1 ether), uint64(21_000), false, "");
        vm.roll(50);
        vm.prank(user);
        portal.depositTransaction{value: 1 ether}(user, 1 ether, 21_000, false, "");
        vm.expectEmit(true, true, true, true);
        emit TransactionDeposited(user, user, uint256(1) << 128, opaque);
        vm.prank(user);
        portal.depositTransaction{value: 1 ether}(user, 1 ether, 21_000, false, "");
        assertEq(portal.depositCount(), 2, "counted");
        bytes32 data = keccak256(abi.encode(user, user, uint256(1) << 128, opaque));
        assertEq(portal.depositRecords(1), keccak256(abi.encode(data, uint256(50))), "record");
        (bytes32[] memory w, uint256 total) = portal.records(1, 2);
        assertEq(total, 2, "total");
        assertEq(w.length, 2, "the one before and the range");
    }

    function test_contract_sender_is_aliased() public {
        address aliased = RollupLib.applyAlias(address(this));
        assertEq(RollupLib.undoAlias(aliased), address(this), "alias round trip");
        vm.expectEmit(true, true, true, false);
        emit TransactionDeposited(aliased, user, 0, "");
        portal.depositTransaction(user, 0, 50_000, false, hex"1234");
    }

    function test_receive_deposits_to_sender() public {
        vm.expectEmit(true, true, true, true);
        emit TransactionDeposited(user, user, 0, abi.encodePacked(uint256(2 ether), uint256(2 ether), uint64(21_000), false, ""));
        vm.prank(user);
        (bool ok,) = address(portal).call{value: 2 ether}("");
        assertTrue(ok, "plain send deposits");
    }

    function test_deposit_gas_bounds() public {
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.GasLimitOutOfRange.selector, uint64(20_999)));
        portal.depositTransaction(user, 0, 20_999, false, "");
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.GasLimitOutOfRange.selector, uint64(10_000_001)));
        portal.depositTransaction(user, 0, 10_000_001, false, "");
        vm.expectRevert(RollupPortal.CreationNeedsNoTarget.selector);
        portal.depositTransaction(user, 0, 100_000, true, "");
    }

    function test_erc20_deposit_locks_and_messages_bridge() public {
        vm.startPrank(user);
        token.approve(address(portal), 10 ether);
        bytes memory call = abi.encodeWithSignature(
            "finalizeDeposit(address,address,address,uint256)", address(token), user, address(0xB0B), 10 ether
        );
        vm.expectEmit(true, true, true, true);
        emit TransactionDeposited(
            RollupLib.applyAlias(address(portal)),
            RollupLib.L2_BRIDGE,
            0,
            abi.encodePacked(uint256(0), uint256(0), uint64(2_000_000), false, call)
        );
        portal.depositERC20(address(token), address(0xB0B), 10 ether);
        vm.stopPrank();
        assertEq(portal.locked(address(token)), 10 ether, "locked");
        assertEq(token.balanceOf(address(portal)), 10 ether, "held");
    }

    function test_erc20_deposit_without_allowance_fails() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.TokenTransferFailed.selector, address(token)));
        portal.depositERC20(address(token), user, 1 ether);
    }

    // ------------------------------------------------------------------ withdrawals

    /// Posts an output whose message tree holds `leaves`; returns its index and proof.
    function postOutput(bytes32[] memory leaves) internal returns (uint256 index, RollupLib.OutputRootProof memory p) {
        (bytes32 root,) = MerkleHelper.build(leaves, 0);
        p = RollupLib.OutputRootProof(bytes32(0), keccak256(abi.encode("state", nextL2Block)), root, keccak256("block"));
        index = oracle.nextOutputIndex();
        oracle.proposeOutput{value: 0.1 ether}(RollupLib.hashOutputRoot(p), nextL2Block);
        nextL2Block += 10;
    }

    function ethWithdrawal(uint256 nonce, address to, uint256 value) internal view returns (RollupLib.WithdrawalTransaction memory) {
        return RollupLib.WithdrawalTransaction(nonce, user, to, value, 100_000, "");
    }

    function proveOne(RollupLib.WithdrawalTransaction memory w) internal returns (uint256 index) {
        bytes32[] memory leaves = new bytes32[](w.nonce + 1);
        for (uint256 i = 0; i < w.nonce; i++) leaves[i] = keccak256(abi.encode("other", i));
        leaves[w.nonce] = RollupLib.hashWithdrawal(w);
        RollupLib.OutputRootProof memory p;
        (index, p) = postOutput(leaves);
        (, bytes32[32] memory branch) = MerkleHelper.build(leaves, w.nonce);
        portal.proveWithdrawal(w, index, p, w.nonce, branch);
    }

    function fund(uint256 eth) internal {
        vm.prank(user);
        portal.depositTransaction{value: eth}(user, eth, 21_000, false, "");
    }

    function test_eth_withdrawal_after_window() public {
        fund(5 ether);
        Receiver r = new Receiver();
        RollupLib.WithdrawalTransaction memory w = ethWithdrawal(3, address(r), 2 ether);
        proveOne(w);
        bytes32 h = RollupLib.hashWithdrawal(w);
        assertEq(portal.secondsLeft(h), WINDOW, "full window left");
        vm.warp(block.timestamp + WINDOW - 10);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.ChallengeWindowOpen.selector, 10));
        portal.finalizeWithdrawal(w);
        vm.warp(block.timestamp + 10);
        portal.finalizeWithdrawal(w);
        assertEq(r.got(), 2 ether, "paid");
        assertTrue(portal.finalizedWithdrawals(h), "marked");
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.AlreadyFinalized.selector, h));
        portal.finalizeWithdrawal(w);
    }

    function test_l2_sender_is_set_only_during_the_call() public {
        fund(1 ether);
        SenderProbe probe = new SenderProbe();
        RollupLib.WithdrawalTransaction memory w = RollupLib.WithdrawalTransaction(
            0, address(0x5B0C), address(probe), 1 ether, 100_000, abi.encodeCall(SenderProbe.probe, ())
        );
        proveOne(w);
        vm.warp(block.timestamp + WINDOW);
        assertEq(portal.l2Sender(), address(0), "zero before");
        portal.finalizeWithdrawal(w);
        assertEq(probe.seen(), address(0x5B0C), "the L2 sender during the call");
        assertEq(portal.l2Sender(), address(0), "zero after");
    }

    function test_finalize_unproven_reverts() public {
        RollupLib.WithdrawalTransaction memory w = ethWithdrawal(0, user, 1);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.WithdrawalNotProven.selector, RollupLib.hashWithdrawal(w)));
        portal.finalizeWithdrawal(w);
    }

    function test_forged_withdrawal_proof_reverts() public {
        RollupLib.WithdrawalTransaction memory w = ethWithdrawal(0, user, 1 ether);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = RollupLib.hashWithdrawal(w);
        leaves[1] = keccak256("x");
        (uint256 index, RollupLib.OutputRootProof memory p) = postOutput(leaves);
        (, bytes32[32] memory branch) = MerkleHelper.build(leaves, 0);
        // A withdrawal that is not in the tree, with the real path of another.
        RollupLib.WithdrawalTransaction memory forged = ethWithdrawal(0, user, 50 ether);
        vm.expectRevert(RollupPortal.InvalidWithdrawalProof.selector);
        portal.proveWithdrawal(forged, index, p, 0, branch);
        // A forged output proof.
        RollupLib.OutputRootProof memory bad =
            RollupLib.OutputRootProof(p.version, keccak256("other"), p.withdrawalsRoot, p.latestBlockhash);
        vm.expectRevert(RollupPortal.InvalidOutputRootProof.selector);
        portal.proveWithdrawal(w, index, bad, 0, branch);
        // The right one proves; proving again does not.
        portal.proveWithdrawal(w, index, p, 0, branch);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.AlreadyProven.selector, RollupLib.hashWithdrawal(w)));
        portal.proveWithdrawal(w, index, p, 0, branch);
    }

    function test_deleted_output_invalidates_proof() public {
        fund(1 ether);
        RollupLib.WithdrawalTransaction memory w = ethWithdrawal(0, user, 1 ether);
        uint256 index = proveOne(w);
        vm.prank(challenger);
        oracle.deleteOutputs(index);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.OutputDeleted.selector, index));
        portal.finalizeWithdrawal(w);
        // Proven again against a fresh output, it waits a full window again.
        proveOne(w);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.ChallengeWindowOpen.selector, WINDOW));
        portal.finalizeWithdrawal(w);
        vm.warp(block.timestamp + WINDOW);
        portal.finalizeWithdrawal(w);
    }

    function test_an_open_dispute_holds_finalization_back() public {
        fund(1 ether);
        Receiver r = new Receiver();
        RollupLib.WithdrawalTransaction memory w = ethWithdrawal(0, address(r), 1 ether);
        uint256 index = proveOne(w);
        bytes32 root = oracle.getOutput(index).outputRoot;
        vm.prank(challenger);
        oracle.openDispute(index);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.OutputDisputed.selector, index));
        portal.finalizeWithdrawal(w);
        // The dispute ends in the output's favour: it finalizes.
        vm.prank(challenger);
        oracle.closeDispute(index, root);
        portal.finalizeWithdrawal(w);
        assertEq(r.got(), 1 ether, "paid");
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.NoSuchDispute.selector, index, root));
        oracle.closeDispute(index, root);
    }

    /// The user deposits `amount` tokens: the portal locks them.
    function lockTokens(uint256 amount) internal {
        vm.startPrank(user);
        token.approve(address(portal), amount);
        portal.depositERC20(address(token), user, amount);
        vm.stopPrank();
    }

    function test_erc20_withdrawal_releases_locked_tokens() public {
        lockTokens(10 ether);
        RollupLib.WithdrawalTransaction memory w = RollupLib.WithdrawalTransaction(
            0, RollupLib.L2_BRIDGE, address(portal), 0, 0, abi.encode(address(token), address(0xB0B), 4 ether)
        );
        proveOne(w);
        vm.warp(block.timestamp + WINDOW);
        portal.finalizeWithdrawal(w);
        assertEq(token.balanceOf(address(0xB0B)), 4 ether, "released");
        assertEq(portal.locked(address(token)), 6 ether, "still locked");
    }

    function test_erc20_withdrawal_cannot_exceed_locked() public {
        RollupLib.WithdrawalTransaction memory w = RollupLib.WithdrawalTransaction(
            0, RollupLib.L2_BRIDGE, address(portal), 0, 0, abi.encode(address(token), user, 1 ether)
        );
        proveOne(w);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.LockedBalanceExceeded.selector, address(token), 0, 1 ether));
        portal.finalizeWithdrawal(w);
    }

    function test_bridge_withdrawal_must_target_portal_to_release_tokens() public {
        // Same data, but not addressed to the portal: treated as a plain call, never a token release.
        lockTokens(10 ether);
        RollupLib.WithdrawalTransaction memory w = RollupLib.WithdrawalTransaction(
            0, user, address(portal), 0, 100_000, abi.encode(address(token), user, 10 ether)
        );
        proveOne(w);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(RollupPortal.WithdrawalCallFailed.selector, address(portal)));
        portal.finalizeWithdrawal(w);
        assertEq(portal.locked(address(token)), 10 ether, "untouched");
    }

    function testFuzz_withdrawal_proofs(uint8 count, uint8 pick, uint96 value) public {
        uint256 n = bound(count, 1, 24);
        uint256 k = bound(pick, 0, n - 1);
        fund(100 ether);
        uint256 v = bound(value, 0, 100 ether);
        bytes32[] memory leaves = new bytes32[](n);
        RollupLib.WithdrawalTransaction memory w = ethWithdrawal(k, address(0xFEE), v);
        for (uint256 i = 0; i < n; i++) leaves[i] = keccak256(abi.encode(i, "leaf"));
        leaves[k] = RollupLib.hashWithdrawal(w);
        (uint256 index, RollupLib.OutputRootProof memory p) = postOutput(leaves);
        (, bytes32[32] memory branch) = MerkleHelper.build(leaves, k);
        // A wrong index never proves.
        vm.expectRevert(RollupPortal.InvalidWithdrawalProof.selector);
        portal.proveWithdrawal(w, index, p, k ^ 1, branch);
        portal.proveWithdrawal(w, index, p, k, branch);
        vm.warp(block.timestamp + WINDOW);
        portal.finalizeWithdrawal(w);
        assertEq(address(0xFEE).balance, v, "paid exactly");
        assertEq(address(portal).balance, 100 ether - v, "rest stays");
    }

    function testFuzz_deposits_lock_exactly(uint96 eth, uint96 tokens) public {
        uint256 e = bound(eth, 0, 100 ether);
        uint256 t = bound(tokens, 1, 1000 ether);
        vm.startPrank(user);
        portal.depositTransaction{value: e}(user, e, 21_000, false, "");
        token.approve(address(portal), t);
        portal.depositERC20(address(token), user, t);
        vm.stopPrank();
        assertEq(address(portal).balance, e, "eth");
        assertEq(portal.locked(address(token)), t, "tokens");
        assertEq(token.balanceOf(address(portal)), t, "held");
    }
}
