// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {SidechainBridge} from "../../src/sidechain/SidechainBridge.sol";

/// Validators with known keys, signed checkpoints and withdrawal trees for the bridge's tests.
abstract contract SidechainHelper is Test {
    SidechainBridge internal bridge;
    uint256[] internal keys;
    /// Validator addresses, ascending, and their keys in the same order.
    address[] internal vals;
    uint256[] internal valKeys;

    function _makeValidators(uint256 n) internal {
        delete vals;
        delete valKeys;
        for (uint256 i = 0; i < n; i++) {
            uint256 k = uint256(keccak256(abi.encode("sidechain validator", i)));
            address a = vm.addr(k);
            // insertion by address
            vals.push(a);
            valKeys.push(k);
            for (uint256 j = vals.length - 1; j > 0 && vals[j - 1] > vals[j]; j--) {
                (vals[j - 1], vals[j]) = (vals[j], vals[j - 1]);
                (valKeys[j - 1], valKeys[j]) = (valKeys[j], valKeys[j - 1]);
            }
        }
    }

    function _deploy(uint256 n) internal {
        _makeValidators(n);
        uint256[] memory stakes = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            stakes[i] = 1 ether;
        }
        bridge = new SidechainBridge(777, 1 ether, vals, stakes);
    }

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// Signatures of the validators at `idx` (ascending indexes give ascending signers).
    function _sign(SidechainBridge.Checkpoint memory c, uint256[] memory idx) internal view returns (bytes memory out) {
        bytes32 d = bridge.checkpointDigest(c);
        for (uint256 i = 0; i < idx.length; i++) {
            out = bytes.concat(out, _sig(valKeys[idx[i]], d));
        }
    }

    function _first(uint256 k) internal pure returns (uint256[] memory idx) {
        idx = new uint256[](k);
        for (uint256 i = 0; i < k; i++) {
            idx[i] = i;
        }
    }

    function _checkpoint(bytes32 root, uint64 blocks) internal view returns (SidechainBridge.Checkpoint memory c) {
        uint64 start = bridge.lastEndBlock() + 1;
        c = SidechainBridge.Checkpoint(bridge.checkpointCount(), start, start + blocks - 1, keccak256("b"), keccak256("s"), root);
    }

    function _leaf(SidechainBridge.Withdrawal memory w) internal pure returns (bytes32) {
        return keccak256(abi.encode(w.nonce, w.recipient, w.token, w.amount));
    }

    /// Root of the depth-20 tree over `leaves` (empty leaves zero) and the proof of leaf `index`.
    function _tree(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32 root, bytes32[] memory proof) {
        proof = new bytes32[](20);
        bytes32[] memory level = leaves;
        bytes32 zero;
        for (uint256 d = 0; d < 20; d++) {
            uint256 sib = index ^ 1;
            proof[d] = sib < level.length ? level[sib] : zero;
            bytes32[] memory up = new bytes32[]((level.length + 1) / 2);
            for (uint256 i = 0; i < up.length; i++) {
                bytes32 r = 2 * i + 1 < level.length ? level[2 * i + 1] : zero;
                up[i] = keccak256(abi.encodePacked(level[2 * i], r));
            }
            if (up.length == 0) {
                up = new bytes32[](1);
                up[0] = keccak256(abi.encodePacked(zero, zero));
            }
            level = up;
            zero = keccak256(abi.encodePacked(zero, zero));
            index >>= 1;
        }
        root = level[0];
    }
}
