// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RollupLib, RecordList} from "./RollupLib.sol";
import {OutputOracle} from "./OutputOracle.sol";

interface IERC20Like {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title RollupPortal
/// @notice The optimistic rollup's L1 entry and exit. Deposits lock ETH or ERC-20 tokens here and
/// emit `TransactionDeposited`, which every L2 node turns into a deposit transaction. Withdrawals
/// are proven against an output root of the `OutputOracle` and paid after the challenge window.
contract RollupPortal {
    /// @notice Version of the `TransactionDeposited` opaque data layout.
    uint256 public constant DEPOSIT_VERSION = 0;
    uint64 public constant MIN_DEPOSIT_GAS = 21_000;
    uint64 public constant MAX_DEPOSIT_GAS = 10_000_000;
    /// @notice L2 gas given to the bridge to credit an ERC-20 deposit (the first deposit of a token
    /// deploys its L2 twin).
    uint64 public constant ERC20_DEPOSIT_GAS = 2_000_000;
    uint256 public constant MAX_DEPOSIT_DATA = 120_000;

    struct ProvenWithdrawal {
        bytes32 outputRoot;
        uint64 timestamp;
        uint64 outputIndex;
    }

    OutputOracle public immutable oracle;

    /// @notice The L2 sender of the withdrawal being finalized, during its call (zero otherwise):
    /// how an L1 contract learns which L2 contract sent it a message (OP's `l2Sender`).
    address public l2Sender;
    /// @notice ERC-20 balances held for L2, per L1 token.
    mapping(address => uint256) public locked;
    mapping(bytes32 => ProvenWithdrawal) public provenWithdrawals;
    mapping(bytes32 => bool) public finalizedWithdrawals;
    /// @notice Per deposit, `keccak256(abi.encode(keccak256(abi.encode(from, to, version,
    /// opaqueData)), l1Block))`: what a fault proof that re-derives an L2 block checks its deposits
    /// against. The deposit's index is the high 128 bits of its `version` word.
    bytes32[] public depositRecords;

    /// @notice `opaqueData` = abi.encodePacked(mint, value, gasLimit (uint64), isCreation, data);
    /// `version` = deposit index << 128 | layout version.
    event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData);
    event WithdrawalProven(bytes32 indexed withdrawalHash, address indexed from, address indexed to);
    event WithdrawalFinalized(bytes32 indexed withdrawalHash);

    error GasLimitOutOfRange(uint64 gasLimit);
    error DataTooLarge(uint256 size);
    error CreationNeedsNoTarget();
    error ZeroAmount();
    error TokenTransferFailed(address token);
    error InvalidOutputRootProof();
    error InvalidWithdrawalProof();
    error AlreadyFinalized(bytes32 withdrawalHash);
    error AlreadyProven(bytes32 withdrawalHash);
    error WithdrawalNotProven(bytes32 withdrawalHash);
    /// @notice The output the withdrawal was proven against was deleted by a dispute: prove again.
    error OutputDeleted(uint256 outputIndex);
    error OutputDisputed(uint256 outputIndex);
    error ChallengeWindowOpen(uint256 secondsLeft);
    error InsufficientGas(uint256 needed);
    error WithdrawalCallFailed(address target);
    error LockedBalanceExceeded(address token, uint256 locked, uint256 requested);

    constructor(OutputOracle oracle_) {
        oracle = oracle_;
    }

    /// @notice Sends ETH to `msg.sender` on L2 (plain transfer). Convenience for wallets.
    receive() external payable {
        _deposit(msg.sender, msg.value, MIN_DEPOSIT_GAS, false, "");
    }

