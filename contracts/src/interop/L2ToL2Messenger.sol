// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CrossL2Inbox, Identifier} from "./CrossL2Inbox.sol";

/// @title L2ToL2Messenger
/// @notice L2 predeploy (the same address on every rollup) that sends a call to another rollup and
/// relays calls sent to this one (after OP Stack's L2ToL2CrossDomainMessenger). Sending emits
/// `SentMessage`; relaying consumes that log through the `CrossL2Inbox`, which the rollup's nodes
/// check against the source rollup as derived from L1. Each message runs at most once; a target
/// that reverts leaves the message relayable again.
contract L2ToL2Messenger {
    CrossL2Inbox public constant INBOX = CrossL2Inbox(0x4200000000000000000000000000000000000022);

    /// @notice Messages sent from here so far (the next message's nonce).
    uint256 public messageNonce;
    /// @notice Messages relayed here, by hash.
    mapping(bytes32 => bool) public successfulMessages;

    event SentMessage(
        uint256 indexed destination, address indexed target, uint256 indexed messageNonce, address sender, bytes message
    );
    event RelayedMessage(uint256 indexed source, uint256 indexed messageNonce, bytes32 indexed messageHash);

    error MessageDestinationSameChain();
    error MessageTargetInbox();
    error IdOriginNotMessenger();
    error EventPayloadNotSentMessage();
    error MessageDestinationNotRelayChain();
    error MessageAlreadyRelayed(bytes32 messageHash);
    error TargetCallFailed(bytes returnData);
    error NotEntered();

    /// @dev Transient: the sender and source chain of the message being relayed.
    bytes32 internal constant SENDER_SLOT = keccak256("aqueduct.messenger.sender");
    bytes32 internal constant SOURCE_SLOT = keccak256("aqueduct.messenger.source");

    /// @notice Sends `message` as a call to `target` on rollup `destination`.
    function sendMessage(uint256 destination, address target, bytes calldata message) external returns (bytes32) {
        if (destination == block.chainid) revert MessageDestinationSameChain();
        if (target == address(INBOX) || target == address(this)) revert MessageTargetInbox();
        uint256 nonce = messageNonce++;
        emit SentMessage(destination, target, nonce, msg.sender, message);
        return hashMessage(destination, block.chainid, nonce, msg.sender, target, message);
    }

    /// @dev A `SentMessage` log's fields.
    struct Message {
        uint256 destination;
        address target;
        uint256 nonce;
        address sender;
        bytes message;
    }

    /// @notice Runs the message a `SentMessage` log of another rollup carries. `sentMessage` is the
    /// log's topics followed by its data.
    function relayMessage(Identifier calldata id, bytes calldata sentMessage) external returns (bytes memory) {
        if (id.origin != address(this)) revert IdOriginNotMessenger();
        INBOX.validateMessage(id, keccak256(sentMessage));
        Message memory m = decode(sentMessage);
        if (m.destination != block.chainid) revert MessageDestinationNotRelayChain();
        bytes32 h = hashMessage(m.destination, id.chainId, m.nonce, m.sender, m.target, m.message);
        if (successfulMessages[h]) revert MessageAlreadyRelayed(h);
        successfulMessages[h] = true;
        setContext(m.sender, id.chainId);
        (bool ok, bytes memory ret) = m.target.call(m.message);
        setContext(address(0), 0);
        if (!ok) revert TargetCallFailed(ret);
        emit RelayedMessage(id.chainId, m.nonce, h);
        return ret;
    }

    function decode(bytes calldata sentMessage) internal pure returns (Message memory m) {
        if (sentMessage.length < 128 || bytes32(sentMessage[:32]) != SentMessage.selector) {
            revert EventPayloadNotSentMessage();
        }
        (m.destination, m.target, m.nonce) = abi.decode(sentMessage[32:128], (uint256, address, uint256));
        (m.sender, m.message) = abi.decode(sentMessage[128:], (address, bytes));
    }

    function setContext(address sender, uint256 source) internal {
        bytes32 senderSlot = SENDER_SLOT;
        bytes32 sourceSlot = SOURCE_SLOT;
        assembly {
            tstore(senderSlot, sender)
            tstore(sourceSlot, source)
        }
    }

    /// @notice The sender and source rollup of the message being relayed (only during its call).
    function crossDomainMessageContext() external view returns (address sender, uint256 source) {
        bytes32 senderSlot = SENDER_SLOT;
        bytes32 sourceSlot = SOURCE_SLOT;
        assembly {
            sender := tload(senderSlot)
            source := tload(sourceSlot)
        }
        if (source == 0) revert NotEntered();
    }

    function hashMessage(
        uint256 destination,
        uint256 source,
        uint256 nonce,
        address sender,
        address target,
        bytes memory message
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(destination, source, nonce, sender, target, message));
    }
}
