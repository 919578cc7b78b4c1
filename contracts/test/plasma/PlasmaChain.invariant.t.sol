// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PlasmaHelper} from "./PlasmaHelper.sol";
import {PlasmaChain} from "../../src/plasma/PlasmaChain.sol";

/// Drives the plasma chain every way a user, an operator (honest or not) and a challenger can:
/// deposits, payments included with valid or forged signatures, in-flight payments, standard
/// and in-flight exits with piggybacks, every challenge, time jumps and processing.
contract PlasmaHandler is PlasmaHelper {
    struct Utxo {
        uint256 pos;
        bytes txBytes;
        bytes sigs;
        bytes32[] proof;
        uint256 key;
        uint256 amount;
        bool deposit;
    }

    Utxo[] internal utxos;
    /// A signed spend of utxo i (included or in flight), for challenges.
    mapping(uint256 => bytes) internal spendTx;
    mapping(uint256 => bytes) internal spendSig;
    uint256[] internal exits;
    uint256[] internal ifes;
    uint256[3] internal keys = [KEY_A, KEY_B, KEY_M];

    constructor(PlasmaChain c) {
        chain = c;
        vm.warp(1_000_000);
    }

    function deposit(uint256 who, uint96 amount) external {
        amount = uint96(bound(amount, 1, 50 ether));
        uint256 key = keys[who % 3];
        (uint256 pos, bytes memory txBytes, bytes32[] memory proof) = _depositETH(vm.addr(key), amount);
        utxos.push(Utxo(pos, txBytes, "", proof, key, amount, true));
    }

    /// The operator includes a payment of utxo `i` to `to`, signed by its owner or forged by
    /// Mallory; or the owner signs one that stays in flight.
    function pay(uint256 i, uint256 to, uint256 mode) external {
        if (utxos.length == 0) return;
        i %= utxos.length;
        Utxo memory u = utxos[i];
        uint256 toKey = keys[to % 3];
        bytes memory t = _tx1(u.pos, _out(vm.addr(toKey), address(0), u.amount));
        bytes memory sig = _sign(mode % 3 == 2 ? KEY_M : u.key, t);
        if (mode % 3 != 2) (spendTx[i], spendSig[i]) = (t, sig);
        if (mode % 3 == 1) return; // in flight
        (uint256 pos, bytes32[] memory proof) = _submit1(t, sig);
        utxos.push(Utxo(pos, t, sig, proof, toKey, u.amount, false));
    }

    function exit(uint256 i) external {
        if (utxos.length == 0) return;
        Utxo memory u = utxos[i % utxos.length];
        address owner = vm.addr(u.key);
        vm.deal(owner, owner.balance + SE_BOND);
        vm.prank(owner);
        try chain.startStandardExit{value: SE_BOND}(u.pos, u.txBytes, u.sigs, u.proof) returns (uint256 id) {
            exits.push(id);
        } catch {}
    }

    function inFlightExit(uint256 i) external {
        if (utxos.length == 0) return;
        i %= utxos.length;
        if (spendTx[i].length == 0) return;
        Utxo memory u = utxos[i];
        PlasmaChain.Inclusion[] memory ins = new PlasmaChain.Inclusion[](1);
        ins[0] = PlasmaChain.Inclusion(u.txBytes, u.sigs, u.proof);
        address starter = vm.addr(u.key);
        vm.deal(starter, starter.balance + IFE_BOND + 2 * PB_BOND);
        vm.prank(starter);
        try chain.startInFlightExit{value: IFE_BOND}(spendTx[i], spendSig[i], ins) returns (uint256 id) {
            ifes.push(id);
            // The input's owner piggybacks the input; the recipient (any key) the output.
            PlasmaChain.InputInfo[] memory info = new PlasmaChain.InputInfo[](1);
            info[0] = PlasmaChain.InputInfo(u.pos, _outputIdOf(u), starter, address(0), u.amount);
            vm.prank(starter);
            try chain.piggybackInput{value: PB_BOND}(id, 0, info) {} catch {}
            for (uint256 k = 0; k < 3; k++) {
                address who = vm.addr(keys[k]);
                vm.deal(who, who.balance + PB_BOND);
                vm.prank(who);
                try chain.piggybackOutput{value: PB_BOND}(id, 0, spendTx[i]) {} catch {}
            }
        } catch {}
    }

    function _outputIdOf(Utxo memory u) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(u.txBytes), u.pos % 10_000, u.deposit ? u.pos : 0));
    }

    function challenge(uint256 e, uint256 i) external {
        if (exits.length == 0 || utxos.length == 0) return;
        uint256 id = exits[e % exits.length];
        i %= utxos.length;
        if (spendTx[i].length == 0) return;
        try chain.challengeStandardExit(id, spendTx[i], spendSig[i], 0) {} catch {}
    }

    function challengeInvalid(uint256 e, uint256 i) external {
        if (exits.length == 0 || utxos.length == 0) return;
        uint256 id = exits[e % exits.length];
        Utxo memory u = utxos[i % utxos.length];
        PlasmaChain.StandardExit memory x = chain.getStandardExit(id);
        for (uint256 k = 0; k < utxos.length; k++) {
            Utxo memory v = utxos[k];
            if (v.pos != x.position) continue;
            try chain.challengeInvalidSpend(
                id, PlasmaChain.Spend(v.txBytes, v.sigs, 0), PlasmaChain.Inclusion(u.txBytes, u.sigs, u.proof)
            ) {} catch {}
            return;
        }
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 3 * MEP));
    }

    function process(uint256 n) external {
        chain.processExits(address(0), bound(n, 1, 8));
    }
}

contract PlasmaChainInvariantTest is PlasmaHelper {
    PlasmaHandler handler;

    function setUp() public {
        _deploy();
        handler = new PlasmaHandler(chain);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// No payout beyond deposits, whatever the operator and the users do.
    function invariant_never_pays_out_more_than_was_deposited() public view {
        assertTrue(chain.paidOut(address(0)) <= chain.deposited(address(0)), "paid beyond deposits");
        assertEq(chain.deposited(address(0)) - chain.paidOut(address(0)), chain.funds(address(0)), "funds ledger");
        assertTrue(address(chain).balance >= chain.funds(address(0)), "the deposits are held");
    }
}
