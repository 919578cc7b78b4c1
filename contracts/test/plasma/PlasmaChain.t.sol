// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PlasmaHelper} from "./PlasmaHelper.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";
import {ExitHeap} from "../../src/plasma/ExitHeap.sol";
import {PlasmaChain} from "../../src/plasma/PlasmaChain.sol";
import {PlasmaTx} from "../../src/plasma/PlasmaTx.sol";

contract HeapHarness {
    using ExitHeap for ExitHeap.Heap;

    ExitHeap.Heap h;

    function push(uint256 v) external {
        h.push(v);
    }

    function pop() external returns (uint256) {
        return h.pop();
    }

    function size() external view returns (uint256) {
        return h.size;
    }
}

contract PlasmaChainTest is PlasmaHelper {
    address alice;
    address bob;
    address mallory;
    address keeper = address(0xCAFE);

    function setUp() public {
        _deploy();
        alice = vm.addr(KEY_A);
        bob = vm.addr(KEY_B);
        mallory = vm.addr(KEY_M);
        vm.deal(alice, 10 ether);
        vm.deal(bob, 10 ether);
        vm.deal(mallory, 10 ether);
        vm.warp(1_000_000);
    }

    function _exit(address who, uint256 pos, bytes memory txBytes, bytes memory sigs, bytes32[] memory proof)
        internal
        returns (uint256)
    {
        vm.prank(who);
        return chain.startStandardExit{value: SE_BOND}(pos, txBytes, sigs, proof);
    }

    function _process(uint256 max) internal returns (uint256 n) {
        vm.prank(keeper);
        n = chain.processExits(address(0), max);
    }

    function test_the_contract_fits_eip170() public view {
        assertTrue(address(chain).code.length <= 24_576, "over the 24 KiB code size limit");
    }

    function test_deposit_exit_is_paid_after_the_period_with_the_bond_less_the_bounty() public {
        (uint256 pos, bytes memory txBytes, bytes32[] memory proof) = _depositETH(alice, 1 ether);
        assertEq(pos, 1 * 1_000_000_000, "first deposit block is 1");
        uint256 before = alice.balance;
        _exit(alice, pos, txBytes, "", proof);
        assertEq(_process(10), 0, "nothing exitable before the period");
        vm.warp(block.timestamp + MEP);
        assertEq(_process(10), 1, "processed once the period passed");
        assertEq(alice.balance, before - SE_BOND + 1 ether + SE_BOND - BOUNTY, "amount and bond back, less the bounty");
        assertEq(keeper.balance, BOUNTY, "the processor earns the bounty");
        assertEq(chain.funds(address(0)), 0, "nothing left");
        vm.prank(alice);
        vm.expectRevert();
        chain.startStandardExit{value: SE_BOND}(pos, txBytes, "", proof);
    }

    function test_a_second_exit_of_the_same_output_is_refused() public {
        (uint256 pos, bytes memory txBytes, bytes32[] memory proof) = _depositETH(alice, 1 ether);
        uint256 id = _exit(alice, pos, txBytes, "", proof);
        bytes32 outputId = PlasmaTx.outputId(keccak256(txBytes), 0, pos);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.ExitExists.selector, outputId, id));
        chain.startStandardExit{value: SE_BOND}(pos, txBytes, "", proof);
    }

    function test_only_the_owner_exits_and_only_included_outputs() public {
        (uint256 pos, bytes memory txBytes, bytes32[] memory proof) = _depositETH(alice, 1 ether);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.NotOwner.selector, bob, alice));
        chain.startStandardExit{value: SE_BOND}(pos, txBytes, "", proof);
        bytes memory forged = _tx(new uint256[](0), _outs1(_out(alice, address(0), 5 ether)));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.NotIncluded.selector, pos));
        chain.startStandardExit{value: SE_BOND}(pos, forged, "", proof);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.UnknownBlock.selector, 7));
        chain.startStandardExit{value: SE_BOND}(7 * 1_000_000_000, txBytes, "", proof);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.WrongValue.selector, 1, SE_BOND));
        chain.startStandardExit{value: 1}(pos, txBytes, "", proof);
    }

    function test_an_exit_of_a_spent_output_is_challenged_and_its_bond_taken() public {
        (uint256 dpos, bytes memory dtx, bytes32[] memory dproof) = _depositETH(alice, 1 ether);
        bytes memory pay = _tx1(dpos, _out(bob, address(0), 1 ether));
        bytes memory sig = _sign(KEY_A, pay);
        (uint256 ppos, bytes32[] memory pproof) = _submit1(pay, sig);
        uint256 id = _exit(alice, dpos, dtx, "", dproof);
        uint256 before = keeper.balance;
        vm.prank(keeper);
        chain.challengeStandardExit(id, pay, sig, 0);
        assertEq(keeper.balance - before, SE_BOND, "the challenger takes the bond");
        assertTrue(chain.getStandardExit(id).status == PlasmaChain.Status.Challenged, "challenged");
        // A spend signed by someone else does not challenge.
        uint256 id2 = _exit(alice, dpos, dtx, "", dproof);
        bytes memory forged = _sign(KEY_M, pay);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.BadSignature.selector, 0));
        chain.challengeStandardExit(id2, pay, forged, 0);
        chain.challengeStandardExit(id2, pay, sig, 0);
        // Bob exits the payment's output and is paid after two periods from its block.
        _exit(bob, ppos, pay, sig, pproof);
        vm.warp(block.timestamp + MEP);
        _process(10);
        assertEq(chain.paidOut(address(0)), 0, "a child-block output waits two periods from its block");
        vm.warp(block.timestamp + MEP);
        uint256 bobBefore = bob.balance;
        assertEq(_process(10), 1, "processed");
        assertEq(bob.balance - bobBefore, 1 ether + SE_BOND - BOUNTY, "bob paid");
        assertEq(chain.paidOut(address(0)), 1 ether, "paid once");
    }

    function test_an_invalid_spend_is_challenged_and_the_victim_is_paid() public {
        (uint256 dpos, bytes memory dtx, bytes32[] memory dproof) = _depositETH(alice, 1 ether);
        (uint256 mpos, bytes memory mtx, bytes32[] memory mproof) = _depositETH(mallory, 0.1 ether);
        // The operator includes a spend of Alice's deposit that Mallory signed.
        bytes memory theft = _tx1(dpos, _out(mallory, address(0), 1 ether));
        bytes memory bad = _sign(KEY_M, theft);
        (uint256 tpos, bytes32[] memory tproof) = _submit1(theft, bad);
        uint256 thief = _exit(mallory, tpos, theft, bad, tproof);
        uint256 victim = _exit(alice, dpos, dtx, "", dproof);
        _exit(mallory, mpos, mtx, "", mproof);
        // Alice's own (valid) deposit exit cannot be challenged as an invalid spend.
        PlasmaChain.Inclusion memory creating = PlasmaChain.Inclusion(dtx, "", dproof);
        vm.prank(keeper);
        chain.challengeInvalidSpend(thief, PlasmaChain.Spend(theft, bad, 0), creating);
        assertTrue(chain.getStandardExit(thief).status == PlasmaChain.Status.Challenged, "thief challenged");
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.NoSuchExit.selector, 999));
        chain.challengeInvalidSpend(999, PlasmaChain.Spend(theft, bad, 0), creating);
        vm.warp(block.timestamp + 2 * MEP);
        _process(10);
        assertTrue(chain.getStandardExit(victim).status == PlasmaChain.Status.Processed, "victim processed");
        assertEq(chain.paidOut(address(0)), 1.1 ether, "alice and mallory's own deposit, nothing more");
        assertEq(chain.funds(address(0)), 0, "all deposits out");
    }

    function test_a_valid_spend_is_not_an_invalid_spend() public {
        (uint256 dpos, bytes memory dtx, bytes32[] memory dproof) = _depositETH(alice, 1 ether);
        bytes memory pay = _tx1(dpos, _out(bob, address(0), 1 ether));
        bytes memory sig = _sign(KEY_A, pay);
        (uint256 ppos, bytes32[] memory pproof) = _submit1(pay, sig);
        uint256 id = _exit(bob, ppos, pay, sig, pproof);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.SignatureValid.selector, 0));
        chain.challengeInvalidSpend(id, PlasmaChain.Spend(pay, sig, 0), PlasmaChain.Inclusion(dtx, "", dproof));
    }

    /// Alice pays Bob; the operator withholds the block (or never includes it). Bob piggybacks the
    /// output of the in-flight payment and Alice her input: canonical, so Bob is paid and Alice is
    /// not (her bond back).
    function test_in_flight_exit_of_a_canonical_payment_pays_its_outputs_once() public {
        Dep memory d = _dep(alice, 1 ether);
        bytes memory pay = _tx1(d.pos, _out(bob, address(0), 0.6 ether));
        bytes memory sig = _sign(KEY_A, pay);
        vm.prank(bob);
        uint256 id = chain.startInFlightExit{value: IFE_BOND}(pay, sig, _ins(d));
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.ExitExists.selector, keccak256(pay), id));
        chain.startInFlightExit{value: IFE_BOND}(pay, sig, _ins(d));
        vm.prank(bob);
        chain.piggybackOutput{value: PB_BOND}(id, 0, pay);
        vm.prank(alice);
        chain.piggybackInput{value: PB_BOND}(id, 0, _info(d));
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.AlreadyPiggybacked.selector, id, 4));
        chain.piggybackOutput{value: PB_BOND}(id, 0, pay);
        // Alice also tries a standard exit of her spent deposit: challenged with the payment.
        uint256 se = _exit(alice, d.pos, d.txBytes, "", d.proof);
        chain.challengeStandardExit(se, pay, sig, 0);
        vm.warp(block.timestamp + MEP / 2);
        PlasmaChain.InputInfo[] memory info = _info(d);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.PhaseOver.selector, id));
        chain.piggybackInput{value: PB_BOND}(id, 0, info);
        // In flight: two periods from the youngest input's block.
        vm.warp(block.timestamp + MEP);
        assertEq(_process(10), 1, "only the challenged standard exit's entry is due");
        vm.warp(block.timestamp + MEP / 2);
        (uint256 a0, uint256 b0) = (alice.balance, bob.balance);
        assertTrue(chain.isCanonical(id), "no competitor: canonical");
        assertEq(_process(10), 1, "the in-flight exit's one queue entry");
        assertEq(bob.balance - b0, 0.6 ether + PB_BOND + IFE_BOND - BOUNTY, "bob: output, piggyback and exit bonds");
        assertEq(alice.balance - a0, PB_BOND, "alice: her piggyback bond only");
        assertEq(chain.paidOut(address(0)), 0.6 ether, "paid once");
    }

    /// Alice signs a payment to Bob that stays in flight and a double spend to Mallory that the
    /// operator includes. The competitor makes Bob's exit non-canonical; Alice's input piggyback
    /// is removed by the input-spent challenge; Mallory's output is the one paid.
    function test_a_double_spend_makes_the_exit_non_canonical_and_nothing_is_paid_twice() public {
        Dep memory d = _dep(alice, 1 ether);
        bytes memory pay = _tx1(d.pos, _out(bob, address(0), 1 ether));
        bytes memory dbl = _tx1(d.pos, _out(mallory, address(0), 1 ether));
        bytes memory dsig = _sign(KEY_A, dbl);
        (uint256 mpos, bytes32[] memory mproof) = _submit1(dbl, dsig);
        bytes memory sig = _sign(KEY_A, pay);
        vm.prank(bob);
        uint256 id = chain.startInFlightExit{value: IFE_BOND}(pay, sig, _ins(d));
        vm.prank(bob);
        chain.piggybackOutput{value: PB_BOND}(id, 0, pay);
        vm.prank(alice);
        chain.piggybackInput{value: PB_BOND}(id, 0, _info(d));
        PlasmaChain.Competitor memory c = PlasmaChain.Competitor(dbl, dsig, 0, mpos, mproof);
        chain.challengeCanonicity(id, pay, 0, _info(d), c);
        assertTrue(!chain.isCanonical(id), "non-canonical");
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.CompetitorNotOlder.selector, mpos, mpos));
        chain.challengeCanonicity(id, pay, 0, _info(d), c);
        uint256 k0 = keeper.balance;
        vm.prank(keeper);
        chain.challengeInputSpent(id, 0, _info(d), PlasmaChain.Spend(dbl, dsig, 0));
        assertEq(keeper.balance - k0, PB_BOND, "the challenger takes the piggyback bond");
        _exit(mallory, mpos, dbl, dsig, mproof);
        vm.warp(block.timestamp + 2 * MEP);
        uint256 b0 = bob.balance;
        _process(10);
        assertEq(bob.balance - b0, PB_BOND + IFE_BOND - BOUNTY, "bob: bonds back, no payout");
        assertEq(chain.paidOut(address(0)), 1 ether, "only mallory's included output is paid");
    }

    /// The payment was included after all (the operator withheld the block's data): a competitor
    /// included later is answered by the payment's earlier inclusion.
    function test_a_canonicity_challenge_is_answered_by_an_earlier_inclusion() public {
        Dep memory d = _dep(alice, 1 ether);
        bytes memory pay = _tx1(d.pos, _out(bob, address(0), 1 ether));
        bytes memory sig = _sign(KEY_A, pay);
        (uint256 ppos, bytes32[] memory pproof) = _submit1(pay, sig);
        bytes memory dbl = _tx1(d.pos, _out(mallory, address(0), 1 ether));
        bytes memory dsig = _sign(KEY_A, dbl);
        (uint256 mpos, bytes32[] memory mproof) = _submit1(dbl, dsig);
        vm.prank(bob);
        uint256 id = chain.startInFlightExit{value: IFE_BOND}(pay, sig, _ins(d));
        vm.prank(bob);
        chain.piggybackOutput{value: PB_BOND}(id, 0, pay);
        chain.challengeCanonicity(id, pay, 0, _info(d), PlasmaChain.Competitor(dbl, dsig, 0, mpos, mproof));
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.NotEarlier.selector, mpos, mpos));
        chain.respondToCanonicityChallenge(id, pay, sig, mpos, mproof);
        chain.respondToCanonicityChallenge(id, pay, sig, ppos, pproof);
        assertTrue(chain.isCanonical(id), "canonical again");
        vm.warp(block.timestamp + 2 * MEP);
        uint256 b0 = bob.balance;
        _process(10);
        assertEq(bob.balance - b0, 1 ether + PB_BOND + IFE_BOND - BOUNTY, "bob paid");
    }

    function test_an_in_flight_exit_must_not_mint_and_must_be_signed() public {
        Dep memory d = _dep(alice, 1 ether);
        PlasmaChain.Inclusion[] memory ins = _ins(d);
        bytes memory mint = _tx1(d.pos, _out(bob, address(0), 2 ether));
        bytes memory mintSig = _sign(KEY_A, mint);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.ValueMinted.selector, address(0)));
        chain.startInFlightExit{value: IFE_BOND}(mint, mintSig, ins);
        bytes memory pay = _tx1(d.pos, _out(bob, address(0), 1 ether));
        bytes memory paySig = _sign(KEY_M, pay);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.BadSignature.selector, 0));
        chain.startInFlightExit{value: IFE_BOND}(pay, paySig, ins);
    }

    function test_malformed_transactions_are_refused_by_name() public {
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.MalformedTransaction.selector, "does not decode"));
        chain.txDigest(hex"deadbeef");
        bytes memory ok = _tx1(5, _out(bob, address(0), 1));
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.MalformedTransaction.selector, "not the canonical encoding"));
        chain.txDigest(abi.encodePacked(ok, uint256(0)));
        PlasmaTx.Output[] memory five = new PlasmaTx.Output[](5);
        for (uint256 i = 0; i < 5; i++) {
            five[i] = _out(bob, address(0), 1);
        }
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.MalformedTransaction.selector, "1 to 4 outputs"));
        chain.txDigest(_tx(new uint256[](1), five));
        uint256[] memory twice = new uint256[](2);
        (twice[0], twice[1]) = (7, 7);
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.MalformedTransaction.selector, "an input twice"));
        chain.txDigest(_tx(twice, _outs1(_out(bob, address(0), 1))));
        vm.expectRevert(abi.encodeWithSelector(PlasmaChain.MalformedTransaction.selector, "an empty output"));
        chain.txDigest(_tx1(5, _out(bob, address(0), 0)));
    }

    function test_exits_are_processed_by_exitable_time_then_position() public {
        (uint256 p1, bytes memory t1, bytes32[] memory f1) = _depositETH(alice, 1 ether);
        (uint256 p2, bytes memory t2, bytes32[] memory f2) = _depositETH(bob, 2 ether);
        uint256 e2 = _exit(bob, p2, t2, "", f2);
        uint256 e1 = _exit(alice, p1, t1, "", f1);
        (, uint128 pos, uint64 first) = chain.nextExit(address(0));
        assertEq(first, e1, "same exitable time: the older position first");
        assertEq(pos, p1, "its position");
        vm.warp(block.timestamp + MEP);
        assertEq(_process(1), 1, "one at a time");
        (,, uint64 next) = chain.nextExit(address(0));
        assertEq(next, e2, "then bob's");
    }

    function test_an_erc20_deposit_exits_in_its_own_queue() public {
        AqueductToken token = new AqueductToken("T", "T", 18, 1000 ether);
        token.transfer(alice, 100 ether);
        vm.prank(alice);
        token.approve(address(chain), 40 ether);
        uint256 n = chain.nextChildBlock() - 1000 + chain.nextDepositOffset();
        vm.prank(alice);
        chain.depositERC20(address(token), 40 ether);
        bytes memory txBytes = _tx(new uint256[](0), _outs1(_out(alice, address(token), 40 ether)));
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = _leaf(txBytes, "");
        (, bytes32[] memory proof) = _tree(leaves, 0);
        _exit(alice, n * 1_000_000_000, txBytes, "", proof);
        assertEq(chain.queueLength(address(token)), 1, "token queue");
        assertEq(chain.queueLength(address(0)), 0, "ETH queue");
        vm.warp(block.timestamp + MEP);
        vm.prank(keeper);
        chain.processExits(address(token), 5);
        assertEq(token.balanceOf(alice), 100 ether, "tokens back");
    }

    function testFuzz_the_heap_pops_in_order(uint256[24] memory values) public {
        HeapHarness h = new HeapHarness();
        for (uint256 i = 0; i < values.length; i++) {
            h.push(values[i] >> 1);
        }
        uint256 last;
        for (uint256 i = 0; i < values.length; i++) {
            uint256 v = h.pop();
            assertTrue(v >= last, "ascending");
            last = v;
        }
        assertEq(h.size(), 0, "empty");
    }

    function testFuzz_a_deposit_exit_pays_exactly_the_deposit(uint96 amount) public {
        vm.assume(amount > 0);
        (uint256 pos, bytes memory txBytes, bytes32[] memory proof) = _depositETH(alice, amount);
        _exit(alice, pos, txBytes, "", proof);
        vm.warp(block.timestamp + MEP);
        _process(1);
        assertEq(chain.paidOut(address(0)), amount, "paid the deposit");
        assertEq(address(chain).balance, 0, "nothing held back");
    }
}
