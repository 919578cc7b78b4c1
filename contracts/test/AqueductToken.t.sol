// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {AqueductToken} from "../src/AqueductToken.sol";

contract AqueductTokenTest is Test {
    AqueductToken internal token;
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    uint256 internal constant SUPPLY = 1_000_000e18;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    function setUp() public {
        token = new AqueductToken("Aqueduct Token", "AQT", 18, SUPPLY);
    }

    function test_metadataAndSupply() public view {
        assertEq(token.decimals(), 18, "decimals");
        assertEq(token.totalSupply(), SUPPLY, "supply");
        assertEq(token.balanceOf(address(this)), SUPPLY, "deployer balance");
        assertEq(token.minter(), address(this), "minter");
        assertTrue(keccak256(bytes(token.symbol())) == keccak256("AQT"), "symbol");
    }

    function test_transferMovesBalanceAndEmits() public {
        vm.expectEmit(true, true, false, true);
        emit Transfer(address(this), alice, 100);
        assertTrue(token.transfer(alice, 100), "returns true");
        assertEq(token.balanceOf(alice), 100, "alice");
        assertEq(token.balanceOf(address(this)), SUPPLY - 100, "sender");
    }

    function test_transferMoreThanBalanceReverts() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AqueductToken.ERC20InsufficientBalance.selector, alice, 0, 1));
        token.transfer(bob, 1);
    }

    function test_transferToZeroReverts() public {
        vm.expectRevert(abi.encodeWithSelector(AqueductToken.ERC20InvalidReceiver.selector, address(0)));
        token.transfer(address(0), 1);
    }

    function test_approveAndTransferFrom() public {
        vm.expectEmit(true, true, false, true);
        emit Approval(address(this), alice, 50);
        token.approve(alice, 50);
        vm.prank(alice);
        token.transferFrom(address(this), bob, 30);
        assertEq(token.balanceOf(bob), 30, "bob");
        assertEq(token.allowance(address(this), alice), 20, "allowance left");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AqueductToken.ERC20InsufficientAllowance.selector, alice, 20, 21));
        token.transferFrom(address(this), bob, 21);
    }

    function test_infiniteAllowanceIsNotDecreased() public {
        token.approve(alice, type(uint256).max);
        vm.prank(alice);
        token.transferFrom(address(this), bob, 7);
        assertEq(token.allowance(address(this), alice), type(uint256).max, "allowance");
    }

    function test_onlyMinterMints() public {
        token.mint(alice, 5);
        assertEq(token.totalSupply(), SUPPLY + 5, "supply");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AqueductToken.NotMinter.selector, alice));
        token.mint(alice, 5);
        token.setMinter(alice);
        vm.prank(alice);
        token.mint(bob, 1);
        assertEq(token.balanceOf(bob), 1, "bob minted");
    }

    function test_burn() public {
        token.burn(10);
        assertEq(token.totalSupply(), SUPPLY - 10, "supply");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AqueductToken.ERC20InsufficientBalance.selector, alice, 0, 1));
        token.burn(1);
    }

    /// Transfers conserve the total and move exactly `amount`.
    function testFuzz_transferConserves(address to, uint256 amount) public {
        vm.assume(to != address(0) && to != address(this));
        amount = bound(amount, 0, SUPPLY);
        token.transfer(to, amount);
        assertEq(token.balanceOf(to), amount, "receiver");
        assertEq(token.balanceOf(address(this)) + token.balanceOf(to), SUPPLY, "conserved");
    }

    /// transferFrom never moves more than the allowance and always spends it exactly.
    function testFuzz_transferFromSpendsAllowance(uint256 allowed, uint256 amount) public {
        allowed = bound(allowed, 0, SUPPLY);
        amount = bound(amount, 0, SUPPLY);
        token.approve(alice, allowed);
        vm.prank(alice);
        if (amount > allowed) {
            vm.expectRevert(
                abi.encodeWithSelector(AqueductToken.ERC20InsufficientAllowance.selector, alice, allowed, amount)
            );
            token.transferFrom(address(this), bob, amount);
        } else {
            token.transferFrom(address(this), bob, amount);
            assertEq(token.balanceOf(bob), amount, "bob");
            assertEq(token.allowance(address(this), alice), allowed - amount, "allowance");
        }
    }

    /// Mint and burn keep totalSupply equal to the sum of the balances involved.
    function testFuzz_mintBurnSupply(uint128 minted, uint128 burned) public {
        token.mint(alice, minted);
        uint256 b = bound(burned, 0, minted);
        vm.prank(alice);
        token.burn(b);
        assertEq(token.totalSupply(), SUPPLY + minted - b, "supply");
        assertEq(token.balanceOf(alice), uint256(minted) - b, "alice");
    }
}
