// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ecdsa} from "../lib/Ecdsa.sol";
import {ExitHeap} from "./ExitHeap.sol";
import {PlasmaTx} from "./PlasmaTx.sol";

interface IERC20Plasma {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title A MoreVP plasma chain's root contract: blocks, deposits, exit games and their queue
/// @notice Only block roots reach L1. The operator submits child-block roots (1000, 2000, …);
///         every deposit of ETH or an ERC-20 makes a one-transaction deposit block in between.
///         Users leave through exit games, processed in priority order (exitable-at time, then
///         position, then exit id) from one queue per token, by anyone, for a bounty:
///         - a standard exit of an included output, with a bond; challenged by any transaction
///           its owner signed that spends it, or by proof that the transaction creating it spends
///           an input without its owner's signature (the bond goes to the challenger);
///         - an in-flight exit (MoreVP) of a signed transaction whose inclusion is unknown:
///           its inputs' owners and outputs' owners piggyback their items in the first half of
///           the exit period; a competing spend of one of its inputs makes it non-canonical
///           (first half), which proof of its own earlier inclusion answers (either half);
///           piggybacks are challenged by a spend of the input elsewhere or of the output. A
///           canonical transaction pays its piggybacked outputs, a non-canonical one its
///           piggybacked inputs.
///         An output is paid at most once, by whichever exit is processed first; the contract
///         never pays a token beyond what was deposited of it.
contract PlasmaChain {
    using ExitHeap for ExitHeap.Heap;

    enum Kind {
        None,
        Standard,
        InFlight
    }

    enum Status {
        None,
        Waiting,
        Challenged,
        Processed
    }

    struct Block {
        bytes32 root;
        uint64 timestamp;
    }

    /// A standard exit, packed in five slots.
    struct StandardExit {
        address owner;
        uint64 position;
        Status status;
        address token;
        uint96 bond;
        uint256 amount;
        bytes32 outputId;
        /// keccak256(keccak256(tx) ‖ keccak256(sigs)): what an invalid-spend challenge must show.
        bytes32 dataHash;
    }

    /// What an in-flight exit's start proved about one input (checked again at piggyback).
    struct InputInfo {
        uint256 position;
        bytes32 outputId;
        address owner;
        address token;
        uint256 amount;
    }

    struct InFlightExit {
        bytes32 txHash;
        bytes32 inputsHash;
        address starter;
        uint64 startedAt;
        uint64 exitableAt;
        uint8 inputs;
        uint8 outputs;
        /// Bitmaps: bits 0-3 inputs, 4-7 outputs.
        uint8 piggybacked;
        uint8 paid;
        /// Queue entries not yet processed (one per token the transaction moves).
        uint8 entriesLeft;
        /// Oldest competing spend seen (type(uint128).max: in flight, position unknown; 0: none).
        uint128 competitor;
        /// Where the transaction itself was shown included (0: not shown).
        uint128 position;
        uint256 bond;
        Status status;
    }

    /// A transaction shown with its signatures and, when `position` is non-zero, included there.
    struct Competitor {
        bytes txBytes;
        bytes sigs;
        /// Which of its inputs spends the output in question.
        uint256 input;
        uint256 position;
        bytes32[] proof;
    }

    /// A transaction with its signatures and the proof of its inclusion (at a position given
    /// apart).
    struct Inclusion {
        bytes txBytes;
        bytes sigs;
        bytes32[] proof;
    }

    /// A signed transaction spending an output through its input `input`.
    struct Spend {
        bytes txBytes;
        bytes sigs;
        uint256 input;
    }

    /// A piggybacked input or output: who is paid what, and the bond they posted.
    struct Item {
        address owner;
        address token;
        uint256 amount;
        bytes32 outputId;
    }

    uint256 internal constant PAY_GAS = 30_000;

    address public immutable operator;
    /// Seconds an exit waits at least (7 days on mainnet settings); in-flight exits' two phases
    /// are its halves.
    uint64 public immutable minExitPeriod;
    uint256 public immutable standardExitBond;
    uint256 public immutable inFlightExitBond;
    uint256 public immutable piggybackBond;
    /// Paid out of an exit's bond to whoever processes it.
    uint256 public immutable processBounty;
    bytes32 public immutable domainSeparator;

    mapping(uint256 => Block) public blocks;
    uint256 public nextChildBlock = PlasmaTx.BLOCK_INTERVAL;
    /// The next deposit block's offset after the last child block (1..999).
    uint256 public nextDepositOffset = 1;

    /// Deposited minus paid out, per token (bonds are held apart).
    mapping(address => uint256) public funds;
    mapping(address => uint256) public deposited;
    mapping(address => uint256) public paidOut;

    uint256 public exitCount;
    mapping(uint256 => StandardExit) internal standardExits;
    mapping(uint256 => InFlightExit) internal inFlightExits;
    mapping(uint256 => mapping(uint256 => Item)) internal items;
    /// The live standard exit of an output, if any.
    mapping(bytes32 => uint256) public standardExitOf;
    mapping(bytes32 => uint256) public inFlightExitOf;
    /// Outputs paid (or spent by a canonical transaction that was paid): never paid again.
    mapping(bytes32 => bool) public finalized;
    mapping(address => ExitHeap.Heap) internal queues;
    /// Payouts a recipient refused, by token and recipient; taken with `withdraw`.
    mapping(address => mapping(address => uint256)) public owed;

    event BlockSubmitted(uint256 indexed blockNumber, bytes32 root);
    event DepositCreated(
        address indexed owner, uint256 indexed blockNumber, address indexed token, uint256 amount, bytes txBytes
    );
    event ExitStarted(
        uint256 indexed exitId, address indexed owner, uint256 position, address token, uint256 amount, uint64 exitableAt
    );
    event ExitChallenged(uint256 indexed exitId, address indexed challenger, bool invalidSpend);
    event InFlightExitStarted(uint256 indexed exitId, bytes32 indexed txHash, address starter, uint64 exitableAt);
    event Piggybacked(uint256 indexed exitId, uint256 slot, address owner);
    event CanonicityChallenged(uint256 indexed exitId, uint256 competitorPosition);
    event CanonicityResponded(uint256 indexed exitId, uint256 txPosition);
    event PiggybackChallenged(uint256 indexed exitId, uint256 slot, address challenger);
    event ExitProcessed(uint256 indexed exitId, address indexed token, uint256 paid);
    event Paid(address indexed to, address token, uint256 amount, bool ok);

    error NotOperator(address caller);
    error EmptyRoot();
    error TooManyDeposits(uint256 childBlock);
    error ZeroDeposit();
    error WrongValue(uint256 sent, uint256 expected);
    error TokenTransferFailed(address token);
    error TransferFailed();
    /// The transaction bytes do not decode, are not the canonical encoding, or break a shape
    /// rule (1-4 outputs, at most 4 distinct inputs, no empty output): fix the encoding.
    error MalformedTransaction(string why);
    error UnknownBlock(uint256 blockNumber);
    error NotIncluded(uint256 position);
    error NoSuchOutput(uint256 position);
    error NotOwner(address caller, address owner);
    error ExitExists(bytes32 outputId, uint256 exitId);
    error AlreadyFinalized(bytes32 outputId);
    error NoSuchExit(uint256 exitId);
    error ExitNotLive(uint256 exitId);
    error NotASpend(uint256 position);
    error BadSignature(uint256 input);
    error SignatureValid(uint256 input);
    error DataMismatch();
    error ValueMinted(address token);
    error PhaseOver(uint256 exitId);
    error AlreadyPiggybacked(uint256 exitId, uint256 slot);
    error NotPiggybacked(uint256 exitId, uint256 slot);
    error CompetitorNotOlder(uint256 competitor, uint256 oldest);
    error SameTransaction();
    error NotChallenged(uint256 exitId);
    error NotEarlier(uint256 txPosition, uint256 competitor);

    constructor(
        address operator_,
        uint64 minExitPeriod_,
        uint256 standardExitBond_,
        uint256 inFlightExitBond_,
        uint256 piggybackBond_,
        uint256 processBounty_
    ) {
        require(processBounty_ <= standardExitBond_ && processBounty_ <= inFlightExitBond_, "bounty above a bond");
        require(minExitPeriod_ >= 2, "exit period too short");
        operator = operator_;
        minExitPeriod = minExitPeriod_;
        standardExitBond = standardExitBond_;
        inFlightExitBond = inFlightExitBond_;
        piggybackBond = piggybackBond_;
        processBounty = processBounty_;
        domainSeparator = keccak256(
            abi.encode(
                PlasmaTx.DOMAIN_TYPEHASH,
                keccak256("Aqueduct Plasma"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    // ------------------------------------------------------------------ blocks and deposits

    function submitBlock(bytes32 root) external {
        if (msg.sender != operator) revert NotOperator(msg.sender);
        if (root == bytes32(0)) revert EmptyRoot();
        uint256 n = nextChildBlock;
        blocks[n] = Block(root, uint64(block.timestamp));
        nextChildBlock = n + PlasmaTx.BLOCK_INTERVAL;
        nextDepositOffset = 1;
        emit BlockSubmitted(n, root);
    }

    function depositETH() external payable {
        _deposit(msg.sender, address(0), msg.value);
    }

    /// @notice Deposits `amount` of `token` (approved to this contract beforehand).
    function depositERC20(address token, uint256 amount) external {
        if (token == address(0)) revert ZeroDeposit();
        (bool ok, bytes memory ret) =
            token.call(abi.encodeCall(IERC20Plasma.transferFrom, (msg.sender, address(this), amount)));
        if (!ok || (ret.length > 0 && !abi.decode(ret, (bool)))) revert TokenTransferFailed(token);
        _deposit(msg.sender, token, amount);
    }

    function _deposit(address owner, address token, uint256 amount) internal {
        if (amount == 0) revert ZeroDeposit();
        uint256 offset = nextDepositOffset;
        if (offset >= PlasmaTx.BLOCK_INTERVAL) revert TooManyDeposits(nextChildBlock);
        uint256 n = nextChildBlock - PlasmaTx.BLOCK_INTERVAL + offset;
        nextDepositOffset = offset + 1;
        PlasmaTx.Transaction memory t;
        t.outputs = new PlasmaTx.Output[](1);
        t.outputs[0] = PlasmaTx.Output(owner, token, amount);
        bytes memory txBytes = abi.encode(t);
        bytes32 leafHash = keccak256(abi.encodePacked(bytes1(0x00), keccak256(txBytes), keccak256("")));
        blocks[n] = Block(PlasmaTx.singleLeafRoot(leafHash), uint64(block.timestamp));
        funds[token] += amount;
        deposited[token] += amount;
        emit DepositCreated(owner, n, token, amount, txBytes);
    }

    // ------------------------------------------------------------------ transactions

    /// @notice Decodes a payment and checks its shape (external so that a malformed one fails
    ///         with `MalformedTransaction` rather than an empty revert).
    function decodeTx(bytes calldata txBytes) external pure returns (PlasmaTx.Transaction memory t) {
        t = abi.decode(txBytes, (PlasmaTx.Transaction));
        if (keccak256(abi.encode(t)) != keccak256(txBytes)) revert MalformedTransaction("not the canonical encoding");
        if (t.outputs.length == 0 || t.outputs.length > PlasmaTx.MAX_OUTPUTS) {
            revert MalformedTransaction("1 to 4 outputs");
        }
        if (t.inputs.length > PlasmaTx.MAX_INPUTS) revert MalformedTransaction("at most 4 inputs");
        for (uint256 i = 0; i < t.inputs.length; i++) {
            for (uint256 j = 0; j < i; j++) {
                if (t.inputs[i] == t.inputs[j]) revert MalformedTransaction("an input twice");
            }
        }
        for (uint256 i = 0; i < t.outputs.length; i++) {
            if (t.outputs[i].amount == 0 || t.outputs[i].owner == address(0)) {
                revert MalformedTransaction("an empty output");
            }
        }
    }

    function _decode(bytes calldata txBytes) internal view returns (PlasmaTx.Transaction memory) {
        try this.decodeTx(txBytes) returns (PlasmaTx.Transaction memory t) {
            return t;
        } catch (bytes memory reason) {
            if (reason.length > 0 && bytes4(reason) == MalformedTransaction.selector) {
                assembly {
                    revert(add(reason, 32), mload(reason))
                }
            }
            revert MalformedTransaction("does not decode");
        }
    }

    /// @notice The EIP-712 digest the inputs' owners sign.
    function txDigest(bytes calldata txBytes) external view returns (bytes32) {
        return PlasmaTx.digest(domainSeparator, _decode(txBytes));
    }

    /// @notice Checks that `txBytes` with `sigs` is leaf `position`'s transaction; returns the
    ///         block's timestamp.
    function _checkIncluded(uint256 position, bytes calldata txBytes, bytes calldata sigs, bytes32[] calldata proof)
        internal
        view
        returns (uint64)
    {
        uint256 n = PlasmaTx.blockOf(position);
        Block memory b = blocks[n];
        if (b.timestamp == 0) revert UnknownBlock(n);
        if (!PlasmaTx.included(PlasmaTx.leaf(txBytes, sigs), PlasmaTx.txIndexOf(position), b.root, proof)) {
            revert NotIncluded(position);
        }
        return b.timestamp;
    }

    /// @notice The identity of output `position` of the included `txBytes`.
    function _outputIdAt(uint256 position, bytes calldata txBytes) internal pure returns (bytes32) {
        uint256 n = PlasmaTx.blockOf(position);
        return PlasmaTx.outputId(
            keccak256(txBytes), PlasmaTx.outputIndexOf(position), PlasmaTx.isDeposit(n) ? position : 0
        );
    }

    /// @notice Whether input `i` of `t` is signed in `sigs` by `owner`.
    function _signedBy(PlasmaTx.Transaction memory t, bytes calldata sigs, uint256 i, address owner)
        internal
        view
        returns (bool)
    {
        address signer = Ecdsa.recover(PlasmaTx.digest(domainSeparator, t), PlasmaTx.sigAt(sigs, i));
        return signer != address(0) && signer == owner;
    }

    function _priority(uint64 exitableAt, uint256 position, uint256 exitId) internal pure returns (uint256) {
        return (uint256(exitableAt) << 192) | (uint256(uint128(position)) << 64) | uint64(exitId);
    }

    /// @notice When an exit of something created at `blockTime` may be paid: two periods after
    ///         its block, and at least one period from now; deposits one period from now.
    function _exitableAt(uint64 blockTime, bool deposit) internal view returns (uint64) {
        uint64 fromNow = uint64(block.timestamp) + minExitPeriod;
        if (deposit) return fromNow;
        uint64 fromBlock = blockTime + 2 * minExitPeriod;
        return fromBlock > fromNow ? fromBlock : fromNow;
    }

    // ------------------------------------------------------------------ standard exits

    /// @notice Exits output `position`, created by the included `txBytes` (signed by `sigs`).
    function startStandardExit(
        uint256 position,
        bytes calldata txBytes,
        bytes calldata sigs,
        bytes32[] calldata proof
    ) external payable returns (uint256 exitId) {
        if (msg.value != standardExitBond) revert WrongValue(msg.value, standardExitBond);
        if (position > type(uint64).max) revert NoSuchOutput(position);
        (PlasmaTx.Output memory out, bytes32 id, uint64 when) = _exitingOutput(position, txBytes, sigs, proof);
        if (msg.sender != out.owner) revert NotOwner(msg.sender, out.owner);
        if (finalized[id]) revert AlreadyFinalized(id);
        uint256 live = standardExitOf[id];
        if (live != 0 && standardExits[live].status == Status.Waiting) revert ExitExists(id, live);
        exitId = ++exitCount;
        standardExits[exitId] = StandardExit({
            owner: out.owner,
            position: uint64(position),
            status: Status.Waiting,
            token: out.token,
            bond: uint96(msg.value),
            amount: out.amount,
            outputId: id,
            dataHash: _dataHash(txBytes, sigs)
        });
        standardExitOf[id] = exitId;
        queues[out.token].push(_priority(when, position, exitId));
        emit ExitStarted(exitId, out.owner, position, out.token, out.amount, when);
    }

    function _dataHash(bytes calldata txBytes, bytes calldata sigs) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(keccak256(txBytes), keccak256(sigs)));
    }

    /// @notice Which kind of exit `exitId` is (None: no such exit).
    function kindOf(uint256 exitId) public view returns (Kind) {
        if (standardExits[exitId].owner != address(0)) return Kind.Standard;
        if (inFlightExits[exitId].txHash != bytes32(0)) return Kind.InFlight;
        return Kind.None;
    }

    /// @notice Output `position` of the included `txBytes`, its identity and when it may exit.
    function _exitingOutput(uint256 position, bytes calldata txBytes, bytes calldata sigs, bytes32[] calldata proof)
        internal
        view
        returns (PlasmaTx.Output memory out, bytes32 id, uint64 when)
    {
        when = _checkIncluded(position, txBytes, sigs, proof);
        {
            PlasmaTx.Transaction memory t = _decode(txBytes);
            uint256 o = PlasmaTx.outputIndexOf(position);
            if (o >= t.outputs.length) revert NoSuchOutput(position);
            out = t.outputs[o];
        }
        id = _outputIdAt(position, txBytes);
        when = _exitableAt(when, PlasmaTx.isDeposit(PlasmaTx.blockOf(position)));
    }

    /// @notice Challenges a standard exit with a transaction its owner signed that spends the
    ///         exiting output (included or not: the owner should have used an in-flight exit).
    function challengeStandardExit(uint256 exitId, bytes calldata spendTx, bytes calldata spendSigs, uint256 input)
        external
    {
        StandardExit storage e = _liveStandard(exitId);
        _checkSpend(spendTx, spendSigs, input, e.position, e.owner);
        _challengeStandard(exitId, e, false);
    }

    /// @notice Challenges a standard exit whose transaction (`exitTx`: its bytes, signatures and
    ///         the input in question) spends an input without the signature of that input's
    ///         owner, shown by `creating`, the included transaction that created the input.
    function challengeInvalidSpend(uint256 exitId, Spend calldata exitTx, Inclusion calldata creating) external {
        StandardExit storage e = _liveStandard(exitId);
        if (_dataHash(exitTx.txBytes, exitTx.sigs) != e.dataHash) revert DataMismatch();
        PlasmaTx.Transaction memory t = _decode(exitTx.txBytes);
        if (exitTx.input >= t.inputs.length) revert NotASpend(exitTx.input);
        uint256 pos = t.inputs[exitTx.input];
        _checkIncluded(pos, creating.txBytes, creating.sigs, creating.proof);
        PlasmaTx.Transaction memory it = _decode(creating.txBytes);
        uint256 o = PlasmaTx.outputIndexOf(pos);
        // An input naming no output is as invalid as one its owner did not sign.
        if (o < it.outputs.length && _signedBy(t, exitTx.sigs, exitTx.input, it.outputs[o].owner)) {
            revert SignatureValid(exitTx.input);
        }
        _challengeStandard(exitId, e, true);
    }

    function _liveStandard(uint256 exitId) internal view returns (StandardExit storage e) {
        e = standardExits[exitId];
        if (e.owner == address(0)) revert NoSuchExit(exitId);
        if (e.status != Status.Waiting) revert ExitNotLive(exitId);
    }

    function _challengeStandard(uint256 exitId, StandardExit storage e, bool invalidSpend) internal {
        e.status = Status.Challenged;
        uint256 bond = e.bond;
        e.bond = 0;
        emit ExitChallenged(exitId, msg.sender, invalidSpend);
        _payBond(msg.sender, bond);
    }

    function getStandardExit(uint256 exitId) external view returns (StandardExit memory) {
        return standardExits[exitId];
    }

    // ------------------------------------------------------------------ in-flight exits

    /// @notice Starts an in-flight exit of the signed `txBytes`: every input is shown included
    ///         (`inputs`: the transactions creating them, in input order) and signed by its
    ///         owner, and the outputs mint nothing.
    function startInFlightExit(bytes calldata txBytes, bytes calldata sigs, Inclusion[] calldata inputs)
        external
        payable
        returns (uint256 exitId)
    {
        if (msg.value != inFlightExitBond) revert WrongValue(msg.value, inFlightExitBond);
        PlasmaTx.Transaction memory t = _decode(txBytes);
        if (t.inputs.length == 0) revert MalformedTransaction("a deposit has no inputs: use a standard exit");
        if (inputs.length != t.inputs.length) revert DataMismatch();
        bytes32 txHash = keccak256(txBytes);
        uint256 live = inFlightExitOf[txHash];
        if (live != 0) revert ExitExists(txHash, live);
        (InputInfo[] memory info, uint256 youngest, uint64 youngestTime) = _inputInfo(t, sigs, inputs);
        address[] memory tokens = _checkValue(info, t.outputs);
        exitId = ++exitCount;
        uint64 when = _exitableAt(youngestTime, false);
        InFlightExit storage e = inFlightExits[exitId];
        e.txHash = txHash;
        e.inputsHash = keccak256(abi.encode(info));
        e.starter = msg.sender;
        e.startedAt = uint64(block.timestamp);
        e.exitableAt = when;
        e.inputs = uint8(t.inputs.length);
        e.outputs = uint8(t.outputs.length);
        e.entriesLeft = uint8(tokens.length);
        e.bond = msg.value;
        e.status = Status.Waiting;
        inFlightExitOf[txHash] = exitId;
        uint256 p = _priority(when, youngest, exitId);
        for (uint256 i = 0; i < tokens.length; i++) {
            queues[tokens[i]].push(p);
        }
        emit InFlightExitStarted(exitId, txHash, msg.sender, when);
    }

    /// @notice What each input of `t` is, checked included and signed; and the youngest input's
    ///         position and block time (the exit waits two periods from it).
    function _inputInfo(PlasmaTx.Transaction memory t, bytes calldata sigs, Inclusion[] calldata inputs)
        internal
        view
        returns (InputInfo[] memory info, uint256 youngest, uint64 youngestTime)
    {
        info = new InputInfo[](t.inputs.length);
        for (uint256 i = 0; i < t.inputs.length; i++) {
            uint256 pos = t.inputs[i];
            Inclusion calldata inc = inputs[i];
            uint64 time = _checkIncluded(pos, inc.txBytes, inc.sigs, inc.proof);
            PlasmaTx.Transaction memory it = _decode(inc.txBytes);
            uint256 o = PlasmaTx.outputIndexOf(pos);
            if (o >= it.outputs.length) revert NoSuchOutput(pos);
            PlasmaTx.Output memory out = it.outputs[o];
            if (!_signedBy(t, sigs, i, out.owner)) revert BadSignature(i);
            info[i] = InputInfo(pos, _outputIdAt(pos, inc.txBytes), out.owner, out.token, out.amount);
            if (pos > youngest) (youngest, youngestTime) = (pos, time);
        }
    }

    /// @notice Per token, outputs may not exceed inputs; returns the distinct tokens moved.
    function _checkValue(InputInfo[] memory info, PlasmaTx.Output[] memory outs)
        internal
        pure
        returns (address[] memory tokens)
    {
        address[] memory seen = new address[](info.length + outs.length);
        uint256 k;
        for (uint256 i = 0; i < info.length + outs.length; i++) {
            address token = i < info.length ? info[i].token : outs[i - info.length].token;
            bool known;
            for (uint256 j = 0; j < k; j++) {
                if (seen[j] == token) known = true;
            }
            if (known) continue;
            seen[k++] = token;
            uint256 sumIn;
            uint256 sumOut;
            for (uint256 j = 0; j < info.length; j++) {
                if (info[j].token == token) sumIn += info[j].amount;
            }
            for (uint256 j = 0; j < outs.length; j++) {
                if (outs[j].token == token) sumOut += outs[j].amount;
            }
            if (sumOut > sumIn) revert ValueMinted(token);
        }
        tokens = new address[](k);
        for (uint256 i = 0; i < k; i++) {
            tokens[i] = seen[i];
        }
    }

    function _liveInFlight(uint256 exitId) internal view returns (InFlightExit storage e) {
        e = inFlightExits[exitId];
        if (e.txHash == bytes32(0)) revert NoSuchExit(exitId);
        if (e.status != Status.Waiting) revert ExitNotLive(exitId);
    }

    function _inFirstPhase(InFlightExit storage e) internal view returns (bool) {
        return block.timestamp < uint256(e.startedAt) + minExitPeriod / 2;
    }

    /// @notice Piggybacks input `input` (its owner, in the first phase): paid if the transaction
    ///         turns out non-canonical. `info` is what the start proved about the inputs.
    function piggybackInput(uint256 exitId, uint256 input, InputInfo[] calldata info) external payable {
        InFlightExit storage e = _liveInFlight(exitId);
        if (keccak256(abi.encode(info)) != e.inputsHash) revert DataMismatch();
        if (input >= e.inputs) revert NotASpend(input);
        InputInfo calldata inf = info[input];
        _piggyback(exitId, e, input, Item(inf.owner, inf.token, inf.amount, inf.outputId));
    }

    /// @notice Piggybacks output `output` of `txBytes` (its owner, in the first phase): paid if
    ///         the transaction is canonical.
    function piggybackOutput(uint256 exitId, uint256 output, bytes calldata txBytes) external payable {
        InFlightExit storage e = _liveInFlight(exitId);
        if (keccak256(txBytes) != e.txHash) revert DataMismatch();
        PlasmaTx.Transaction memory t = _decode(txBytes);
        if (output >= t.outputs.length) revert NoSuchOutput(output);
        PlasmaTx.Output memory o = t.outputs[output];
        _piggyback(exitId, e, 4 + output, Item(o.owner, o.token, o.amount, PlasmaTx.outputId(e.txHash, output, 0)));
    }

    function _piggyback(uint256 exitId, InFlightExit storage e, uint256 slot, Item memory item) internal {
        if (msg.value != piggybackBond) revert WrongValue(msg.value, piggybackBond);
        if (!_inFirstPhase(e)) revert PhaseOver(exitId);
        if (msg.sender != item.owner) revert NotOwner(msg.sender, item.owner);
        if (e.piggybacked & (1 << slot) != 0) revert AlreadyPiggybacked(exitId, slot);
        e.piggybacked |= uint8(1 << slot);
        items[exitId][slot] = item;
        emit Piggybacked(exitId, slot, msg.sender);
    }

    /// @notice Shows a competing transaction spending input `input` of the exiting one, signed
    ///         by that input's owner, in the first phase. When the competitor is included
    ///         (`c.position` non-zero, with `c.proof`), its position lets the exit's own earlier
    ///         inclusion be weighed against it. Only an older competitor replaces one already shown.
    function challengeCanonicity(
        uint256 exitId,
        bytes calldata txBytes,
        uint256 input,
        InputInfo[] calldata info,
        Competitor calldata c
    ) external {
        InFlightExit storage e = _liveInFlight(exitId);
        if (!_inFirstPhase(e)) revert PhaseOver(exitId);
        if (keccak256(txBytes) != e.txHash || keccak256(abi.encode(info)) != e.inputsHash) revert DataMismatch();
        if (keccak256(c.txBytes) == e.txHash) revert SameTransaction();
        if (input >= info.length) revert NotASpend(input);
        _checkSpend(c.txBytes, c.sigs, c.input, info[input].position, info[input].owner);
        uint256 position = type(uint128).max;
        if (c.position != 0) {
            _checkIncluded(c.position, c.txBytes, c.sigs, c.proof);
            position = c.position;
        }
        if (e.competitor != 0 && position >= e.competitor) revert CompetitorNotOlder(position, e.competitor);
        e.competitor = uint128(position);
        emit CanonicityChallenged(exitId, position);
    }

    /// @notice Checks that input `input` of `spendTx` spends `position`, signed by `owner`.
    function _checkSpend(bytes calldata spendTx, bytes calldata sigs, uint256 input, uint256 position, address owner)
        internal
        view
    {
        PlasmaTx.Transaction memory s = _decode(spendTx);
        if (input >= s.inputs.length || s.inputs[input] != position) revert NotASpend(position);
        if (!_signedBy(s, sigs, input, owner)) revert BadSignature(input);
    }

    /// @notice Answers a canonicity challenge by showing the exiting transaction included before
    ///         the oldest competitor (until the exit period ends).
    function respondToCanonicityChallenge(
        uint256 exitId,
        bytes calldata txBytes,
        bytes calldata sigs,
        uint256 txPosition,
        bytes32[] calldata proof
    ) external {
        InFlightExit storage e = _liveInFlight(exitId);
        if (e.competitor == 0) revert NotChallenged(exitId);
        if (block.timestamp >= uint256(e.startedAt) + minExitPeriod) revert PhaseOver(exitId);
        if (keccak256(txBytes) != e.txHash) revert DataMismatch();
        if (txPosition >= e.competitor) revert NotEarlier(txPosition, e.competitor);
        _checkIncluded(txPosition, txBytes, sigs, proof);
        if (e.position == 0 || txPosition < e.position) e.position = uint128(txPosition);
        emit CanonicityResponded(exitId, txPosition);
    }

    /// @notice Whether the exiting transaction counts as canonical now.
    function isCanonical(uint256 exitId) public view returns (bool) {
        InFlightExit storage e = inFlightExits[exitId];
        return e.competitor == 0 || (e.position != 0 && e.position < e.competitor);
    }

    /// @notice Removes a piggybacked input that its owner also spent in another transaction.
    function challengeInputSpent(uint256 exitId, uint256 input, InputInfo[] calldata info, Spend calldata spend)
        external
    {
        InFlightExit storage e = _liveInFlight(exitId);
        if (keccak256(abi.encode(info)) != e.inputsHash) revert DataMismatch();
        if (input >= info.length || e.piggybacked & (1 << input) == 0) revert NotPiggybacked(exitId, input);
        if (keccak256(spend.txBytes) == e.txHash) revert SameTransaction();
        _checkSpend(spend.txBytes, spend.sigs, spend.input, info[input].position, info[input].owner);
        _removePiggyback(exitId, e, input);
    }

    /// @notice Removes a piggybacked output that its owner spent: the exiting transaction is
    ///         shown included (`shown`: its bytes, signatures, the position of its output `output`
    ///         and the proof), and `spend` spends that position.
    function challengeOutputSpent(uint256 exitId, uint256 output, Competitor calldata shown, Spend calldata spend)
        external
    {
        InFlightExit storage e = _liveInFlight(exitId);
        uint256 slot = 4 + output;
        if (output >= e.outputs || e.piggybacked & (1 << slot) == 0) revert NotPiggybacked(exitId, slot);
        if (keccak256(shown.txBytes) != e.txHash) revert DataMismatch();
        if (PlasmaTx.outputIndexOf(shown.position) != output) revert NoSuchOutput(shown.position);
        _checkIncluded(shown.position, shown.txBytes, shown.sigs, shown.proof);
        _checkSpend(spend.txBytes, spend.sigs, spend.input, shown.position, items[exitId][slot].owner);
        _removePiggyback(exitId, e, slot);
    }

    function _removePiggyback(uint256 exitId, InFlightExit storage e, uint256 slot) internal {
        e.piggybacked &= ~uint8(1 << slot);
        delete items[exitId][slot];
        emit PiggybackChallenged(exitId, slot, msg.sender);
        _payBond(msg.sender, piggybackBond);
    }

    function getInFlightExit(uint256 exitId) external view returns (InFlightExit memory) {
        return inFlightExits[exitId];
    }

    function getItem(uint256 exitId, uint256 slot) external view returns (Item memory) {
        return items[exitId][slot];
    }

    // ------------------------------------------------------------------ processing

    /// @notice The next exit in `token`'s queue: (exitable at, position, exit id); all zero when
    ///         the queue is empty.
    function nextExit(address token) external view returns (uint64 exitableAt, uint128 position, uint64 exitId) {
        uint256 p = queues[token].top();
        if (p == type(uint256).max) return (0, 0, 0);
        return (uint64(p >> 192), uint128(p >> 64), uint64(p));
    }

    function queueLength(address token) external view returns (uint256) {
        return queues[token].size;
    }

    /// @notice Pays up to `maxExits` exits of `token` whose time has come, in priority order;
    ///         the caller earns `processBounty` for each exit it pays. Returns how many it took.
    function processExits(address token, uint256 maxExits) external returns (uint256 done) {
        ExitHeap.Heap storage q = queues[token];
        uint256 bounty;
        while (done < maxExits && q.size > 0) {
            uint256 p = q.top();
            if (uint64(p >> 192) > block.timestamp) break;
            q.pop();
            done++;
            uint256 exitId = uint64(p);
            bounty += standardExits[exitId].owner != address(0) ? _processStandard(exitId) : _processInFlight(exitId, token);
        }
        _payBond(msg.sender, bounty);
    }

    function _processStandard(uint256 exitId) internal returns (uint256 bounty) {
        StandardExit storage e = standardExits[exitId];
        if (e.status != Status.Waiting) return 0;
        e.status = Status.Processed;
        (address owner, address token) = (e.owner, e.token);
        uint256 paid;
        if (!finalized[e.outputId]) {
            finalized[e.outputId] = true;
            paid = _take(token, e.amount);
        }
        bounty = processBounty;
        uint256 back = e.bond - bounty;
        e.bond = 0;
        if (token == address(0)) {
            // One transfer for the output and the bond.
            _pay(address(0), owner, paid + back);
        } else {
            _pay(token, owner, paid);
            _payBond(owner, back);
        }
        emit ExitProcessed(exitId, token, paid);
    }

    function _processInFlight(uint256 exitId, address token) internal returns (uint256 bounty) {
        InFlightExit storage e = inFlightExits[exitId];
        if (e.status != Status.Waiting) return 0;
        bool canonical = isCanonical(exitId);
        uint256 paid;
        for (uint256 slot = 0; slot < 8; slot++) {
            uint8 bit = uint8(1 << slot);
            if (e.piggybacked & bit == 0 || e.paid & bit != 0) continue;
            Item storage it = items[exitId][slot];
            if (it.token != token) continue;
            e.paid |= bit;
            bool pays = (slot >= 4) == canonical;
            if (pays && !finalized[it.outputId]) {
                finalized[it.outputId] = true;
                uint256 p = _take(token, it.amount);
                paid += p;
                _pay(token, it.owner, p);
            }
            _payBond(it.owner, piggybackBond);
        }
        if (--e.entriesLeft == 0) {
            e.status = Status.Processed;
            bounty = processBounty;
            _payBond(e.starter, e.bond - bounty);
            e.bond = 0;
        }
        emit ExitProcessed(exitId, token, paid);
    }

    // ------------------------------------------------------------------ payouts

    /// Takes up to `amount` of `token` from the deposits, never more than what is left of them;
    /// the caller pays it out.
    function _take(address token, uint256 amount) internal returns (uint256 paid) {
        uint256 left = funds[token];
        paid = amount < left ? amount : left;
        funds[token] = left - paid;
        paidOut[token] += paid;
    }

    function _payBond(address to, uint256 amount) internal {
        _pay(address(0), to, amount);
    }

    function _pay(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            (ok,) = to.call{value: amount, gas: PAY_GAS}("");
        } else {
            (bool sent, bytes memory ret) =
                token.call{gas: PAY_GAS * 3}(abi.encodeCall(IERC20Plasma.transfer, (to, amount)));
            ok = sent && (ret.length == 0 || (ret.length == 32 && abi.decode(ret, (bool))));
        }
        if (!ok) owed[token][to] += amount;
        emit Paid(to, token, amount, ok);
    }

    /// @notice Takes what a refused payout left owed to the caller.
    function withdraw(address token) external {
        uint256 amount = owed[token][msg.sender];
        owed[token][msg.sender] = 0;
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            (bool ok, bytes memory ret) = token.call(abi.encodeCall(IERC20Plasma.transfer, (msg.sender, amount)));
            if (!ok || (ret.length > 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
        }
    }
}
