// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelSigner} from "./ChannelAdjudicator.t.sol";
import {ChannelAdjudicator} from "../../src/channel/ChannelAdjudicator.sol";

/// Opens channels and closes them every way there is, with random co-signed states (HTLCs
/// included), stale closes, challenges, reveals and time jumps.
contract ChannelHandler is ChannelSigner {
    ChannelAdjudicator public adj;
    address public alice;
    address public bob;
    uint256 public deposited;
    uint256[] public live;
    uint64 nextVersion = 1;
    bytes32 constant SECRET = keccak256("invariant secret");

    constructor(ChannelAdjudicator a) {
        adj = a;
        alice = vm.addr(KEY_A);
        bob = vm.addr(KEY_B);
    }

    function open(uint96 da, uint96 db) external {
        da = uint96(bound(da, 0, 10 ether));
        db = uint96(bound(db, 0, 10 ether));
        vm.deal(alice, alice.balance + da);
        vm.deal(bob, bob.balance + db);
        vm.prank(alice);
        uint256 id = adj.open{value: da}(bob, address(0), da, 100);
        vm.prank(bob);
        adj.join{value: db}(id, db);
        deposited += uint256(da) + db;
        live.push(id);
    }

    /// A random split of the deposits, with up to two HTLCs (one locked to a known secret).
    function _randomState(uint256 id, uint256 seed) internal returns (ChannelAdjudicator.State memory s) {
        ChannelAdjudicator.Channel memory c = adj.getChannel(id);
        uint256 total = uint256(c.depositA) + c.depositB;
        uint256 h1 = bound(seed, 0, total / 4);
        uint256 h2 = bound(seed >> 64, 0, total / 4);
        uint256 toA = bound(seed >> 128, 0, total - h1 - h2);
        s = _state(id, nextVersion++, uint96(toA), uint96(total - h1 - h2 - toA));
        s.htlcs = new ChannelAdjudicator.Htlc[](2);
        uint64 t = uint64(block.timestamp);
        s.htlcs[0] = ChannelAdjudicator.Htlc(seed & 1 == 0, uint96(h1), keccak256(abi.encodePacked(SECRET)), t + 50);
        s.htlcs[1] = ChannelAdjudicator.Htlc(seed & 2 == 0, uint96(h2), bytes32(seed), t + 150);
    }

    function close(uint256 pick, uint256 seed, bool useStale) external {
        if (live.length == 0) return;
        uint256 id = live[pick % live.length];
        if (adj.getChannel(id).status != ChannelAdjudicator.Status.Open) return;
        ChannelAdjudicator.State memory s = _randomState(id, seed);
        bytes32 d = adj.stateDigest(s);
        ChannelAdjudicator.Channel memory c = adj.getChannel(id);
        ChannelAdjudicator.State memory opening = _state(id, 0, c.depositA, c.depositB);
        (bytes memory sa, bytes memory sb) = (_sig(KEY_A, d), _sig(KEY_B, d));
        vm.prank(seed & 4 == 0 ? alice : bob);
        if (useStale) adj.close(opening, "", "");
        else adj.close(s, sa, sb);
        delete lastHtlcs[id];
        if (!useStale) _remember(id, s.htlcs);
    }

    mapping(uint256 => ChannelAdjudicator.Htlc[]) lastHtlcs;

    function challenge(uint256 pick, uint256 seed) external {
        if (live.length == 0) return;
        uint256 id = live[pick % live.length];
        ChannelAdjudicator.Channel memory c = adj.getChannel(id);
        if (c.status != ChannelAdjudicator.Status.Closing || block.timestamp > c.deadline) return;
        ChannelAdjudicator.State memory s = _randomState(id, seed);
        bytes32 d = adj.stateDigest(s);
        adj.challenge(s, _sig(KEY_A, d), _sig(KEY_B, d));
        delete lastHtlcs[id];
        _remember(id, s.htlcs);
    }

    function _remember(uint256 id, ChannelAdjudicator.Htlc[] memory h) internal {
        for (uint256 i = 0; i < h.length; i++) {
            lastHtlcs[id].push(h[i]);
        }
    }

    function cooperate(uint256 pick, uint256 split) external {
        if (live.length == 0) return;
        uint256 id = live[pick % live.length];
        ChannelAdjudicator.Channel memory c = adj.getChannel(id);
        if (c.status != ChannelAdjudicator.Status.Open && c.status != ChannelAdjudicator.Status.Closing) return;
        uint256 total = uint256(c.depositA) + c.depositB;
        uint96 a = uint96(bound(split, 0, total));
        bytes32 d = adj.closeDigest(id, a, uint96(total - a));
        adj.closeCooperatively(id, a, uint96(total - a), _sig(KEY_A, d), _sig(KEY_B, d));
    }

    function settle(uint256 pick) external {
        if (live.length == 0) return;
        uint256 id = live[pick % live.length];
        ChannelAdjudicator.Channel memory c = adj.getChannel(id);
        if (c.status != ChannelAdjudicator.Status.Closing || block.timestamp <= c.deadline) return;
        ChannelAdjudicator.Htlc[] memory h = lastHtlcs[id];
        for (uint256 i = 0; i < h.length; i++) {
            if (adj.revealedAt(h[i].hash) == 0 && block.timestamp <= h[i].expiry) return;
        }
        adj.settle(id, h);
    }

    function reveal() external {
        adj.reveal(SECRET);
    }

    function wait(uint16 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 200));
    }

    function paidOut() external view returns (uint256) {
        // Parties start each deposit with exactly what they deposit (vm.deal), so what they hold
        // now is what the adjudicator paid them.
        return alice.balance + bob.balance;
    }
}

contract ChannelAdjudicatorInvariantTest is ChannelSigner {
    ChannelAdjudicator adj;
    ChannelHandler handler;

    function setUp() public {
        adj = new ChannelAdjudicator();
        handler = new ChannelHandler(adj);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// No channel ever pays out more than was deposited: what the parties got back plus what
    /// the adjudicator still holds is exactly what went in.
    function invariant_never_pays_more_than_deposited() public view {
        assertEq(handler.paidOut() + address(adj).balance, handler.deposited(), "conserved");
    }
}