    /// @notice Sends an L1->L2 message: an L2 transaction from the caller (aliased when the caller is
    /// a contract) to `to`, minting `msg.value` on L2 first. `value` is what the L2 call carries.
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes calldata data)
        external
        payable
    {
        if (isCreation && to != address(0)) revert CreationNeedsNoTarget();
        _deposit(to, value, gasLimit, isCreation, data);
    }

    /// @notice Locks `amount` of `token` here and credits its L2 twin to `to`.
    function depositERC20(address token, address to, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        _callToken(token, abi.encodeCall(IERC20Like.transferFrom, (msg.sender, address(this), amount)));
        locked[token] += amount;
        bytes memory data =
            abi.encodeWithSignature("finalizeDeposit(address,address,address,uint256)", token, msg.sender, to, amount);
        bytes memory opaque = abi.encodePacked(uint256(0), uint256(0), ERC20_DEPOSIT_GAS, false, data);
        _emitDeposit(RollupLib.applyAlias(address(this)), RollupLib.L2_BRIDGE, opaque);
    }

    /// @notice Proves that withdrawal `w` is in the message tree of output `outputIndex`.
    /// @param leafIndex position of the withdrawal in the L2 message tree (its nonce)
    /// @param branch sibling hashes from the leaf up
    function proveWithdrawal(
        RollupLib.WithdrawalTransaction calldata w,
        uint256 outputIndex,
        RollupLib.OutputRootProof calldata outputProof,
        uint256 leafIndex,
        bytes32[32] calldata branch
    ) external {
        bytes32 h = RollupLib.hashWithdrawal(w);
        if (finalizedWithdrawals[h]) revert AlreadyFinalized(h);
        OutputOracle.Output memory out = oracle.getOutput(outputIndex);
        if (RollupLib.hashOutputRoot(outputProof) != out.outputRoot) revert InvalidOutputRootProof();
        if (RollupLib.merkleRoot(h, leafIndex, branch) != outputProof.withdrawalsRoot) revert InvalidWithdrawalProof();
        ProvenWithdrawal memory prev = provenWithdrawals[h];
        // Proving again is allowed only when the first proof's output has since been deleted.
        if (prev.timestamp != 0 && _outputStillThere(prev)) revert AlreadyProven(h);
        provenWithdrawals[h] = ProvenWithdrawal(out.outputRoot, uint64(block.timestamp), uint64(outputIndex));
        emit WithdrawalProven(h, w.sender, w.target);
    }

    /// @notice Pays a proven withdrawal once the challenge window has passed since both the proof
    /// and the output. ERC-20 withdrawals (sent by the L2 bridge to this portal) release locked tokens.
    function finalizeWithdrawal(RollupLib.WithdrawalTransaction calldata w) external {
        bytes32 h = RollupLib.hashWithdrawal(w);
        if (finalizedWithdrawals[h]) revert AlreadyFinalized(h);
        ProvenWithdrawal memory p = provenWithdrawals[h];
        if (p.timestamp == 0) revert WithdrawalNotProven(h);
        if (!_outputStillThere(p)) revert OutputDeleted(p.outputIndex);
        uint256 left = secondsLeft(h);
        if (left != 0) revert ChallengeWindowOpen(left);
        if (oracle.isDisputed(p.outputIndex)) revert OutputDisputed(p.outputIndex);

        finalizedWithdrawals[h] = true;
        emit WithdrawalFinalized(h);
        if (w.sender == RollupLib.L2_BRIDGE && w.target == address(this)) {
            (address token, address to, uint256 amount) = abi.decode(w.data, (address, address, uint256));
            uint256 have = locked[token];
            if (amount > have) revert LockedBalanceExceeded(token, have, amount);
            locked[token] = have - amount;
            _callToken(token, abi.encodeCall(IERC20Like.transfer, (to, amount)));
        } else {
            // Leave the caller enough gas to finish after the call (EIP-150 keeps 1/64 back).
            if (gasleft() < (w.gasLimit * 64) / 63 + 40_000) revert InsufficientGas(w.gasLimit);
            l2Sender = w.sender;
            (bool ok,) = w.target.call{value: w.value, gas: w.gasLimit}(w.data);
            l2Sender = address(0);
            if (!ok) revert WithdrawalCallFailed(w.target);
        }
    }

    function depositCount() external view returns (uint256) {
        return depositRecords.length;
    }

    /// @notice Deposit records `[from, to)` with their neighbours (see `RecordList.window`).
    function records(uint256 from, uint256 to) external view returns (bytes32[] memory out, uint256 total) {
        return RecordList.window(depositRecords, from, to);
    }

    /// @notice Seconds until a proven withdrawal may be finalized (0 when it may).
    function secondsLeft(bytes32 withdrawalHash) public view returns (uint256) {
        ProvenWithdrawal memory p = provenWithdrawals[withdrawalHash];
        if (p.timestamp == 0) revert WithdrawalNotProven(withdrawalHash);
        uint256 proofEnd = p.timestamp + oracle.finalizationPeriod();
        uint256 outputEnd = block.timestamp + oracle.secondsLeft(p.outputIndex);
        uint256 end = proofEnd > outputEnd ? proofEnd : outputEnd;
        return block.timestamp >= end ? 0 : end - block.timestamp;
    }

    function _deposit(address to, uint256 value, uint64 gasLimit, bool isCreation, bytes memory data) internal {
        if (gasLimit < MIN_DEPOSIT_GAS || gasLimit > MAX_DEPOSIT_GAS) revert GasLimitOutOfRange(gasLimit);
        if (data.length > MAX_DEPOSIT_DATA) revert DataTooLarge(data.length);
        // A contract's L2 identity is its alias; an EOA keeps its address (OP's rule).
        address from = msg.sender.code.length > 0 ? RollupLib.applyAlias(msg.sender) : msg.sender;
        bytes memory opaque = abi.encodePacked(msg.value, value, gasLimit, isCreation, data);
        _emitDeposit(from, to, opaque);
    }

    function _emitDeposit(address from, address to, bytes memory opaque) internal {
        uint256 index = depositRecords.length;
        uint256 version = (index << 128) | DEPOSIT_VERSION;
        depositRecords.push(keccak256(abi.encode(keccak256(abi.encode(from, to, version, opaque)), block.number)));
        emit TransactionDeposited(from, to, version, opaque);
    }

    function _outputStillThere(ProvenWithdrawal memory p) internal view returns (bool) {
        if (p.outputIndex >= oracle.nextOutputIndex()) return false;
        return oracle.getOutput(p.outputIndex).outputRoot == p.outputRoot;
    }

    /// @dev Calls an ERC-20 that may or may not return a bool (USDT-style tokens return nothing).
    function _callToken(address token, bytes memory call) internal {
        (bool ok, bytes memory ret) = token.call(call);
        if (!ok || token.code.length == 0 || (ret.length > 0 && !abi.decode(ret, (bool)))) {
            revert TokenTransferFailed(token);
        }
    }
}
