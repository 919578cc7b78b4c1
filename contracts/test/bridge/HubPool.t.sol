// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BridgeFixture} from "./BridgeFixture.sol";
import {BridgeLib} from "../../src/bridge/BridgeLib.sol";
import {HubPool} from "../../src/bridge/HubPool.sol";
import {SpokePool} from "../../src/bridge/SpokePool.sol";
import {RollupLib} from "../../src/rollup/RollupLib.sol";
import {MerkleHelper} from "../rollup/MerkleHelper.sol";

contract HubPoolTest is BridgeFixture {
    address internal constant DISPUTER = address(0xD15);
    address internal constant PROPOSER = address(0xB0D);

    function setUp() public {
        setUpBridge();
    }

    function test_spoke_refuses_bad_deposits() public {
        vm.deal(USER, 10 ether);
        vm.startPrank(USER);
        uint32 t = uint32(block.timestamp);
        vm.expectRevert(SpokePool.ZeroAmount.selector);
        spoke.deposit(BOB, 1, uint64(block.chainid), address(0), t + 60, 0);
        vm.expectRevert(abi.encodeWithSelector(SpokePool.OutputAboveInput.selector, 2 ether, 1 ether));
        spoke.deposit{value: 1 ether}(BOB, 2 ether, uint64(block.chainid), address(0), t + 60, 0);
        vm.expectRevert(abi.encodeWithSelector(SpokePool.UnsupportedDestination.selector, 5));
        spoke.deposit{value: 1 ether}(BOB, 1 ether, 5, address(0), t + 60, 0);
        vm.expectRevert(abi.encodeWithSelector(SpokePool.BadDeadline.selector, t + 3601, t + 3600));
        spoke.deposit{value: 1 ether}(BOB, 1 ether, uint64(block.chainid), address(0), t + 3601, 0);
        vm.expectRevert(abi.encodeWithSelector(SpokePool.BadDeadline.selector, t, t + 3600));
        spoke.deposit{value: 1 ether}(BOB, 1 ether, uint64(block.chainid), address(0), t, 0);
        vm.stopPrank();
        vm.expectRevert(SpokePool.NothingToBridge.selector);
        spoke.bridgeDeposits();
    }

    function test_fill_pays_the_recipient_once() public {
        BridgeLib.RelayData memory d = deposit(1 ether, 0.999 ether, 60);
        fill(d, RELAYER);
        assertEq(BOB.balance, 0.999 ether, "recipient paid");
        (HubPool.FillStatus s,, address repayTo) = hub.fills(BridgeLib.relayHash(d));
        assertTrue(s == HubPool.FillStatus.Filled && repayTo == RELAYER, "fill recorded");
        vm.deal(RELAYER, 1 ether);
        vm.prank(RELAYER);
        vm.expectRevert(
            abi.encodeWithSelector(
                HubPool.AlreadyFilled.selector, BridgeLib.relayHash(d), HubPool.FillStatus.Filled
            )
        );
        hub.fillRelay{value: d.outputAmount}(d, RELAYER);
        // Wrong value, past the deadline, another chain.
        BridgeLib.RelayData memory e = deposit(1 ether, 0.5 ether, 60);
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(HubPool.WrongValue.selector, 0.4 ether, 0.5 ether));
        hub.fillRelay{value: 0.4 ether}(e, RELAYER);
        vm.warp(block.timestamp + 61);
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(HubPool.DeadlinePassed.selector, e.fillDeadline));
        hub.fillRelay{value: 0.5 ether}(e, RELAYER);
        e.originChainId = 7;
        vm.prank(RELAYER);
        vm.expectRevert(abi.encodeWithSelector(HubPool.WrongChain.selector, 7, uint64(block.chainid)));
        hub.fillRelay{value: 0.5 ether}(e, RELAYER);
    }

    function test_exclusive_relayer_alone_until_its_deadline() public {
        vm.deal(USER, 1 ether);
        vm.prank(USER);
        uint32 t = uint32(block.timestamp);
        spoke.deposit{value: 1 ether}(BOB, 1 ether, uint64(block.chainid), RELAYER, t + 60, t + 10);
        BridgeLib.RelayData memory d =
            BridgeLib.RelayData(USER, BOB, RELAYER, 1 ether, 1 ether, uint64(block.chainid), uint64(block.chainid), 0, t + 60, t + 10);
        vm.deal(DISPUTER, 1 ether);
        vm.prank(DISPUTER);
        vm.expectRevert(abi.encodeWithSelector(HubPool.NotExclusiveRelayer.selector, RELAYER));
        hub.fillRelay{value: 1 ether}(d, DISPUTER);
        vm.warp(t + 11);
        vm.prank(DISPUTER);
        hub.fillRelay{value: 1 ether}(d, DISPUTER);
    }

    function test_only_the_spoke_through_the_portal_delivers() public {
        deposit(1 ether, 1 ether, 60);
        vm.deal(address(this), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(HubPool.NotSpoke.selector, address(this), address(0)));
        hub.receiveDeposits{value: 1 ether}(1, bytes32(0));
        vm.deal(address(portal), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(HubPool.NotSpoke.selector, address(portal), address(0xBAD)));
        portal.deliver(hub, address(0xBAD), 1, bytes32(0), 1 ether);
    }

    /// Fill, deliver, propose, liveness, execute: the relayer gets the input amount, once.
    function test_relayer_repaid_after_liveness() public {
        BridgeLib.RelayData memory d = deposit(1 ether, 0.998 ether, 60);
        fill(d, RELAYER);
        deliverAll();
        assertEq(hub.deliveredCount(), 1, "delivered");
        assertEq(hub.deliveredRoot(), spoke.depositRoot(), "root");
        BridgeLib.Entry[] memory es = honest(0, 1);
        assertTrue(es[0].outcome == BridgeLib.Outcome.Repay && es[0].payee == RELAYER, "repay entry");
        uint256 id = propose(PROPOSER, es);
        // A dispute of a right entry proves nothing.
        disputeEntry(id, es, 0, DISPUTER, abi.encodeWithSelector(HubPool.EntryCorrect.selector));
        // Not before the liveness ends.
        vm.expectRevert(abi.encodeWithSelector(HubPool.LivenessRunning.selector, id, LIVENESS));
        hub.execute(id, 0, es[0], entryProof(es, 0));
        vm.warp(block.timestamp + LIVENESS);
        uint256 before = RELAYER.balance;
        hub.execute(id, 0, es[0], entryProof(es, 0));
        assertEq(RELAYER.balance - before, 1 ether, "repaid the input amount");
        vm.expectRevert(abi.encodeWithSelector(HubPool.AlreadyExecuted.selector, 0));
        hub.execute(id, 0, es[0], entryProof(es, 0));
        hub.returnBond(id);
        assertEq(PROPOSER.balance, BOND, "bond back");
        vm.expectRevert(abi.encodeWithSelector(HubPool.BondAlreadyReturned.selector, id));
        hub.returnBond(id);
        // A tampered entry does not execute.
        es[0].amount = 2 ether;
        vm.expectRevert(HubPool.BadEntryProof.selector);
        hub.execute(id, 0, es[0], entryProof(es, 0));
    }

    /// A relayer that fills the wrong amount fills nothing: the deposit expires and is refunded
    /// on the rollup; a bundle repaying that relayer is disputed and its bond lost.
    function test_wrong_fill_is_not_repaid() public {
        BridgeLib.RelayData memory d = deposit(1 ether, 0.99 ether, 60);
        BridgeLib.RelayData memory wrong = copy(d);
        wrong.outputAmount = 0.5 ether;
        fill(wrong, RELAYER);
        wrong = copy(d);
        wrong.recipient = RELAYER;
        fill(wrong, RELAYER);
        (HubPool.FillStatus s,,) = hub.fills(BridgeLib.relayHash(d));
        assertTrue(s == HubPool.FillStatus.Unfilled, "the deposit is unfilled");
        deliverAll();
        vm.warp(block.timestamp + 61);
        BridgeLib.Entry[] memory claim = new BridgeLib.Entry[](1);
        claim[0] = BridgeLib.Entry(BridgeLib.relayHash(d), BridgeLib.Outcome.Repay, RELAYER, 1 ether);
        uint256 id = propose(RELAYER, claim);
        disputeEntry(id, claim, 0, DISPUTER, "");
        assertEq(DISPUTER.balance, BOND, "disputer takes the bond");
        assertEq(hub.coveredEnd(), 0, "deposits uncovered again");
        vm.warp(block.timestamp + LIVENESS);
        vm.expectRevert(abi.encodeWithSelector(HubPool.Disputed.selector, id));
        hub.execute(id, 0, claim[0], entryProof(claim, 0));
        // The honest bundle refunds the depositor on the rollup.
        BridgeLib.Entry[] memory es = honest(0, 1);
        assertTrue(es[0].outcome == BridgeLib.Outcome.Refund && es[0].payee == USER, "refund entry");
        id = propose(PROPOSER, es);
        vm.warp(block.timestamp + LIVENESS);
        hub.execute(id, 0, es[0], entryProof(es, 0));
        assertEq(portal.refunded(USER), 1 ether, "refunded on L2");
    }

    /// A bundle paying a relayer for a deposit the user took the slow path for (so the recipient
    /// would be paid twice) is disputed; the right bundle pays the slow fill.
    function test_slow_fill_and_a_double_payment_disputed() public {
        BridgeLib.RelayData memory a = deposit(2 ether, 1.99 ether, 60);
        BridgeLib.RelayData memory b = deposit(1 ether, 0.99 ether, 600);
        fill(a, RELAYER);
        vm.prank(BOB);
        hub.requestSlowFill(b);
        vm.deal(RELAYER, 1 ether);
        vm.prank(RELAYER);
        vm.expectRevert(
            abi.encodeWithSelector(
                HubPool.AlreadyFilled.selector, BridgeLib.relayHash(b), HubPool.FillStatus.SlowFillRequested
            )
        );
        hub.fillRelay{value: 0.99 ether}(b, RELAYER);
        deliverAll();
        BridgeLib.Entry[] memory es = honest(0, 2);
        BridgeLib.Entry[] memory bad = honest(0, 2);
        bad[1] = BridgeLib.Entry(BridgeLib.relayHash(b), BridgeLib.Outcome.Repay, RELAYER, 1 ether);
        uint256 id = propose(RELAYER, bad);
        disputeEntry(id, bad, 0, DISPUTER, abi.encodeWithSelector(HubPool.EntryCorrect.selector));
        disputeEntry(id, bad, 1, DISPUTER, "");
        id = propose(PROPOSER, es);
        vm.warp(block.timestamp + LIVENESS);
        uint256 bob = BOB.balance;
        hub.execute(id, 1, es[1], entryProof(es, 1));
        assertEq(BOB.balance - bob, 0.99 ether, "slow fill paid");
        hub.execute(id, 0, es[0], entryProof(es, 0));
        assertEq(hub.paid(), 2.99 ether, "paid");
        assertEq(hub.delivered(), 3 ether, "delivered");
    }

    /// A bundle may not cover a deposit that could still be filled, nor one not yet delivered.
    function test_unsettled_and_undelivered_deposits() public {
        deposit(1 ether, 1 ether, 600);
        BridgeLib.Entry[] memory guess = new BridgeLib.Entry[](1);
        guess[0] = BridgeLib.Entry(BridgeLib.relayHash(deposits[0]), BridgeLib.Outcome.Refund, USER, 1 ether);
        vm.deal(PROPOSER, BOND);
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(HubPool.NotDelivered.selector, 1, 0));
        hub.proposeBundle{value: BOND}(guess);
        deliverAll();
        uint256 id = propose(PROPOSER, guess);
        // Filled after the proposal: still unsettled at it, so the refund is wrong.
        fill(deposits[0], RELAYER);
        vm.deal(PROPOSER, BOND);
        vm.prank(PROPOSER);
        vm.expectRevert(abi.encodeWithSelector(HubPool.ProposalPending.selector, id, LIVENESS));
        hub.proposeBundle{value: BOND}(guess);
        disputeEntry(id, guess, 0, DISPUTER, "");
        BridgeLib.Entry[] memory es = honest(0, 1);
        assertTrue(es[0].outcome == BridgeLib.Outcome.Repay, "now a repayment");
    }

    /// Entries are checked against the tree for every size and position.
    function testFuzz_entry_proofs(uint8 n, uint8 pos, uint256 seed) public pure {
        uint256 count = bound(n, 1, 40);
        uint256 index = bound(pos, 0, count - 1);
        BridgeLib.Entry[] memory es = new BridgeLib.Entry[](count);
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            es[i] = BridgeLib.Entry(
                keccak256(abi.encode(seed, i)), BridgeLib.Outcome(i % 3), address(uint160(uint256(keccak256(abi.encode(i, seed))))), seed ^ i
            );
            leaves[i] = BridgeLib.entryLeaf(es[i]);
        }
        bytes32 root = BridgeLib.root(leaves);
        assertEq(BridgeLib.rootFrom(leaves[index], index, entryProof(es, index)), root, "proof");
        es[index].amount ^= 1;
        assertTrue(BridgeLib.rootFrom(BridgeLib.entryLeaf(es[index]), index, entryProof(es, index)) != root, "tamper");
    }

    /// Whatever a proposer puts in an entry, a dispute succeeds exactly when it is not what the
    /// deposit calls for.
    function testFuzz_dispute_iff_wrong(uint8 outcome, bool payeeRight, uint96 amount, bool filled) public {
        BridgeLib.RelayData memory d = deposit(1 ether, 0.9 ether, 60);
        if (filled) fill(d, RELAYER);
        deliverAll();
        vm.warp(block.timestamp + 61);
        BridgeLib.Entry[] memory es = new BridgeLib.Entry[](1);
        BridgeLib.Outcome o = BridgeLib.Outcome(bound(outcome, 0, 2));
        address want = filled ? RELAYER : USER;
        es[0] = BridgeLib.Entry(BridgeLib.relayHash(d), o, payeeRight ? want : BOB, uint256(amount) % 2 ether);
        bool right = o == (filled ? BridgeLib.Outcome.Repay : BridgeLib.Outcome.Refund) && payeeRight
            && es[0].amount == 1 ether;
        uint256 id = propose(PROPOSER, es);
        disputeEntry(id, es, 0, DISPUTER, right ? abi.encodeWithSelector(HubPool.EntryCorrect.selector) : bytes(""));
        (,,, bool disputed,,,,) = hub.bundles(id);
        assertTrue(disputed != right, "disputed exactly when wrong");
    }

    /// The deposit tree the spoke builds incrementally is the reference tree.
    function testFuzz_spoke_tree(uint8 n) public {
        uint256 count = bound(n, 1, 20);
        for (uint256 i = 0; i < count; i++) {
            deposit(1 ether + i, 1 ether, 60);
        }
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            leaves[i] = BridgeLib.relayHash(deposits[i]);
        }
        for (uint256 i = 0; i < count; i++) {
            (bytes32 root, bytes32[32] memory branch) = MerkleHelper.build(leaves, i);
            assertEq(spoke.depositRoot(), root, "root");
            assertEq(RollupLib.merkleRoot(leaves[i], i, branch), root, "branch");
        }
    }
}
