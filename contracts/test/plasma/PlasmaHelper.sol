// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {PlasmaChain} from "../../src/plasma/PlasmaChain.sol";
import {PlasmaTx} from "../../src/plasma/PlasmaTx.sol";

/// Builds, signs and includes plasma payments for tests: transactions, EIP-712 signatures through
/// the contract's own digest, depth-16 block trees and their proofs.
abstract contract PlasmaHelper is Test {
    uint256 internal constant KEY_OP = 0x09E8A7;
    uint256 internal constant KEY_A = 0xA11CE;
    uint256 internal constant KEY_B = 0xB0B;
    uint256 internal constant KEY_M = 0x3A11047;
    uint64 internal constant MEP = 1000;
    uint256 internal constant SE_BOND = 0.02 ether;
    uint256 internal constant IFE_BOND = 0.03 ether;
    uint256 internal constant PB_BOND = 0.01 ether;
    uint256 internal constant BOUNTY = 0.005 ether;

    PlasmaChain internal chain;

    function _deploy() internal {
        chain = new PlasmaChain(vm.addr(KEY_OP), MEP, SE_BOND, IFE_BOND, PB_BOND, BOUNTY);
    }

    function _out(address owner, address token, uint256 amount) internal pure returns (PlasmaTx.Output memory) {
        return PlasmaTx.Output(owner, token, amount);
    }

    function _tx1(uint256 input, PlasmaTx.Output memory o) internal pure returns (bytes memory) {
        PlasmaTx.Transaction memory t;
        t.inputs = new uint256[](1);
        t.inputs[0] = input;
        t.outputs = new PlasmaTx.Output[](1);
        t.outputs[0] = o;
        return abi.encode(t);
    }

    function _tx(uint256[] memory inputs, PlasmaTx.Output[] memory outputs) internal pure returns (bytes memory) {
        return abi.encode(PlasmaTx.Transaction(inputs, outputs));
    }

    function _sign(uint256 key, bytes memory txBytes) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, chain.txDigest(txBytes));
        return abi.encodePacked(r, s, v);
    }

    function _leaf(bytes memory txBytes, bytes memory sigs) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), keccak256(txBytes), keccak256(sigs)));
    }

    /// Root of a depth-16 tree over `leaves` (the rest zero), and the proof of leaf `index`.
    function _tree(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32, bytes32[] memory proof) {
        proof = new bytes32[](16);
        bytes32[] memory level = leaves;
        bytes32 zero;
        for (uint256 d = 0; d < 16; d++) {
            uint256 sib = index ^ 1;
            proof[d] = sib < level.length ? level[sib] : zero;
            bytes32[] memory up = new bytes32[]((level.length + 1) / 2);
            for (uint256 i = 0; i < up.length; i++) {
                bytes32 l = level[2 * i];
                bytes32 r = 2 * i + 1 < level.length ? level[2 * i + 1] : zero;
                up[i] = keccak256(abi.encodePacked(l, r));
            }
            if (up.length == 0) up = new bytes32[](1);
            level = up;
            index >>= 1;
            zero = keccak256(abi.encodePacked(zero, zero));
        }
        return (level[0], proof);
    }

    /// The operator submits a block of the given signed transactions; returns its number and
    /// the proof of each.
    function _submit(bytes[] memory txs, bytes[] memory sigs) internal returns (uint256 n, bytes32[][] memory proofs) {
        bytes32[] memory leaves = new bytes32[](txs.length);
        for (uint256 i = 0; i < txs.length; i++) {
            leaves[i] = _leaf(txs[i], sigs[i]);
        }
        proofs = new bytes32[][](txs.length);
        bytes32 root;
        for (uint256 i = 0; i < txs.length; i++) {
            (root, proofs[i]) = _tree(leaves, i);
        }
        n = chain.nextChildBlock();
        vm.prank(vm.addr(KEY_OP));
        chain.submitBlock(root);
    }

    function _submit1(bytes memory txBytes, bytes memory sigs) internal returns (uint256 pos, bytes32[] memory proof) {
        bytes[] memory txs = new bytes[](1);
        bytes[] memory ss = new bytes[](1);
        (txs[0], ss[0]) = (txBytes, sigs);
        (uint256 n, bytes32[][] memory proofs) = _submit(txs, ss);
        return (n * 1_000_000_000, proofs[0]);
    }

    /// Deposits `amount` wei for `who`; returns the deposit's output position, bytes and proof.
    function _depositETH(address who, uint256 amount) internal returns (uint256 pos, bytes memory txBytes, bytes32[] memory proof) {
        vm.deal(who, who.balance + amount);
        uint256 n = chain.nextChildBlock() - 1000 + chain.nextDepositOffset();
        vm.prank(who);
        chain.depositETH{value: amount}();
        txBytes = _tx(new uint256[](0), _outs1(_out(who, address(0), amount)));
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = _leaf(txBytes, "");
        (, proof) = _tree(leaves, 0);
        pos = n * 1_000_000_000;
    }

    struct Dep {
        uint256 pos;
        bytes txBytes;
        bytes32[] proof;
        address owner;
        uint256 amount;
    }

    function _dep(address who, uint256 amount) internal returns (Dep memory d) {
        (d.pos, d.txBytes, d.proof) = _depositETH(who, amount);
        (d.owner, d.amount) = (who, amount);
    }

    /// The in-flight exit's view of one input: a deposit.
    function _info(Dep memory d) internal pure returns (PlasmaChain.InputInfo[] memory info) {
        info = new PlasmaChain.InputInfo[](1);
        info[0] = PlasmaChain.InputInfo(
            d.pos, PlasmaTx.outputId(keccak256(d.txBytes), 0, d.pos), d.owner, address(0), d.amount
        );
    }

    function _ins(Dep memory d) internal pure returns (PlasmaChain.Inclusion[] memory ins) {
        ins = new PlasmaChain.Inclusion[](1);
        ins[0] = PlasmaChain.Inclusion(d.txBytes, "", d.proof);
    }

    function _outs1(PlasmaTx.Output memory o) internal pure returns (PlasmaTx.Output[] memory outs) {
        outs = new PlasmaTx.Output[](1);
        outs[0] = o;
    }

    function _none() internal pure returns (PlasmaChain.InputInfo[] memory) {
        return new PlasmaChain.InputInfo[](0);
    }
}
