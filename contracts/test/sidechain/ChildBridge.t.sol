// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {ChildBridge} from "../../src/sidechain/ChildBridge.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";

contract Refuser {
    receive() external payable {
        revert("no");
    }
}

contract ChildBridgeTest is Test {
    ChildBridge internal b;
    address internal constant SYSTEM = 0x51000000000000000000000000000000000000FF;
    address internal alice = address(0xA11CE);
    address internal l1Token = address(0x70C3);

    function setUp() public {
        b = new ChildBridge();
        vm.deal(SYSTEM, 100 ether);
    }

    function test_depositsMintInOrderOnlyFromSystem() public {
        vm.prank(SYSTEM);
        b.finalizeDeposit{value: 10 ether}(0, address(0), alice, 10 ether);
        assertEq(alice.balance, 10 ether, "eth arrives");
        vm.prank(SYSTEM);
        b.finalizeDeposit(1, l1Token, alice, 5 ether);
        AqueductToken child = AqueductToken(b.childOf(l1Token));
        assertEq(child.balanceOf(alice), 5 ether, "token minted");
        assertEq(b.rootOf(address(child)), l1Token, "root known");
        vm.prank(SYSTEM);
        vm.expectRevert(abi.encodeWithSelector(ChildBridge.WrongDepositNonce.selector, 2, 5));
        b.finalizeDeposit(5, l1Token, alice, 1);
        vm.expectRevert(abi.encodeWithSelector(ChildBridge.NotSystem.selector, address(this)));
        b.finalizeDeposit(2, l1Token, alice, 1);
        // A recipient that refuses ETH is owed it.
        Refuser r = new Refuser();
        vm.prank(SYSTEM);
        b.finalizeDeposit{value: 1 ether}(2, address(0), address(r), 1 ether);
        assertEq(b.owed(address(r)), 1 ether, "owed");
    }

    function test_withdrawalsBurnAndAreNumbered() public {
        vm.startPrank(SYSTEM);
        b.finalizeDeposit{value: 3 ether}(0, address(0), alice, 3 ether);
        b.finalizeDeposit(1, l1Token, alice, 5 ether);
        vm.stopPrank();
        AqueductToken child = AqueductToken(b.childOf(l1Token));
        vm.prank(alice);
        b.withdraw{value: 2 ether}(alice);
        vm.prank(alice);
        b.withdrawToken(address(child), alice, 4 ether);
        assertEq(uint256(b.withdrawalCount()), 2, "two withdrawals");
        assertEq(child.balanceOf(alice), 1 ether, "burned");
        assertEq(child.totalSupply(), 1 ether, "supply");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AqueductToken.ERC20InsufficientBalance.selector, alice, 1 ether, 2 ether));
        b.withdrawToken(address(child), alice, 2 ether);
        vm.expectRevert(abi.encodeWithSelector(ChildBridge.UnknownChildToken.selector, l1Token));
        b.withdrawToken(l1Token, alice, 1);
        vm.expectRevert(ChildBridge.ZeroAmount.selector);
        b.withdraw(alice);
    }
}
