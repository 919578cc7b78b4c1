// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {OutputOracle} from "../../src/rollup/OutputOracle.sol";

contract OutputOracleTest is Test {
    OutputOracle oracle;
    address proposer = address(0xA11CE);
    address challenger = address(0xC4A1);
    uint256 constant BOND = 1 ether;
    uint256 constant WINDOW = 7 days;

    function setUp() public {
        oracle = new OutputOracle(BOND, WINDOW, challenger);
        vm.deal(proposer, 100 ether);
        vm.warp(1_000_000);
    }

    function propose(bytes32 root, uint256 n) internal {
        vm.prank(proposer);
        oracle.proposeOutput{value: BOND}(root, n);
    }

    function test_propose_records_output() public {
        propose(keccak256("a"), 10);
        OutputOracle.Output memory o = oracle.getOutput(0);
        assertEq(o.outputRoot, keccak256("a"), "root");
        assertEq(o.l2BlockNumber, 10, "block");
        assertEq(o.proposer, proposer, "proposer");
        assertEq(oracle.latestBlockNumber(), 10, "latest");
        assertEq(oracle.secondsLeft(0), WINDOW, "window");
    }

    function test_propose_needs_exact_bond() public {
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.WrongBond.selector, BOND - 1, BOND));
        oracle.proposeOutput{value: BOND - 1}(keccak256("a"), 10);
    }

    function test_block_numbers_must_increase() public {
        propose(keccak256("a"), 10);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.BlockNumberNotIncreasing.selector, 10, 10));
        oracle.proposeOutput{value: BOND}(keccak256("b"), 10);
    }

    function test_finality_after_window() public {
        propose(keccak256("a"), 10);
        assertTrue(!oracle.isFinalized(0), "not final yet");
        vm.warp(block.timestamp + WINDOW - 1);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.NotYetFinal.selector, 0, 1));
        oracle.releaseBond(0);
        vm.warp(block.timestamp + 1);
        assertTrue(oracle.isFinalized(0), "final");
        oracle.releaseBond(0);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.BondAlreadyReleased.selector, 0));
        oracle.releaseBond(0);
        uint256 before = proposer.balance;
        vm.prank(proposer);
        oracle.withdrawCredit();
        assertEq(proposer.balance, before + BOND, "bond back");
    }

    function test_challenger_deletes_output_and_successors() public {
        propose(keccak256("a"), 10);
        propose(keccak256("b"), 20);
        propose(keccak256("c"), 30);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.NotChallenger.selector, proposer));
        vm.prank(proposer);
        oracle.deleteOutputs(1);
        vm.prank(challenger);
        oracle.deleteOutputs(1);
        assertEq(oracle.nextOutputIndex(), 1, "two deleted");
        assertEq(oracle.credit(challenger), 2 * BOND, "bonds forfeited");
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.NoSuchOutput.selector, 1));
        oracle.getOutput(1);
        // The slot can be proposed again.
        propose(keccak256("b2"), 20);
        assertEq(oracle.getOutput(1).outputRoot, keccak256("b2"), "re-proposed");
    }

    function test_final_output_cannot_be_deleted() public {
        propose(keccak256("a"), 10);
        vm.warp(block.timestamp + WINDOW);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.OutputFinalized.selector, 0));
        oracle.deleteOutputs(0);
    }

    function testFuzz_bonds_are_conserved(uint8 proposals, uint8 deleteFrom) public {
        uint256 n = bound(proposals, 1, 20);
        for (uint256 i = 0; i < n; i++) {
            propose(keccak256(abi.encode(i)), (i + 1) * 5);
        }
        uint256 d = bound(deleteFrom, 0, n - 1);
        vm.prank(challenger);
        oracle.deleteOutputs(d);
        vm.warp(block.timestamp + WINDOW);
        for (uint256 i = 0; i < d; i++) {
            oracle.releaseBond(i);
        }
        assertEq(oracle.credit(proposer) + oracle.credit(challenger), n * BOND, "every bond accounted");
        assertEq(address(oracle).balance, n * BOND, "held");
    }
}
