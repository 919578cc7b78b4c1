// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {AqueductToken} from "../AqueductToken.sol";

/// @title ChildBridge
/// @notice The sidechain side of the lock/mint bridge, in the sidechain's genesis at
///         `0x5100…0001`: the validators mint what was locked on L1 (a deposit transaction from
///         `SYSTEM`, one per L1 deposit, in L1 order), and users burn here to withdraw on L1.
/// @dev Each L1 token gets one child token (an AqueductToken minted by this bridge), created on
///      its first deposit at a CREATE2 address salted by the L1 token. Withdrawals are numbered;
///      the validators put every `WithdrawalInitiated` of a checkpoint's blocks, in order, into
///      its withdrawals tree (leaf = keccak256(abi.encode(nonce, recipient, l1Token, amount))).
contract ChildBridge {
    /// Sender of the validators' deposit transactions (no key exists for it).
    address public constant SYSTEM = 0x51000000000000000000000000000000000000FF;

    uint64 public depositsDone;
    uint64 public withdrawalCount;
    mapping(address => address) public childOf;
    mapping(address => address) public rootOf;
    /// ETH a recipient refused on deposit, to take with `claim`.
    mapping(address => uint256) public owed;

    event DepositFinalized(
        uint64 indexed nonce, address indexed recipient, address l1Token, address childToken, uint256 amount
    );
    event WithdrawalInitiated(
        uint64 indexed nonce, address indexed from, address indexed recipient, address l1Token, uint256 amount
    );

    error NotSystem(address caller);
    error WrongDepositNonce(uint64 expected, uint64 given);
    error ZeroAmount();
    error UnknownChildToken(address token);
    error TransferFailed();

    /// @notice Mints L1 deposit `nonce`: ETH arrives as `msg.value`, an ERC-20 as its child token.
    function finalizeDeposit(uint64 nonce, address l1Token, address recipient, uint256 amount) external payable {
        if (msg.sender != SYSTEM) revert NotSystem(msg.sender);
        if (nonce != depositsDone) revert WrongDepositNonce(depositsDone, nonce);
        depositsDone = nonce + 1;
        address child;
        if (l1Token == address(0)) {
            (bool ok,) = recipient.call{value: msg.value, gas: 50_000}("");
            if (!ok) owed[recipient] += msg.value;
        } else {
            child = childOf[l1Token];
            if (child == address(0)) {
                child = address(
                    new AqueductToken{salt: bytes32(uint256(uint160(l1Token)))}("Aqueduct Sidechain Token", "sETH20", 18, 0)
                );
                childOf[l1Token] = child;
                rootOf[child] = l1Token;
            }
            AqueductToken(child).mint(recipient, amount);
        }
        emit DepositFinalized(nonce, recipient, l1Token, child, amount);
    }

    /// @notice Burns `msg.value` ETH here, to be paid to `recipient` on L1 after a checkpoint.
    function withdraw(address recipient) external payable {
        if (msg.value == 0) revert ZeroAmount();
        _initiate(recipient, address(0), msg.value);
    }

    /// @notice Burns `amount` of child token `token` to be paid as its L1 token to `recipient`.
    function withdrawToken(address token, address recipient, uint256 amount) external {
        address l1Token = rootOf[token];
        if (l1Token == address(0)) revert UnknownChildToken(token);
        if (amount == 0) revert ZeroAmount();
        AqueductToken(token).burnFrom(msg.sender, amount);
        _initiate(recipient, l1Token, amount);
    }

    function _initiate(address recipient, address l1Token, uint256 amount) internal {
        uint64 nonce = withdrawalCount;
        withdrawalCount = nonce + 1;
        emit WithdrawalInitiated(nonce, msg.sender, recipient, l1Token, amount);
    }

    /// @notice Takes ETH a deposit could not hand over.
    function claim() external {
        uint256 amount = owed[msg.sender];
        owed[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
