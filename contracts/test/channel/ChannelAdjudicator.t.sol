// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";
import {ChannelAdjudicator} from "../../src/channel/ChannelAdjudicator.sol";

/// Signs channel states and closes for two keys.
abstract contract ChannelSigner is Test {
    uint256 internal constant KEY_A = 0xA11CE;
    uint256 internal constant KEY_B = 0xB0B;

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _state(uint256 id, uint64 version, uint96 a, uint96 b)
        internal
        pure
        returns (ChannelAdjudicator.State memory s)
    {
        s.channelId = id;
        s.version = version;
        s.balanceA = a;
        s.balanceB = b;
    }
}

contract ChannelAdjudicatorTest is ChannelSigner {
    ChannelAdjudicator adj;
    AqueductToken token;
    address alice;
    address bob;

    function setUp() public {
        adj = new ChannelAdjudicator();
        token = new AqueductToken("T", "T", 18, type(uint128).max);
        alice = vm.addr(KEY_A);
        bob = vm.addr(KEY_B);
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
        vm.warp(1_000_000);
    }

    function _openEth(uint96 da, uint96 db) internal returns (uint256 id) {
        vm.prank(alice);
        id = adj.open{value: da}(bob, address(0), da, 1 hours);
        vm.prank(bob);
        adj.join{value: db}(id, db);
    }

    function _sign(ChannelAdjudicator.State memory s) internal view returns (bytes memory, bytes memory) {
        bytes32 d = adj.stateDigest(s);
        return (_sig(KEY_A, d), _sig(KEY_B, d));
    }

    function test_open_join_cooperative_close_eth() public {
        uint256 id = _openEth(3 ether, 1 ether);
        assertEq(address(adj).balance, 4 ether, "held");
        bytes32 d = adj.closeDigest(id, 1.5 ether, 2.5 ether);
        adj.closeCooperatively(id, 1.5 ether, 2.5 ether, _sig(KEY_A, d), _sig(KEY_B, d));
        assertEq(alice.balance, 97 ether + 1.5 ether, "alice");
        assertEq(bob.balance, 99 ether + 2.5 ether, "bob");
        assertEq(address(adj).balance, 0, "empty");
        vm.expectRevert(abi.encodeWithSelector(ChannelAdjudicator.BadStatus.selector, ChannelAdjudicator.Status.None));
        adj.closeCooperatively(id, 1.5 ether, 2.5 ether, _sig(KEY_A, d), _sig(KEY_B, d));
    }

    function test_cooperative_close_rejects_forgery_and_wrong_sum() public {
        uint256 id = _openEth(1 ether, 1 ether);
        bytes32 d = adj.closeDigest(id, 2 ether, 0);
        vm.expectRevert(ChannelAdjudicator.BadSignature.selector);
        adj.closeCooperatively(id, 2 ether, 0, _sig(KEY_A, d), _sig(0xBAD, d));
        vm.expectRevert(ChannelAdjudicator.BadSignature.selector);
        adj.closeCooperatively(id, 2 ether, 0, _sig(KEY_B, d), _sig(KEY_A, d));
        d = adj.closeDigest(id, 2 ether, 1);
        vm.expectRevert(ChannelAdjudicator.BadBalances.selector);
        adj.closeCooperatively(id, 2 ether, 1, _sig(KEY_A, d), _sig(KEY_B, d));
    }

    function test_token_channel() public {
        token.mint(alice, 1000);
        token.mint(bob, 500);
        vm.prank(alice);
        token.approve(address(adj), 1000);
        vm.prank(bob);
        token.approve(address(adj), 500);
        vm.prank(alice);
        uint256 id = adj.open(bob, address(token), 1000, 60);
        vm.prank(bob);
        adj.join(id, 500);
        assertEq(token.balanceOf(address(adj)), 1500, "held");
        bytes32 d = adj.closeDigest(id, 100, 1400);
        adj.closeCooperatively(id, 100, 1400, _sig(KEY_A, d), _sig(KEY_B, d));
        assertEq(token.balanceOf(alice), 100, "alice");
        assertEq(token.balanceOf(bob), 1400, "bob");
    }

    function test_open_rules() public {
        vm.prank(alice);
        vm.expectRevert(ChannelAdjudicator.BadAmount.selector);
        adj.open{value: 1}(bob, address(0), 2, 60);
        vm.prank(alice);
        vm.expectRevert(ChannelAdjudicator.NotParty.selector);
        adj.open(alice, address(0), 0, 60);
        vm.prank(alice);
        vm.expectRevert(ChannelAdjudicator.BadPeriod.selector);
        adj.open(bob, address(0), 0, 0);
        vm.prank(alice);
        uint256 id = adj.open{value: 1 ether}(bob, address(0), 1 ether, 60);
        vm.prank(alice);
        vm.expectRevert(ChannelAdjudicator.NotParty.selector);
        adj.join(id, 0);
        // Not joined yet: no close, but the opener may cancel.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ChannelAdjudicator.BadStatus.selector, ChannelAdjudicator.Status.Opening));
        adj.close(_state(id, 0, 1 ether, 0), "", "");
        vm.prank(alice);
        adj.cancel(id);
        assertEq(alice.balance, 100 ether, "refunded");
    }

    function test_stale_close_loses_to_challenge() public {
        uint256 id = _openEth(5 ether, 5 ether);
        ChannelAdjudicator.State memory old = _state(id, 3, 9 ether, 1 ether);
        ChannelAdjudicator.State memory latest = _state(id, 7, 2 ether, 8 ether);
        (bytes memory oa, bytes memory ob) = _sign(old);
        (bytes memory la, bytes memory lb) = _sign(latest);
        vm.prank(alice);
        adj.close(old, oa, ob);
        vm.expectRevert(abi.encodeWithSelector(ChannelAdjudicator.ChallengePeriodRunning.selector, uint64(1_000_000 + 1 hours)));
        adj.settle(id, new ChannelAdjudicator.Htlc[](0));
        // A watchtower (any address) answers with the latest state.
        vm.prank(address(0x7077E5));
        adj.challenge(latest, la, lb);
        vm.expectRevert(abi.encodeWithSelector(ChannelAdjudicator.StaleVersion.selector, uint64(7), uint64(3)));
        adj.challenge(old, oa, ob);
        vm.warp(1_000_000 + 1 hours + 1);
        vm.expectRevert(ChannelAdjudicator.ChallengePeriodOver.selector);
        adj.challenge(_state(id, 8, 10 ether, 0), oa, ob);
        adj.settle(id, new ChannelAdjudicator.Htlc[](0));
        assertEq(alice.balance, 95 ether + 2 ether, "alice");
        assertEq(bob.balance, 95 ether + 8 ether, "bob");
    }

    function test_close_rules() public {
        uint256 id = _openEth(5 ether, 5 ether);
        ChannelAdjudicator.State memory s = _state(id, 1, 4 ether, 6 ether);
        (bytes memory sa, bytes memory sb) = _sign(s);
        vm.prank(address(0xE1));
        vm.expectRevert(ChannelAdjudicator.NotParty.selector);
        adj.close(s, sa, sb);
        vm.prank(bob);
        vm.expectRevert(ChannelAdjudicator.BadSignature.selector);
        adj.close(s, sa, sa);
        ChannelAdjudicator.State memory inflated = _state(id, 2, 6 ether, 6 ether);
        (bytes memory ia, bytes memory ib) = _sign(inflated);
        vm.prank(bob);
        vm.expectRevert(ChannelAdjudicator.BadBalances.selector);
        adj.close(inflated, ia, ib);
        // Version 0 is the deposits and needs no signature; anything else at version 0 fails.
        vm.prank(bob);
        vm.expectRevert(ChannelAdjudicator.BadBalances.selector);
        adj.close(_state(id, 0, 4 ether, 6 ether), "", "");
        vm.prank(bob);
        adj.close(_state(id, 0, 5 ether, 5 ether), "", "");
        adj.challenge(s, sa, sb);
        vm.warp(block.timestamp + 1 hours + 1);
        adj.settle(id, new ChannelAdjudicator.Htlc[](0));
        assertEq(alice.balance, 99 ether, "alice");
        assertEq(bob.balance, 101 ether, "bob");
    }

    function test_htlcs_settle_by_preimage_or_expiry() public {
        uint256 id = _openEth(5 ether, 5 ether);
        bytes32 secret = keccak256("secret");
        bytes32 hash = keccak256(abi.encodePacked(secret));
        ChannelAdjudicator.State memory s = _state(id, 4, 3 ether, 4 ether);
        s.htlcs = new ChannelAdjudicator.Htlc[](3);
        uint64 t = uint64(block.timestamp);
        // A → B, preimage revealed in time: to B.
        s.htlcs[0] = ChannelAdjudicator.Htlc(true, 1 ether, hash, t + 2 hours);
        // B → A, never revealed: back to B once expired.
        s.htlcs[1] = ChannelAdjudicator.Htlc(false, 1 ether, keccak256("other"), t + 3 hours);
        // A → B, same hash but it expired before the reveal: back to A.
        s.htlcs[2] = ChannelAdjudicator.Htlc(true, 1 ether, hash, t + 10);
        (bytes memory sa, bytes memory sb) = _sign(s);
        vm.prank(alice);
        adj.close(s, sa, sb);
        vm.warp(t + 1 hours + 1);
        adj.reveal(secret);
        assertEq(adj.revealedAt(hash), t + 1 hours + 1, "revealed");
        vm.expectRevert(ChannelAdjudicator.HtlcsMismatch.selector);
        adj.settle(id, new ChannelAdjudicator.Htlc[](0));
        vm.expectRevert(abi.encodeWithSelector(ChannelAdjudicator.HtlcPending.selector, uint256(1)));
        adj.settle(id, s.htlcs);
        vm.warp(t + 3 hours + 1);
        adj.settle(id, s.htlcs);
        assertEq(alice.balance, 95 ether + 3 ether + 1 ether, "alice");
        assertEq(bob.balance, 95 ether + 4 ether + 1 ether + 1 ether, "bob");
        assertEq(address(adj).balance, 0, "empty");
    }

    function test_refusing_recipient_is_credited() public {
        Refuser r = new Refuser();
        vm.deal(address(r), 1 ether);
        vm.prank(address(r));
        uint256 id = adj.open{value: 1 ether}(bob, address(0), 1 ether, 60);
        vm.prank(bob);
        adj.join(id, 0);
        vm.prank(bob);
        adj.close(_state(id, 0, 1 ether, 0), "", "");
        vm.warp(block.timestamp + 61);
        adj.settle(id, new ChannelAdjudicator.Htlc[](0));
        assertEq(adj.owed(address(0), address(r)), 1 ether, "owed");
        r.setAccept(true);
        vm.prank(address(r));
        adj.withdraw(address(0));
        assertEq(address(r).balance, 1 ether, "withdrawn");
    }

    /// Fuzz: any co-signed split of the deposits settles to exactly that split.
    function testFuzz_unilateral_close_pays_exact_split(uint96 da, uint96 db, uint96 toB, uint64 version) public {
        da = uint96(bound(da, 0, 50 ether));
        db = uint96(bound(db, 0, 50 ether));
        toB = uint96(bound(toB, 0, da));
        version = uint64(bound(version, 1, type(uint64).max));
        uint256 id = _openEth(da, db);
        ChannelAdjudicator.State memory s = _state(id, version, da - toB, db + toB);
        (bytes memory sa, bytes memory sb) = _sign(s);
        vm.prank(bob);
        adj.close(s, sa, sb);
        vm.warp(block.timestamp + 1 hours + 1);
        adj.settle(id, new ChannelAdjudicator.Htlc[](0));
        assertEq(alice.balance, 100 ether - toB, "alice");
        assertEq(bob.balance, 100 ether + toB, "bob");
    }

    /// Fuzz: a state that accounts for more or less than the deposits is refused.
    function testFuzz_unbalanced_state_refused(uint96 a, uint96 b, uint96 h) public {
        uint256 id = _openEth(1 ether, 1 ether);
        ChannelAdjudicator.State memory s = _state(id, 1, a, b);
        s.htlcs = new ChannelAdjudicator.Htlc[](1);
        s.htlcs[0] = ChannelAdjudicator.Htlc(true, h, bytes32(0), 0);
        vm.assume(uint256(a) + b + h != 2 ether);
        (bytes memory sa, bytes memory sb) = _sign(s);
        vm.prank(alice);
        vm.expectRevert(ChannelAdjudicator.BadBalances.selector);
        adj.close(s, sa, sb);
    }
}

contract Refuser {
    bool accept;

    function setAccept(bool a) external {
        accept = a;
    }

    receive() external payable {
        require(accept, "no");
    }
}
