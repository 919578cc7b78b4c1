// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "../utils/Test.sol";
import {PlasmaChain} from "../../src/plasma/PlasmaChain.sol";
import {PlasmaTx} from "../../src/plasma/PlasmaTx.sol";
import {Ecdsa} from "../../src/lib/Ecdsa.sol";
import {PlasmaFixture as F} from "./PlasmaFixture.sol";

contract TreeHarness {
    function included(bytes32 leaf, uint256 index, bytes32 root, bytes32[] calldata proof) external pure returns (bool) {
        return PlasmaTx.included(leaf, index, root, proof);
    }

    function recover(bytes32 digest, bytes calldata sig) external pure returns (address) {
        return Ecdsa.recover(digest, sig);
    }

    function sigAt(bytes calldata sigs, uint256 i) external pure returns (bytes memory) {
        return PlasmaTx.sigAt(sigs, i);
    }
}

/// The contract reads what aqueduct-plasma-protocol writes: encoding, EIP-712 digest and domain,
/// signatures, leaves, block trees and proofs, deposits and output ids.
contract PlasmaFixtureTest is Test {
    PlasmaChain chain;
    TreeHarness h;

    function setUp() public {
        chain = new PlasmaChain(address(this), 100, 1, 1, 1, 1);
        h = new TreeHarness();
    }

    function test_the_contract_computes_what_rust_computes() public {
        assertEq(address(chain), F.CHAIN, "deployed where the fixture's domain says");
        assertEq(chain.domainSeparator(), F.SEPARATOR, "domain separator");
        assertEq(chain.txDigest(F.TX), F.DIGEST, "EIP-712 digest");
        assertEq(h.recover(F.DIGEST, h.sigAt(F.SIGS, 0)), F.SIGNER_A, "input 0 signed by A");
        assertEq(h.recover(F.DIGEST, h.sigAt(F.SIGS, 1)), F.SIGNER_B, "input 1 signed by B");
        bytes32 leaf = keccak256(abi.encodePacked(bytes1(0x00), keccak256(F.TX), keccak256(F.SIGS)));
        assertEq(leaf, F.LEAF, "leaf");
        assertTrue(h.included(F.LEAF, F.INDEX, F.ROOT, F.proof()), "the proof holds");
        assertTrue(!h.included(F.LEAF, F.INDEX + 1, F.ROOT, F.proof()), "not at another index");
        PlasmaTx.Transaction memory t = chain.decodeTx(F.TX);
        assertEq(t.inputs.length, 2, "two inputs");
        assertEq(t.inputs[1], 2000 * 1_000_000_000 + 3 * 10_000 + 1, "position encoding");
        assertEq(PlasmaTx.outputId(keccak256(F.TX), 1, 0), F.PAYMENT_OUTPUT_ID, "a payment's output id");
    }

    function test_a_deposit_makes_the_block_rust_expects() public {
        vm.deal(F.SIGNER_A, 1 ether);
        vm.recordLogs();
        vm.prank(F.SIGNER_A);
        chain.depositETH{value: 1 ether}();
        (bytes32 root,) = chain.blocks(1);
        assertEq(root, F.DEPOSIT_ROOT, "deposit block root");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        (, bytes memory txBytes) = abi.decode(logs[0].data, (uint256, bytes));
        assertEq(keccak256(txBytes), keccak256(F.DEPOSIT_TX), "the deposit's transaction bytes");
        assertEq(PlasmaTx.outputId(keccak256(F.DEPOSIT_TX), 0, 1_000_000_000), F.DEPOSIT_OUTPUT_ID, "deposit output id");
    }
}
