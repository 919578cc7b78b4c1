// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title OutputOracle
/// @notice Holds the L2 output roots proposers post, each with a bond. An output is final once the
/// challenge window has passed and no dispute on it (or on an earlier output) is open; until then
/// the dispute hook (`challenger`, the dispute game contract) may delete it and every output after
/// it, taking their bonds.
contract OutputOracle {
    struct Output {
        bytes32 outputRoot;
        uint64 timestamp;
        uint64 l2BlockNumber;
        address proposer;
        uint256 bond;
    }

    /// @notice Bond a proposal must carry (wei).
    uint256 public immutable bond;
    /// @notice Seconds an output waits before it is final (7 days on mainnet settings).
    uint256 public immutable finalizationPeriod;
    /// @notice May delete outputs that lost a dispute.
    address public immutable challenger;

    /// @notice A dispute the challenger opened on an output (it holds finality back).
    struct Dispute {
        uint64 index;
        bytes32 outputRoot;
    }

    Output[] internal outputs;
    /// @dev Open disputes; an entry whose output has since been deleted no longer counts.
    Dispute[] internal disputes;
    /// @notice Bonds owed to their recipients (pull payments).
    mapping(address => uint256) public credit;

    event OutputProposed(
        bytes32 indexed outputRoot, uint256 indexed index, uint256 indexed l2BlockNumber, uint256 timestamp
    );
    event OutputsDeleted(uint256 prevNextIndex, uint256 newNextIndex);
    event BondReleased(uint256 indexed index, address indexed to, uint256 amount);
    event DisputeOpened(uint256 indexed index, bytes32 outputRoot);
    event DisputeClosed(uint256 indexed index, bytes32 outputRoot);

    error WrongBond(uint256 sent, uint256 required);
    error BlockNumberNotIncreasing(uint256 proposed, uint256 latest);
    error EmptyOutputRoot();
    error NotChallenger(address caller);
    error NoSuchOutput(uint256 index);
    error OutputFinalized(uint256 index);
    error NotYetFinal(uint256 index, uint256 secondsLeft);
    error BondAlreadyReleased(uint256 index);
    error NothingToWithdraw();
    error TransferFailed();
    error NoSuchDispute(uint256 index, bytes32 outputRoot);

    constructor(uint256 bond_, uint256 finalizationPeriod_, address challenger_) {
        bond = bond_;
        finalizationPeriod = finalizationPeriod_;
        challenger = challenger_;
    }

    /// @notice Posts the output root of L2 block `l2BlockNumber`, with exactly `bond` wei.
    function proposeOutput(bytes32 outputRoot, uint256 l2BlockNumber) external payable {
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        if (outputRoot == bytes32(0)) revert EmptyOutputRoot();
        uint256 latest = latestBlockNumber();
        if (outputs.length > 0 && l2BlockNumber <= latest) revert BlockNumberNotIncreasing(l2BlockNumber, latest);
        emit OutputProposed(outputRoot, outputs.length, l2BlockNumber, block.timestamp);
        outputs.push(Output(outputRoot, uint64(block.timestamp), uint64(l2BlockNumber), msg.sender, msg.value));
    }

    /// @notice Holds output `index` (and every later one) back from finality while a dispute on it
    /// is open. Only the dispute hook, only before the output is final.
    function openDispute(uint256 index) external {
        if (msg.sender != challenger) revert NotChallenger(msg.sender);
        Output storage o = _output(index);
        if (isFinalized(index)) revert OutputFinalized(index);
        disputes.push(Dispute(uint64(index), o.outputRoot));
        emit DisputeOpened(index, o.outputRoot);
    }

    /// @notice Ends one dispute opened on output `index` with root `outputRoot`.
    function closeDispute(uint256 index, bytes32 outputRoot) external {
        if (msg.sender != challenger) revert NotChallenger(msg.sender);
        uint256 n = disputes.length;
        for (uint256 i = 0; i < n; i++) {
            if (disputes[i].index == index && disputes[i].outputRoot == outputRoot) {
                disputes[i] = disputes[n - 1];
                disputes.pop();
                emit DisputeClosed(index, outputRoot);
                return;
            }
        }
        revert NoSuchDispute(index, outputRoot);
    }

    /// @notice Whether an open dispute on output `index` or an earlier one holds it back.
    function isDisputed(uint256 index) public view returns (bool) {
        uint256 n = disputes.length;
        for (uint256 i = 0; i < n; i++) {
            Dispute storage d = disputes[i];
            if (d.index <= index && d.index < outputs.length && outputs[d.index].outputRoot == d.outputRoot) {
                return true;
            }
        }
        return false;
    }

    /// @notice Deletes output `index` and every later one (they build on it). Only the dispute
    /// hook, only before the output is final. The bonds are credited to the challenger; the
    /// amount is returned.
    function deleteOutputs(uint256 index) external returns (uint256 forfeited) {
        if (msg.sender != challenger) revert NotChallenger(msg.sender);
        uint256 n = outputs.length;
        if (index >= n) revert NoSuchOutput(index);
        if (isFinalized(index)) revert OutputFinalized(index);
        for (uint256 i = n; i > index; i--) {
            forfeited += outputs[i - 1].bond;
            outputs.pop();
        }
        credit[challenger] += forfeited;
        emit OutputsDeleted(n, index);
    }

    /// @notice Releases a final output's bond to its proposer's credit.
    function releaseBond(uint256 index) external {
        Output storage o = _output(index);
        if (!isFinalized(index)) revert NotYetFinal(index, secondsLeft(index));
        uint256 amount = o.bond;
        if (amount == 0) revert BondAlreadyReleased(index);
        o.bond = 0;
        credit[o.proposer] += amount;
        emit BondReleased(index, o.proposer, amount);
    }

    /// @notice Pays out the caller's credit.
    function withdrawCredit() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function getOutput(uint256 index) external view returns (Output memory) {
        return _output(index);
    }

    function nextOutputIndex() external view returns (uint256) {
        return outputs.length;
    }

    function latestBlockNumber() public view returns (uint256) {
        return outputs.length == 0 ? 0 : outputs[outputs.length - 1].l2BlockNumber;
    }

    function isFinalized(uint256 index) public view returns (bool) {
        return block.timestamp >= _output(index).timestamp + finalizationPeriod && !isDisputed(index);
    }

    /// @notice Seconds until output `index`'s window closes (0 when it has; an open dispute may
    /// still hold it back: see `isDisputed`).
    function secondsLeft(uint256 index) public view returns (uint256) {
        uint256 end = _output(index).timestamp + finalizationPeriod;
        return block.timestamp >= end ? 0 : end - block.timestamp;
    }

    function _output(uint256 index) internal view returns (Output storage) {
        if (index >= outputs.length) revert NoSuchOutput(index);
        return outputs[index];
    }
}
