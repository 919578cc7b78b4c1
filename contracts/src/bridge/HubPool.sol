// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BridgeLib} from "./BridgeLib.sol";
import {RollupLib} from "../rollup/RollupLib.sol";

interface IPortal {
    function l2Sender() external view returns (address);
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes calldata data)
        external
        payable;
}

/// @title HubPool
/// @notice The fast bridge on L1 (after Across v3's HubPool and a destination SpokePool in one):
/// relayers fill deposits made on the rollup's `SpokePool` here from their own ETH; the spoke's
/// deposits (ETH and deposit-tree root) arrive through the rollup's canonical bridge; a bonded
/// proposer then proposes a refund bundle — one `Entry` per deposit, in deposit order, published
/// in calldata — that anyone can dispute during `liveness` with a proof that one entry is wrong;
/// after it, entries are executed: relayers repaid, slow fills paid, expired deposits refunded
/// on the rollup. Every decision is checkable here, so a dispute needs no oracle: the proposer's
/// bond goes to whoever proves an entry wrong, and a dispute that proves nothing reverts.
/// @dev No path pays more than the deposits delivered: `paid <= delivered` is checked on every
/// payment (forge invariant in test/bridge).
contract HubPool {
    enum FillStatus {
        Unfilled,
        SlowFillRequested,
        Filled
    }

    struct Fill {
        FillStatus status;
        /// @notice When it was filled or the slow fill requested.
        uint64 since;
        /// @notice Who gets `inputAmount` back (a filled deposit).
        address repayTo;
    }

    struct Bundle {
        uint64 start;
        uint64 end;
        uint64 proposedAt;
        bool disputed;
        bool bondReturned;
        address proposer;
        bytes32 entriesRoot;
        /// @notice The delivered deposit-tree root the bundle's deposits are proven against.
        bytes32 depositRoot;
    }

    /// @notice L2 gas of a refund's deposit transaction on the rollup (a plain transfer).
    uint64 public constant REFUND_GAS = 21_000;

    IPortal public immutable portal;
    /// @notice The `SpokePool` on the rollup (its address is known before it is deployed).
    address public immutable spoke;
    uint64 public immutable originChainId;
    uint256 public immutable bond;
    uint64 public immutable liveness;

    mapping(bytes32 => Fill) public fills;

    /// @notice Deposits delivered by the canonical bridge so far, and the latest deposit-tree root.
    uint64 public deliveredCount;
    bytes32 public deliveredRoot;
    /// @notice ETH delivered from the spoke, and ETH paid out by bundles.
    uint256 public delivered;
    uint256 public paid;

    Bundle[] public bundles;
    /// @notice Deposits `[0, coveredEnd)` are covered by bundles that are not disputed.
    uint64 public coveredEnd;
    mapping(uint64 => bool) public executed;

    event FilledRelay(
        bytes32 indexed relayHash, uint64 indexed depositId, address indexed relayer, address repayTo, uint256 amount
    );
    event SlowFillRequested(bytes32 indexed relayHash, uint64 indexed depositId);
    event DepositsDelivered(uint64 count, bytes32 depositRoot, uint256 value);
    event BundleProposed(
        uint256 indexed bundleId,
        address indexed proposer,
        uint64 start,
        uint64 end,
        bytes32 entriesRoot,
        BridgeLib.Entry[] entries
    );
    event BundleDisputed(uint256 indexed bundleId, address indexed disputer, uint256 index);
    event EntryExecuted(
        uint256 indexed bundleId, uint64 indexed depositId, BridgeLib.Outcome outcome, address payee, uint256 amount
    );

    error NotSpoke(address sender, address l2Sender);
    error WrongChain(uint64 origin, uint64 destination);
    error DeadlinePassed(uint32 fillDeadline);
    error NotExclusiveRelayer(address exclusiveRelayer);
    error AlreadyFilled(bytes32 relayHash, FillStatus status);
    error WrongValue(uint256 sent, uint256 expected);
    error NotDepositorOrRecipient();
    error PaymentFailed(address payee);
    error WrongBond(uint256 sent, uint256 expected);
    error ProposalPending(uint256 bundleId, uint256 secondsLeft);
    error EmptyBundle();
    error NotDelivered(uint64 end, uint64 deliveredCount);
    error UnknownBundle(uint256 bundleId);
    error Disputed(uint256 bundleId);
    error LivenessOver(uint256 bundleId);
    error LivenessRunning(uint256 bundleId, uint256 secondsLeft);
    error BadEntryProof();
    error BadDepositProof();
    error WrongDeposit(uint64 depositId, uint64 expected);
    error EntryCorrect();
    error AlreadyExecuted(uint64 depositId);
    error InsufficientDelivered(uint256 paid, uint256 delivered);
    error BondAlreadyReturned(uint256 bundleId);

    constructor(IPortal portal_, address spoke_, uint64 originChainId_, uint256 bond_, uint64 liveness_) {
        portal = portal_;
        spoke = spoke_;
        originChainId = originChainId_;
        bond = bond_;
        liveness = liveness_;
    }

    // ---------------------------------------------------------------- fills (destination: here)

    /// @notice Pays `d.recipient` `d.outputAmount` (sent along) for deposit `d` and records who is
    /// to be repaid. A fill whose data differs from the deposit in any field has another hash, so
    /// it fills nothing and is never repaid.
    function fillRelay(BridgeLib.RelayData calldata d, address repayTo) external payable {
        if (d.destinationChainId != block.chainid || d.originChainId != originChainId) {
            revert WrongChain(d.originChainId, d.destinationChainId);
        }
        if (block.timestamp > d.fillDeadline) revert DeadlinePassed(d.fillDeadline);
        if (
            d.exclusiveRelayer != address(0) && block.timestamp <= d.exclusivityDeadline
                && msg.sender != d.exclusiveRelayer
        ) revert NotExclusiveRelayer(d.exclusiveRelayer);
        if (msg.value != d.outputAmount) revert WrongValue(msg.value, d.outputAmount);
        bytes32 h = BridgeLib.relayHash(d);
        Fill storage f = fills[h];
        if (f.status != FillStatus.Unfilled) revert AlreadyFilled(h, f.status);
        fills[h] = Fill(FillStatus.Filled, uint64(block.timestamp), repayTo);
        emit FilledRelay(h, d.depositId, msg.sender, repayTo, d.outputAmount);
        _pay(d.recipient, d.outputAmount);
    }

    /// @notice The depositor or the recipient gives up on relayers: no fill is accepted any more,
    /// and the recipient is paid `outputAmount` from the deposit once it is delivered.
    function requestSlowFill(BridgeLib.RelayData calldata d) external {
        if (msg.sender != d.depositor && msg.sender != d.recipient) revert NotDepositorOrRecipient();
        if (d.destinationChainId != block.chainid || d.originChainId != originChainId) {
            revert WrongChain(d.originChainId, d.destinationChainId);
        }
        if (block.timestamp > d.fillDeadline) revert DeadlinePassed(d.fillDeadline);
        bytes32 h = BridgeLib.relayHash(d);
        Fill storage f = fills[h];
        if (f.status != FillStatus.Unfilled) revert AlreadyFilled(h, f.status);
        fills[h] = Fill(FillStatus.SlowFillRequested, uint64(block.timestamp), address(0));
        emit SlowFillRequested(h, d.depositId);
    }

    // ------------------------------------------------------------ deliveries (canonical bridge)

    /// @notice The spoke's deposits and their ETH, from the rollup's portal once its withdrawal
    /// passed the challenge window. Deliveries may be finalized out of order: the ETH always
    /// counts; the root only when it covers more deposits.
    function receiveDeposits(uint64 count, bytes32 depositRoot) external payable {
        address from = msg.sender == address(portal) ? portal.l2Sender() : address(0);
        if (from != spoke) revert NotSpoke(msg.sender, from);
        delivered += msg.value;
        if (count > deliveredCount) {
            deliveredCount = count;
            deliveredRoot = depositRoot;
        }
        emit DepositsDelivered(count, depositRoot, msg.value);
    }

    // --------------------------------------------------------------------------- refund bundles

    /// @notice Proposes what happens to deposits `[coveredEnd, coveredEnd + entries.length)`, all
    /// delivered, bonded with `bond`. One proposal at a time: the last must be past its liveness
    /// or disputed.
    function proposeBundle(BridgeLib.Entry[] calldata entries) external payable returns (uint256 id) {
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        if (entries.length == 0) revert EmptyBundle();
        id = bundles.length;
        if (id > 0) {
            Bundle storage last = bundles[id - 1];
            uint256 left = _livenessLeft(last);
            if (!last.disputed && left > 0) revert ProposalPending(id - 1, left);
        }
        uint64 start = coveredEnd;
        uint64 end = start + uint64(entries.length);
        if (end > deliveredCount) revert NotDelivered(end, deliveredCount);
        bytes32[] memory leaves = new bytes32[](entries.length);
        for (uint256 i = 0; i < entries.length; i++) {
            leaves[i] = BridgeLib.entryLeaf(entries[i]);
        }
        bytes32 r = BridgeLib.root(leaves);
        bundles.push(Bundle(start, end, uint64(block.timestamp), false, false, msg.sender, r, deliveredRoot));
        coveredEnd = end;
        emit BundleProposed(id, msg.sender, start, end, r, entries);
    }

    /// @notice Proves that entry `index` of bundle `id` is not what deposit `d` calls for: the
    /// bundle is deleted (its deposits can be proposed again) and its bond paid to the caller.
    /// Reverts with `EntryCorrect` when the entry is right.
    function dispute(
        uint256 id,
        uint256 index,
        BridgeLib.Entry calldata e,
        bytes32[] calldata entryProof,
        BridgeLib.RelayData calldata d,
        bytes32[32] calldata depositBranch
    ) external {
        Bundle storage b = _bundle(id);
        if (b.disputed) revert Disputed(id);
        if (_livenessLeft(b) == 0) revert LivenessOver(id);
        _checkEntry(b, index, e, entryProof);
        uint64 depositId = b.start + uint64(index);
        if (d.depositId != depositId) revert WrongDeposit(d.depositId, depositId);
        if (RollupLib.merkleRoot(BridgeLib.relayHash(d), depositId, depositBranch) != b.depositRoot) {
            revert BadDepositProof();
        }
        (bool settled, BridgeLib.Entry memory want) = expected(d, b.proposedAt);
        if (
            settled && want.relayHash == e.relayHash && want.outcome == e.outcome && want.payee == e.payee
                && want.amount == e.amount
        ) revert EntryCorrect();
        b.disputed = true;
        b.bondReturned = true;
        coveredEnd = b.start;
        emit BundleDisputed(id, msg.sender, index);
        _pay(msg.sender, bond);
    }

    /// @notice Pays entry `index` of bundle `id` once its liveness has passed undisputed.
    function execute(uint256 id, uint256 index, BridgeLib.Entry calldata e, bytes32[] calldata entryProof) external {
        Bundle storage b = _bundle(id);
        if (b.disputed) revert Disputed(id);
        uint256 left = _livenessLeft(b);
        if (left > 0) revert LivenessRunning(id, left);
        _checkEntry(b, index, e, entryProof);
        uint64 depositId = b.start + uint64(index);
        if (executed[depositId]) revert AlreadyExecuted(depositId);
        executed[depositId] = true;
        uint256 p = paid + e.amount;
        if (p > delivered) revert InsufficientDelivered(p, delivered);
        paid = p;
        emit EntryExecuted(id, depositId, e.outcome, e.payee, e.amount);
        if (e.outcome == BridgeLib.Outcome.Refund) {
            // Back to the depositor on the rollup, as an L1->L2 deposit.
            portal.depositTransaction{value: e.amount}(e.payee, e.amount, REFUND_GAS, false, "");
        } else {
            _pay(e.payee, e.amount);
        }
    }

    /// @notice Returns the bond of an undisputed bundle past its liveness to its proposer.
    function returnBond(uint256 id) external {
        Bundle storage b = _bundle(id);
        if (b.disputed) revert Disputed(id);
        uint256 left = _livenessLeft(b);
        if (left > 0) revert LivenessRunning(id, left);
        if (b.bondReturned) revert BondAlreadyReturned(id);
        b.bondReturned = true;
        _pay(b.proposer, bond);
    }

    /// @notice What a bundle proposed at `proposedAt` must decide for deposit `d`: settled is false
    /// while the deposit could still be filled (no bundle may cover it yet). A fill or slow-fill
    /// request made after the proposal does not count; neither can happen after the deadline.
    function expected(BridgeLib.RelayData calldata d, uint64 proposedAt)
        public
        view
        returns (bool settled, BridgeLib.Entry memory e)
    {
        bytes32 h = BridgeLib.relayHash(d);
        Fill memory f = fills[h];
        e.relayHash = h;
        if (f.status == FillStatus.Filled && f.since <= proposedAt) {
            return (true, BridgeLib.Entry(h, BridgeLib.Outcome.Repay, f.repayTo, d.inputAmount));
        }
        if (f.status == FillStatus.SlowFillRequested && f.since <= proposedAt) {
            return (true, BridgeLib.Entry(h, BridgeLib.Outcome.SlowFill, d.recipient, d.outputAmount));
        }
        if (d.fillDeadline < proposedAt) {
            return (true, BridgeLib.Entry(h, BridgeLib.Outcome.Refund, d.depositor, d.inputAmount));
        }
        return (false, e);
    }

    function bundleCount() external view returns (uint256) {
        return bundles.length;
    }

    /// @notice Seconds until bundle `id` may be executed (0 once it may, or when disputed).
    function livenessLeft(uint256 id) external view returns (uint256) {
        return _livenessLeft(_bundle(id));
    }

    function _bundle(uint256 id) internal view returns (Bundle storage) {
        if (id >= bundles.length) revert UnknownBundle(id);
        return bundles[id];
    }

    function _livenessLeft(Bundle storage b) internal view returns (uint256) {
        uint256 end = uint256(b.proposedAt) + liveness;
        return block.timestamp >= end ? 0 : end - block.timestamp;
    }

    function _checkEntry(Bundle storage b, uint256 index, BridgeLib.Entry calldata e, bytes32[] calldata proof)
        internal
        view
    {
        uint256 count = b.end - b.start;
        if (index >= count || proof.length != BridgeLib.depth(count)) revert BadEntryProof();
        if (BridgeLib.rootFrom(BridgeLib.entryLeaf(e), index, proof) != b.entriesRoot) revert BadEntryProof();
    }

    function _pay(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed(to);
    }
}
