// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BridgeFixture} from "./BridgeFixture.sol";
import {BridgeLib} from "../../src/bridge/BridgeLib.sol";
import {HubPool} from "../../src/bridge/HubPool.sol";

/// Random deposits, fills (right and wrong), slow-fill requests, deliveries, honest and forged
/// bundles, disputes and executions, in any order, keeping the books.
contract BridgeHandler is BridgeFixture {
    address internal constant PROPOSER = address(0xB0D);
    uint256 public deposited;
    uint256 public bondsIn;
    uint256 public bondsOut;
    uint256 public executions;
    BridgeLib.Entry[] internal pending;
    uint256 internal pendingId = type(uint256).max;

    constructor() {
        setUpBridge();
    }

    function makeDeposit(uint96 input, uint16 feeBps, uint16 window) external {
        uint256 a = bound(input, 1, 100 ether);
        uint256 out = a - (a * bound(feeBps, 0, 500)) / 10_000;
        if (out == 0) out = 1;
        deposit(a, out, uint32(bound(window, 1, 3600)));
        deposited += a;
    }

    function fillOne(uint256 i, bool wrong) external {
        if (deposits.length == 0) return;
        BridgeLib.RelayData memory d = deposits[i % deposits.length];
        if (block.timestamp > d.fillDeadline) return;
        (HubPool.FillStatus s,,) = hub.fills(BridgeLib.relayHash(d));
        if (wrong) d.outputAmount = d.outputAmount / 2 + 1;
        else if (s != HubPool.FillStatus.Unfilled) return;
        (s,,) = hub.fills(BridgeLib.relayHash(d));
        if (s != HubPool.FillStatus.Unfilled) return;
        fill(d, RELAYER);
    }

    function slowFill(uint256 i) external {
        if (deposits.length == 0) return;
        BridgeLib.RelayData memory d = deposits[i % deposits.length];
        (HubPool.FillStatus s,,) = hub.fills(BridgeLib.relayHash(d));
        if (block.timestamp > d.fillDeadline || s != HubPool.FillStatus.Unfilled) return;
        vm.prank(BOB);
        hub.requestSlowFill(d);
    }

    function deliver() external {
        if (spoke.depositCount() == spoke.bridgedCount()) return;
        deliverAll();
    }

    /// Time passes, and the watcher sees every proposal before its liveness ends.
    function wait(uint16 secs) external {
        watch();
        vm.warp(block.timestamp + bound(secs, 1, 2000));
    }

    /// Proposes the honest bundle over the settled delivered deposits, or a forged one that pays
    /// the attacker for one of them.
    function proposeOne(bool forge, uint256 which) external {
        uint256 n = hub.bundleCount();
        if (n > 0 && hub.livenessLeft(n - 1) > 0) {
            (,,, bool disputed,,,,) = hub.bundles(n - 1);
            if (!disputed) return;
        }
        uint64 from = hub.coveredEnd();
        uint64 to = from;
        while (to < hub.deliveredCount()) {
            (bool settled,) = hub.expected(deposits[to], uint64(block.timestamp));
            if (!settled) break;
            to++;
        }
        if (to == from) return;
        BridgeLib.Entry[] memory es = honest(from, to);
        if (forge) {
            uint256 k = which % es.length;
            es[k] = BridgeLib.Entry(es[k].relayHash, BridgeLib.Outcome.Repay, address(0xBAD), es[k].amount + 1);
        }
        pendingId = propose(PROPOSER, es);
        bondsIn += BOND;
        delete pending;
        for (uint256 i = 0; i < es.length; i++) {
            pending.push(es[i]);
        }
    }

    /// A watcher checks every entry of the pending bundle and disputes the first wrong one.
    function watch() public {
        if (pendingId == type(uint256).max || hub.livenessLeft(pendingId) == 0) return;
        (uint64 start,,, bool disputed,,,,) = hub.bundles(pendingId);
        if (disputed) return;
        for (uint256 i = 0; i < pending.length; i++) {
            (bool settled, BridgeLib.Entry memory want) = hub.expected(deposits[start + i], _proposedAt());
            if (!settled || keccak256(abi.encode(want)) != keccak256(abi.encode(pending[i]))) {
                disputeEntry(pendingId, pending, i, address(0xD15), "");
                bondsOut += BOND;
                return;
            }
        }
    }

    function executeAll() external {
        if (pendingId == type(uint256).max || hub.livenessLeft(pendingId) > 0) return;
        (uint64 start,,, bool disputed,,,,) = hub.bundles(pendingId);
        if (disputed) return;
        for (uint256 i = 0; i < pending.length; i++) {
            if (hub.executed(start + uint64(i))) continue;
            if (hub.paid() + pending[i].amount > hub.delivered()) return;
            hub.execute(pendingId, i, pending[i], entryProof(pending, i));
            executions++;
        }
        hub.returnBond(pendingId);
        bondsOut += BOND;
    }

    function _proposedAt() internal view returns (uint64 t) {
        (,, t,,,,,) = hub.bundles(pendingId);
    }

    receive() external payable {}
}

contract HubPoolInvariantTest is BridgeFixture {
    BridgeHandler handler;

    function setUp() public {
        handler = new BridgeHandler();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// No path pays out more than was deposited; the hub holds every delivered wei not paid and
    /// every bond not returned; nothing forged is ever paid.
    function invariant_no_payout_beyond_deposits() public view {
        HubPool h = handler.hub();
        assertTrue(h.paid() <= h.delivered(), "paid within delivered");
        assertTrue(h.delivered() <= handler.deposited(), "delivered within deposited");
        assertEq(
            address(h).balance,
            h.delivered() - h.paid() + handler.bondsIn() - handler.bondsOut(),
            "hub holds what it owes"
        );
        assertEq(address(0xBAD).balance, 0, "a forged entry never pays");
    }
}
