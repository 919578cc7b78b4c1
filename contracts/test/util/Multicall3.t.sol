// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {Multicall3} from "../../src/util/Multicall3.sol";

/// A call target: records what it received, echoes, and fails on request.
contract Target {
    uint256 public received;

    function echo(uint256 x) external payable returns (uint256) {
        received += msg.value;
        return x * 2;
    }

    function fail() external pure {
        revert("target failed");
    }
}

contract Multicall3Test is Test {
    Multicall3 mc;
    Target t;

    function setUp() public {
        mc = new Multicall3();
        t = new Target();
    }

    function test_aggregate3_returns_each_result_and_allows_failures() public {
        Multicall3.Call3[] memory calls = new Multicall3.Call3[](3);
        calls[0] = Multicall3.Call3(address(t), false, abi.encodeCall(Target.echo, (21)));
        calls[1] = Multicall3.Call3(address(t), true, abi.encodeCall(Target.fail, ()));
        calls[2] = Multicall3.Call3(address(mc), false, abi.encodeCall(Multicall3.getEthBalance, (address(0xBEEF))));
        vm.deal(address(0xBEEF), 5 ether);
        Multicall3.Result[] memory r = mc.aggregate3(calls);
        assertEq(r.length, 3, "three results");
        assertTrue(r[0].success && abi.decode(r[0].returnData, (uint256)) == 42, "echo doubled");
        assertTrue(!r[1].success, "the failure is reported");
        assertEq(abi.decode(r[2].returnData, (uint256)), 5 ether, "balance through the batch");
    }

    function test_aggregate3_reverts_on_a_failure_not_allowed() public {
        Multicall3.Call3[] memory calls = new Multicall3.Call3[](1);
        calls[0] = Multicall3.Call3(address(t), false, abi.encodeCall(Target.fail, ()));
        vm.expectRevert(bytes("Multicall3: call failed"));
        mc.aggregate3(calls);
    }

    function test_aggregate_and_block_views() public {
        vm.roll(77);
        Multicall3.Call[] memory calls = new Multicall3.Call[](1);
        calls[0] = Multicall3.Call(address(t), abi.encodeCall(Target.echo, (5)));
        (uint256 n, bytes[] memory ret) = mc.aggregate(calls);
        assertEq(n, 77, "block number");
        assertEq(abi.decode(ret[0], (uint256)), 10, "return data");
        assertEq(mc.getBlockNumber(), 77, "getBlockNumber");
        assertEq(mc.getChainId(), block.chainid, "getChainId");
        Multicall3.Result[] memory r = mc.tryAggregate(false, calls);
        assertTrue(r[0].success, "tryAggregate");
        calls[0] = Multicall3.Call(address(t), abi.encodeCall(Target.fail, ()));
        vm.expectRevert(bytes("Multicall3: call failed"));
        mc.tryAggregate(true, calls);
    }

    /// Values forwarded add up to exactly what was sent: more or less reverts.
    function testFuzz_aggregate3Value_forwards_exactly_msg_value(uint96 a, uint96 b, uint96 sent) public {
        Multicall3.Call3Value[] memory calls = new Multicall3.Call3Value[](2);
        calls[0] = Multicall3.Call3Value(address(t), false, a, abi.encodeCall(Target.echo, (1)));
        calls[1] = Multicall3.Call3Value(address(t), false, b, abi.encodeCall(Target.echo, (2)));
        uint256 want = uint256(a) + uint256(b);
        vm.deal(address(this), uint256(sent) + want + 1 ether);
        // Value left in the contract by an earlier payable call is never paid out.
        mc.aggregate{value: 1 ether < uint256(sent) ? 1 ether : uint256(sent)}(new Multicall3.Call[](0));
        uint256 held = address(mc).balance;
        if (uint256(sent) != want) {
            vm.expectRevert(bytes("Multicall3: value mismatch"));
            mc.aggregate3Value{value: sent}(calls);
            assertEq(t.received(), 0, "nothing forwarded");
        }
        mc.aggregate3Value{value: want}(calls);
        assertEq(t.received(), want, "forwarded what was sent");
        assertEq(address(mc).balance, held, "nothing taken from what the contract holds");
    }
}

/// Random batches with values, some failing; the books of what went in and out.
contract MulticallHandler is Test {
    Multicall3 public mc;
    Target public t;
    uint256 public sentIn;

    constructor() {
        mc = new Multicall3();
        t = new Target();
    }

    function batch(uint64 a, uint64 b, bool failB, bool allow, uint64 extra) external {
        Multicall3.Call3Value[] memory calls = new Multicall3.Call3Value[](2);
        calls[0] = Multicall3.Call3Value(address(t), false, a, abi.encodeCall(Target.echo, (1)));
        bytes memory second = failB ? abi.encodeCall(Target.fail, ()) : abi.encodeCall(Target.echo, (2));
        calls[1] = Multicall3.Call3Value(address(t), allow, failB ? 0 : b, second);
        uint256 value = uint256(a) + (failB ? 0 : uint256(b)) + (extra % 2 == 0 ? 0 : extra);
        vm.deal(address(this), value);
        try mc.aggregate3Value{value: value}(calls) {
            sentIn += value;
        } catch {}
    }

    function strand(uint64 v) external {
        vm.deal(address(this), v);
        mc.aggregate{value: v}(new Multicall3.Call[](0));
        sentIn += v;
    }
}

contract Multicall3InvariantTest is Test {
    MulticallHandler h;

    function setUp() public {
        h = new MulticallHandler();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(h);
    }

    /// No payout beyond deposits: what the targets received plus what the contract holds is
    /// exactly what was sent to it.
    function invariant_pays_out_no_more_than_it_was_sent() public view {
        assertEq(h.t().received() + address(h.mc()).balance, h.sentIn(), "books balance");
    }
}
