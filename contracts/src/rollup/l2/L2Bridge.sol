// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RollupLib} from "../RollupLib.sol";
import {AqueductToken} from "../../AqueductToken.sol";
import {L2ToL1MessagePasser} from "./L2ToL1MessagePasser.sol";

/// @title L2Bridge
/// @notice L2 predeploy minting the L2 twin of each L1 token deposited through the portal, and
/// burning it on the way out (the withdrawal it sends makes the portal release the L1 tokens).
/// @dev Predeployed with storage slot 0 = the L1 portal's address (set in the L2 genesis).
contract L2Bridge {
    /// @notice The L1 portal; deposits come from its alias and withdrawals go to it.
    address public portal;
    mapping(address => address) public l2TokenOf;
    mapping(address => address) public l1TokenOf;

    event DepositFinalized(address indexed l1Token, address indexed from, address indexed to, uint256 amount);
    event WithdrawalInitiated(address indexed l1Token, address indexed from, address indexed to, uint256 amount);
    event TokenCreated(address indexed l1Token, address l2Token);

    error NotPortal(address caller);
    error UnknownToken(address l2Token);
    error ZeroAmount();

    /// @notice Credits `amount` of `l1Token`'s twin to `to`. Only deposits from the portal.
    function finalizeDeposit(address l1Token, address from, address to, uint256 amount) external {
        if (msg.sender != RollupLib.applyAlias(portal)) revert NotPortal(msg.sender);
        address l2Token = l2TokenOf[l1Token];
        if (l2Token == address(0)) {
            l2Token = address(new AqueductToken{salt: bytes32(uint256(uint160(l1Token)))}("Aqueduct bridged", "aqB", 18, 0));
            l2TokenOf[l1Token] = l2Token;
            l1TokenOf[l2Token] = l1Token;
            emit TokenCreated(l1Token, l2Token);
        }
        AqueductToken(l2Token).mint(to, amount);
        emit DepositFinalized(l1Token, from, to, amount);
    }

    /// @notice Burns `amount` of the caller's `l2Token` and sends a withdrawal releasing the L1
    /// tokens to `to` once proven and past the challenge window.
    function withdraw(address l2Token, address to, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        address l1Token = l1TokenOf[l2Token];
        if (l1Token == address(0)) revert UnknownToken(l2Token);
        AqueductToken(l2Token).burnFrom(msg.sender, amount);
        L2ToL1MessagePasser(RollupLib.MESSAGE_PASSER).initiateWithdrawal(portal, 0, abi.encode(l1Token, to, amount));
        emit WithdrawalInitiated(l1Token, msg.sender, to, amount);
    }
}
