// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BridgeLib} from "./BridgeLib.sol";
import {RollupLib} from "../rollup/RollupLib.sol";
import {L2ToL1MessagePasser} from "../rollup/l2/L2ToL1MessagePasser.sol";

interface IHubPool {
    function receiveDeposits(uint64 count, bytes32 depositRoot) external payable;
}

/// @title SpokePool
/// @notice The fast bridge's origin side, on the optimistic rollup (L2). A deposit locks ETH here
/// with the amount the recipient gets on the destination and a fill deadline; relayers fill it
/// there from their own funds within seconds. Every deposit's `relayHash` is a leaf of an
/// append-only Merkle tree (index = deposit id). `bridgeDeposits` sends the locked ETH and the
/// tree's root to the hub on L1 through the rollup's canonical bridge; once that withdrawal is
/// past the challenge window, the hub repays relayers from it.
contract SpokePool {
    /// @notice Gas the portal gives the hub's `receiveDeposits` on L1.
    uint256 public constant DELIVERY_GAS = 200_000;

    /// @notice The hub on L1 (the only destination so far) and L1's chain id.
    address public immutable hub;
    uint64 public immutable hubChainId;
    /// @notice The latest fill deadline a deposit may ask for, in seconds from now: a bundle covers
    /// deposits in order, so one deposit with a far deadline would hold back every refund after it.
    uint32 public immutable maxFillWindow;

    /// @notice Deposits so far; the next deposit's id.
    uint64 public depositCount;
    /// @notice Deposits whose ETH has been sent to the hub, and that ETH's amount not yet sent.
    uint64 public bridgedCount;
    uint256 public pendingValue;
    bytes32[32] internal frontier;

    event FundsDeposited(uint64 indexed depositId, bytes32 indexed relayHash, BridgeLib.RelayData relay);
    event DepositsBridged(uint64 count, bytes32 depositRoot, uint256 value);

    error ZeroAmount();
    error OutputAboveInput(uint256 output, uint256 input);
    error UnsupportedDestination(uint64 chainId);
    error BadDeadline(uint32 fillDeadline, uint32 latest);
    error BadExclusivity(uint32 exclusivityDeadline, uint32 fillDeadline);
    error NothingToBridge();
    error TreeFull();

    constructor(address hub_, uint64 hubChainId_, uint32 maxFillWindow_) {
        hub = hub_;
        hubChainId = hubChainId_;
        maxFillWindow = maxFillWindow_;
    }

    /// @notice Locks `msg.value` for `recipient`, who gets `outputAmount` on `destinationChainId`
    /// from the first relayer to fill before `fillDeadline` (only `exclusiveRelayer` until
    /// `exclusivityDeadline`, when set). The difference is the relayers' fee.
    function deposit(
        address recipient,
        uint256 outputAmount,
        uint64 destinationChainId,
        address exclusiveRelayer,
        uint32 fillDeadline,
        uint32 exclusivityDeadline
    ) external payable returns (uint64 depositId) {
        if (msg.value == 0 || outputAmount == 0) revert ZeroAmount();
        if (outputAmount > msg.value) revert OutputAboveInput(outputAmount, msg.value);
        if (destinationChainId != hubChainId) revert UnsupportedDestination(destinationChainId);
        uint32 latest = uint32(block.timestamp) + maxFillWindow;
        if (fillDeadline <= block.timestamp || fillDeadline > latest) revert BadDeadline(fillDeadline, latest);
        if (exclusivityDeadline > fillDeadline) revert BadExclusivity(exclusivityDeadline, fillDeadline);
        depositId = depositCount;
        if (depositId >= (uint256(1) << BridgeLib.DEPOSIT_TREE_DEPTH) - 1) revert TreeFull();
        BridgeLib.RelayData memory d = BridgeLib.RelayData({
            depositor: msg.sender,
            recipient: recipient,
            exclusiveRelayer: exclusiveRelayer,
            inputAmount: msg.value,
            outputAmount: outputAmount,
            originChainId: uint64(block.chainid),
            destinationChainId: destinationChainId,
            depositId: depositId,
            fillDeadline: fillDeadline,
            exclusivityDeadline: exclusivityDeadline
        });
        bytes32 h = BridgeLib.relayHash(d);
        _insert(h, depositId);
        depositCount = depositId + 1;
        pendingValue += msg.value;
        emit FundsDeposited(depositId, h, d);
    }

    /// @notice Sends every deposit's ETH not yet sent, and the deposit tree's root, to the hub on
    /// L1 as one withdrawal (anyone may call; relayers do, to be repaid).
    function bridgeDeposits() external {
        uint64 count = depositCount;
        if (count == bridgedCount) revert NothingToBridge();
        uint256 value = pendingValue;
        bytes32 r = depositRoot();
        bridgedCount = count;
        pendingValue = 0;
        L2ToL1MessagePasser(RollupLib.MESSAGE_PASSER).initiateWithdrawal{value: value}(
            hub, DELIVERY_GAS, abi.encodeCall(IHubPool.receiveDeposits, (count, r))
        );
        emit DepositsBridged(count, r, value);
    }

    /// @notice Root of the deposit tree (empty leaves are zero; empty subtrees hash up from zeros),
    /// as `RollupLib.merkleRoot` checks a leaf against it.
    function depositRoot() public view returns (bytes32 node) {
        bytes32 zero;
        uint256 size = depositCount;
        for (uint256 i = 0; i < BridgeLib.DEPOSIT_TREE_DEPTH; i++) {
            if ((size >> i) & 1 == 1) {
                node = keccak256(abi.encodePacked(frontier[i], node));
            } else {
                node = keccak256(abi.encodePacked(node, zero));
            }
            zero = keccak256(abi.encodePacked(zero, zero));
        }
    }

    /// @dev Appends leaf `h` at `index`: climb while it is a right child, folding stored left siblings.
    function _insert(bytes32 h, uint256 index) internal {
        bytes32 node = h;
        uint256 size = index + 1;
        for (uint256 i = 0; i < BridgeLib.DEPOSIT_TREE_DEPTH; i++) {
            if (size & 1 == 1) {
                frontier[i] = node;
                return;
            }
            node = keccak256(abi.encodePacked(frontier[i], node));
            size >>= 1;
        }
    }
}
