// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test, Vm} from "../utils/Test.sol";
import {CrossL2Inbox, Identifier} from "../../src/interop/CrossL2Inbox.sol";
import {L2ToL2Messenger} from "../../src/interop/L2ToL2Messenger.sol";

/// Accepts every message, standing in for the nodes' check (which the Rust end-to-end tests run).
contract AcceptingInbox {
    uint256 public validated;

    function validateMessage(Identifier calldata, bytes32) external {
        validated++;
    }
}

/// A target that records who called it through the messenger.
contract Board {
    L2ToL2Messenger internal constant MESSENGER = L2ToL2Messenger(0x4200000000000000000000000000000000000023);
    address public lastSender;
    uint256 public lastSource;
    uint256 public posts;
    bool public failing;

    function post(string calldata) external {
        require(!failing, "failing");
        require(msg.sender == address(MESSENGER), "not the messenger");
        (lastSender, lastSource) = MESSENGER.crossDomainMessageContext();
        posts++;
    }

    function setFailing(bool f) external {
        failing = f;
    }
}

contract L2ToL2MessengerTest is Test {
    address internal constant INBOX = 0x4200000000000000000000000000000000000022;
    L2ToL2Messenger internal messenger = L2ToL2Messenger(0x4200000000000000000000000000000000000023);
    Board internal board;
    address internal constant ALICE = address(0xA11CE);

    function setUp() public {
        vm.etch(address(messenger), address(new L2ToL2Messenger()).code);
        vm.etch(INBOX, address(new AcceptingInbox()).code);
        board = new Board();
    }

    /// Sends on "chain 901" and returns the identifier and payload of the log it emitted.
    function send(uint256 destination, bytes memory message) internal returns (Identifier memory id, bytes memory payload) {
        vm.chainId(901);
        vm.recordLogs();
        vm.prank(ALICE);
        messenger.sendMessage(destination, address(board), message);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "one log");
        Vm.Log memory l = logs[0];
        payload = abi.encodePacked(l.topics[0], l.topics[1], l.topics[2], l.topics[3], l.data);
        id = Identifier(l.emitter, block.number, 0, block.timestamp, 901);
        vm.chainId(902);
    }

    function test_message_runs_once_with_its_context() public {
        (Identifier memory id, bytes memory payload) = send(902, abi.encodeCall(Board.post, ("hello")));
        messenger.relayMessage(id, payload);
        assertEq(board.posts(), 1, "posts");
        assertEq(board.lastSender(), ALICE, "sender");
        assertEq(board.lastSource(), 901, "source");
        vm.expectRevert();
        messenger.relayMessage(id, payload);
        assertEq(board.posts(), 1, "posts");
        // The context exists only during the call.
        vm.expectRevert(L2ToL2Messenger.NotEntered.selector);
        messenger.crossDomainMessageContext();
    }

    function test_refusals() public {
        vm.chainId(901);
        vm.expectRevert(L2ToL2Messenger.MessageDestinationSameChain.selector);
        messenger.sendMessage(901, address(board), "");
        vm.expectRevert(L2ToL2Messenger.MessageTargetInbox.selector);
        messenger.sendMessage(902, INBOX, "");
        (Identifier memory id, bytes memory payload) = send(903, abi.encodeCall(Board.post, ("x")));
        vm.expectRevert(L2ToL2Messenger.MessageDestinationNotRelayChain.selector);
        messenger.relayMessage(id, payload);
        id.origin = address(board);
        vm.expectRevert(L2ToL2Messenger.IdOriginNotMessenger.selector);
        messenger.relayMessage(id, payload);
        id.origin = address(messenger);
        payload[0] = 0x00;
        vm.expectRevert(L2ToL2Messenger.EventPayloadNotSentMessage.selector);
        messenger.relayMessage(id, payload);
    }

    function test_a_failed_target_can_be_relayed_again() public {
        (Identifier memory id, bytes memory payload) = send(902, abi.encodeCall(Board.post, ("later")));
        board.setFailing(true);
        vm.expectRevert();
        messenger.relayMessage(id, payload);
        board.setFailing(false);
        messenger.relayMessage(id, payload);
        assertEq(board.posts(), 1, "posts");
    }

    /// Without the access-list declaration the slot is cold: the real inbox refuses.
    function test_inbox_refuses_an_undeclared_message() public {
        vm.etch(INBOX, address(new CrossL2Inbox()).code);
        (Identifier memory id, bytes memory payload) = send(902, abi.encodeCall(Board.post, ("x")));
        bytes32 key = CrossL2Inbox(INBOX).checksumKey(id, keccak256(payload));
        assertEq(uint256(uint8(key[0])), 3, "key type");
        vm.expectRevert(abi.encodeWithSelector(CrossL2Inbox.NotDeclared.selector, key));
        messenger.relayMessage(id, payload);
        id.logIndex = uint256(type(uint32).max) + 1;
        vm.expectRevert(CrossL2Inbox.IdentifierOutOfRange.selector);
        messenger.relayMessage(id, payload);
    }

    function testFuzz_hash_binds_every_field(uint256 nonce, address sender, bytes calldata message) public view {
        bytes32 h = messenger.hashMessage(902, 901, nonce, sender, address(board), message);
        assertTrue(h != messenger.hashMessage(902, 901, nonce ^ 1, sender, address(board), message), "nonce");
        assertTrue(h != messenger.hashMessage(902, 903, nonce, sender, address(board), message), "source");
    }
}
