// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ecdsa} from "../lib/Ecdsa.sol";
import {Poseidon} from "./Poseidon.sol";
import {Groth16Verifier} from "./Groth16Verifier.sol";

interface IERC20Min {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

/// @title ZK rollup (or validium) on L1
/// @notice Accounts live in a Poseidon tree off-chain; L1 holds the funds, a priority queue of
///         requests made on L1 (deposits, full exits, key changes), and the roots of blocks the
///         operator commits and proves with Groth16. A block is committed with its pubdata (rollup)
///         or with a data-availability committee's k-of-n signatures over its data hash
///         (validium); once its proof verifies, its withdrawals and full exits are paid at once.
///         The proof's one public input is SHA-256 (the precompile: a few gas a word) over the
///         old and new roots, SHA-256 of the pubdata and one 57-byte record for each of the
///         block's first `onchainSlots` slots (the only ones that may hold an operation L1 acts
///         on), cut to 253 bits: no Poseidon over users' data on L1.
///         If the operator leaves a priority request unserved past its deadline, anyone may turn
///         on exodus mode: each account then takes its last verified balance out with a Merkle
///         proof, once per token, and unserved deposits are refunded.
contract ZkRollup {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint8 internal constant DEPOSIT = 1;
    uint8 internal constant WITHDRAW = 3;
    uint8 internal constant FULL_EXIT = 4;
    uint8 internal constant CHANGE_KEY = 5;
    uint256 internal constant CHUNK = 12;
    /// Bytes of an on-chain record: kind, account (3), token, address (20), value (32).
    uint256 internal constant RECORD = 57;
    uint256 internal constant INPUT_MASK = (1 << 253) - 1;
    /// BLS12-381's scalar field (a blob's elements) and the generator of the blob's 4096-point
    /// domain, `7^((BLS_R - 1) / 4096)` (EIP-4844).
    uint256 internal constant BLS_R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;
    uint256 internal constant OMEGA = 0x564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306;
    uint256 internal constant LOG_BLOB_ELEMENTS = 12;
    address internal constant POINT_EVALUATION = address(0x0a);
    /// Gas given to an ETH recipient; a recipient that needs more is credited instead.
    uint256 internal constant PAY_GAS = 30_000;

    /// @notice What a block reports for an operation L1 acts on, with the slot that holds it
    ///         (in slot order, below `onchainSlots`).
    struct OnchainOp {
        uint8 kind;
        uint32 account;
        uint8 token;
        address addr;
        uint256 value;
        uint16 slot;
    }

    struct Request {
        bytes32 hash;
        uint64 deadline;
        uint8 kind;
        uint8 token;
        address owner;
        uint128 amount;
    }

    /// @notice A committed block, as `proveBlock` is given it back; L1 keeps only its hash.
    struct Committed {
        uint256 commitment;
        uint256 newRoot;
        uint64 priorityOps;
    }

    Poseidon public immutable poseidon;
    Groth16Verifier public immutable verifier;
    address public immutable operator;
    /// @notice The domain L2 signatures name (rollup id).
    uint64 public immutable domain;
    uint256 public immutable slots;
    uint256 public immutable onchainSlots;
    /// @notice log₂ of the blob elements a block's lane takes (its pubdata's 31-byte elements,
    ///         rounded up to a power of two).
    uint256 public immutable laneLog;
    uint256 public immutable accountLevels;
    uint256 public immutable balanceLevels;
    uint64 public immutable priorityExpiry;
    bool public immutable validium;
    uint256 public immutable threshold;

    /// @notice The last verified state root.
    uint256 public stateRoot;
    uint256 public lastCommittedRoot;
    uint256 public totalCommitted;
    uint256 public totalVerified;
    /// @notice Per committed block: keccak256(abi.encode(Committed, keccak256(abi.encode(ops)))).
    mapping(uint256 => bytes32) public blocks;

    mapping(uint64 => Request) public requests;
    /// @notice First request not yet in a verified block; first not yet in a committed one; count.
    uint64 public firstPriority;
    uint64 public nextPriorityToCommit;
    uint64 public totalPriority;

    mapping(address => uint32) public accountOf;
    mapping(uint32 => address) public ownerOf;
    uint32 public nextAccount = 1;
    mapping(uint8 => address) public tokenAddress;
    uint8 public tokenCount = 1;

    mapping(address => mapping(uint8 => uint256)) public pending;
    bool public exodus;
    mapping(uint32 => mapping(uint8 => bool)) public exited;

    mapping(address => bool) public isMember;
    address[] public members;

    event PriorityRequest(uint64 indexed id, uint8 kind, uint32 indexed account, uint8 token, address addr, uint256 value, uint64 deadline);
    event AccountCreated(uint32 indexed account, address indexed owner);
    event TokenAdded(uint8 indexed id, address token);
    event BlockCommitted(uint256 indexed number, uint256 newRoot, bytes32 dataHash, uint256 commitment, uint64 priorityOps);
    event BlockVerified(uint256 indexed number, uint256 newRoot);
    event Paid(address indexed to, uint8 indexed token, uint256 amount, bool pushed);
    event ExodusMode(uint64 firstUnserved);
    event Exited(uint32 indexed account, uint8 indexed token, uint256 amount);
    event DepositRefunded(uint64 indexed id, address indexed owner, uint256 amount);

    error NotOperator();
    error InExodus();
    error NotInExodus();
    error BadPubdata(uint256 length, uint256 expected);
    error BadOp(uint256 index);
    error PriorityMismatch(uint256 index, uint64 request);
    error NoBlockToVerify();
    error BlockMismatch();
    error BadBatch();
    error NoBlob();
    error BadBlob();
    error InvalidProof();
    error NotField();
    error AmountTooLarge();
    error NoAccount(address who);
    error TreeFull();
    error UnknownToken(uint8 token);
    error TooManyTokens();
    error ExodusNotDue();
    error AlreadyExited(uint32 account, uint8 token);
    error BadProofLength();
    error StaleProof();
    error WrongMode();
    error BadCommittee();
    error BadShape();
    error BadSignature(uint256 index);
    error NotEnoughSignatures(uint256 valid, uint256 needed);
    error NothingPending();
    error TransferFailed();

    modifier onlyOperator() {
        if (msg.sender != operator) revert NotOperator();
        _;
    }

    modifier live() {
        if (exodus) revert InExodus();
        _;
    }

    /// @param shape [slots, accountLevels, balanceLevels, onchainSlots]
    /// @param committee validium members (strictly ascending; empty for a rollup)
    constructor(
        Poseidon poseidon_,
        Groth16Verifier verifier_,
        address operator_,
        uint64 domain_,
        uint256[4] memory shape,
        uint256 genesisRoot,
        uint64 priorityExpiry_,
        address[] memory committee,
        uint256 threshold_
    ) {
        poseidon = poseidon_;
        verifier = verifier_;
        operator = operator_;
        domain = domain_;
        slots = shape[0];
        accountLevels = shape[1];
        balanceLevels = shape[2];
        onchainSlots = shape[3];
        // Records hold 3-byte accounts and 1-byte tokens.
        if (shape[1] > 12 || shape[2] > 4 || shape[3] == 0 || shape[3] > shape[0]) revert BadShape();
        // A block's pubdata in 31-byte blob elements, rounded up to a power of two (one blob).
        uint256 elements = (shape[0] * CHUNK + 30) / 31;
        uint256 log;
        while (1 << log < elements) log++;
        if (log > LOG_BLOB_ELEMENTS) revert BadShape();
        laneLog = log;
        priorityExpiry = priorityExpiry_;
        validium = committee.length > 0;
        if (validium && (threshold_ == 0 || threshold_ > committee.length)) revert BadCommittee();
        for (uint256 i = 0; i < committee.length; i++) {
            if (i > 0 && committee[i] <= committee[i - 1]) revert BadCommittee();
            isMember[committee[i]] = true;
        }
        members = committee;
        threshold = threshold_;
        if (genesisRoot >= R) revert NotField();
        stateRoot = genesisRoot;
        lastCommittedRoot = genesisRoot;
    }

    // ------------------------------------------------------------------ requests on L1

    /// @notice Registers an ERC-20 under the next token id (operator).
    function addToken(address token) external onlyOperator returns (uint8 id) {
        if (tokenCount >= 4 ** balanceLevels) revert TooManyTokens();
        id = tokenCount++;
        tokenAddress[id] = token;
        emit TokenAdded(id, token);
    }

    /// @notice Deposits ETH to `to`'s account (created on first deposit).
    function depositETH(address to) external payable live {
        _deposit(to, 0, msg.value);
    }

    /// @notice Deposits `amount` of token `id` to `to`'s account.
    function depositERC20(uint8 id, uint256 amount, address to) external live {
        address t = tokenAddress[id];
        if (id == 0 || t == address(0)) revert UnknownToken(id);
        uint256 before = IERC20Min(t).balanceOf(address(this));
        _call(t, abi.encodeCall(IERC20Min.transferFrom, (msg.sender, address(this), amount)));
        _deposit(to, id, IERC20Min(t).balanceOf(address(this)) - before);
    }

    /// @notice Asks the operator to withdraw the sender's whole balance of `token` to L1.
    function requestFullExit(uint8 token) external live {
        uint32 acct = _accountOf(msg.sender);
        if (token >= tokenCount) revert UnknownToken(token);
        _enqueue(FULL_EXIT, acct, token, msg.sender, 0, 0);
    }

    /// @notice Sets the sender's L2 key (its Poseidon hash), authorised by the L1 address.
    function changeKey(uint256 pubkeyHash) external live {
        if (pubkeyHash >= R) revert NotField();
        _enqueue(CHANGE_KEY, _accountOf(msg.sender), 0, msg.sender, pubkeyHash, 0);
    }

    function _deposit(address to, uint8 token, uint256 amount) internal {
        if (amount >= 2 ** 128) revert AmountTooLarge();
        uint32 acct = accountOf[to];
        if (acct == 0) {
            if (nextAccount >= 4 ** accountLevels) revert TreeFull();
            acct = nextAccount++;
            accountOf[to] = acct;
            ownerOf[acct] = to;
            emit AccountCreated(acct, to);
        }
        _enqueue(DEPOSIT, acct, token, to, amount, uint128(amount));
    }

    function _accountOf(address who) internal view returns (uint32 acct) {
        acct = accountOf[who];
        if (acct == 0) revert NoAccount(who);
    }

    function _enqueue(uint8 kind, uint32 acct, uint8 token, address addr, uint256 value, uint128 amount) internal {
        uint64 id = totalPriority++;
        uint64 deadline = uint64(block.timestamp) + priorityExpiry;
        requests[id] = Request(_requestHash(kind, acct, token, addr, value), deadline, kind, token, addr, amount);
        emit PriorityRequest(id, kind, acct, token, addr, value, deadline);
    }

    /// A full exit's amount is decided by the block (the balance then), so it is not hashed.
    function _requestHash(uint8 kind, uint32 acct, uint8 token, address addr, uint256 value) internal pure returns (bytes32) {
        return keccak256(abi.encode(kind, acct, token, addr, kind == FULL_EXIT ? 0 : value));
    }

    // ------------------------------------------------------------------ blocks

    /// @notice Commits the next block of a rollup with its pubdata (12 bytes a slot).
    function commitBlock(uint256 newRoot, bytes calldata pubdata, OnchainOp[] calldata ops) external onlyOperator live {
        if (validium) revert WrongMode();
        if (pubdata.length != slots * CHUNK) revert BadPubdata(pubdata.length, slots * CHUNK);
        _commit(newRoot, sha256(pubdata), ops, 0, 0);
    }

    /// @notice A rollup block as `commitBlocks` takes it.
    struct BlockData {
        uint256 newRoot;
        bytes pubdata;
        OnchainOp[] ops;
    }

    /// @notice Commits the next `bs.length` blocks of a rollup in one transaction (each as
    ///         `commitBlock` would): the transaction's base cost and the counters' writes are paid
    ///         once for them all.
    function commitBlocks(BlockData[] calldata bs) external onlyOperator live {
        if (validium) revert WrongMode();
        if (bs.length == 0) revert BadBatch();
        for (uint256 i = 0; i < bs.length; i++) {
            BlockData calldata b = bs[i];
            if (b.pubdata.length != slots * CHUNK) revert BadPubdata(b.pubdata.length, slots * CHUNK);
            _commit(b.newRoot, sha256(b.pubdata), b.ops, 0, 0);
        }
    }

    /// @notice A rollup block whose pubdata is in the transaction's blob, as `commitBlocksBlob`
    ///         takes it: its data hash (SHA-256 of its pubdata, which its proof binds) and `y`,
    ///         its lane's polynomial at the point L1 gives it.
    struct BlobBlock {
        uint256 newRoot;
        bytes32 dataHash;
        uint256 y;
        OnchainOp[] ops;
    }

    /// @notice Commits the next `bs.length` blocks of a rollup whose pubdata is in this
    ///         transaction's first blob, block `i` in lane `i` (`2^laneLog` elements from element
    ///         `i·2^laneLog`, 31 bytes an element, zeros after). L1 draws
    ///         `z = SHA-256(versioned hash ‖ data hashes) mod BLS_R` once both are fixed, gives
    ///         block `i` the point `z / c_i` (`c_i` the root of unity that shifts lane 0's points
    ///         onto lane `i`'s) in its proof's public input, and checks with the point-evaluation
    ///         precompile that the blob's polynomial at `z` is the sum of the blocks' `y`: a blob
    ///         holding anything else passes with probability below 2⁻²⁴⁰.
    /// @param kzg the blob's KZG commitment (48 bytes) and its proof at `z` (48 bytes)
    function commitBlocksBlob(BlobBlock[] calldata bs, bytes calldata kzg) external onlyOperator live {
        if (validium) revert WrongMode();
        uint256 k = bs.length;
        if (k == 0 || k > 1 << (LOG_BLOB_ELEMENTS - laneLog) || kzg.length != 96) revert BadBatch();
        bytes32 vh = blobhash(0);
        if (vh == 0) revert NoBlob();
        bytes memory seed = new bytes(32 * (k + 1));
        assembly {
            mstore(add(seed, 32), vh)
        }
        for (uint256 i = 0; i < k; i++) {
            bytes32 h = bs[i].dataHash;
            assembly {
                mstore(add(seed, add(64, mul(i, 32))), h)
            }
        }
        uint256 z = uint256(sha256(seed)) % BLS_R;
        if (z == 0) revert BadBlob();
        uint256 y;
        for (uint256 i = 0; i < k; i++) {
            BlobBlock calldata b = bs[i];
            if (b.y >= BLS_R) revert BadBlob();
            y = addmod(y, b.y, BLS_R);
            _commit(b.newRoot, b.dataHash, b.ops, mulmod(z, _laneShiftInverse(i), BLS_R), b.y);
        }
        // The precompile costs 50,000 and takes all it is given when it refuses.
        (bool ok, bytes memory out) = POINT_EVALUATION.staticcall{gas: 50_000}(abi.encodePacked(vh, z, y, kzg));
        if (!ok || out.length != 64) revert BadBlob();
    }

    /// @dev `c_lane⁻¹ = ω^(4096 − brp(lane))`, `brp` reversing the lane's `12 − laneLog` bits.
    function _laneShiftInverse(uint256 lane) internal view returns (uint256 r) {
        uint256 bits = LOG_BLOB_ELEMENTS - laneLog;
        uint256 rev;
        for (uint256 j = 0; j < bits; j++) {
            rev = (rev << 1) | ((lane >> j) & 1);
        }
        uint256 e = (4096 - rev) % 4096;
        uint256 base = OMEGA;
        r = 1;
        while (e > 0) {
            if (e & 1 == 1) r = mulmod(r, base, BLS_R);
            base = mulmod(base, base, BLS_R);
            e >>= 1;
        }
    }

    /// @notice Commits the next block of a validium: the pubdata stays with the committee, whose
    ///         members sign `dacDigest(number, dataHash)`; signatures sorted by signer, distinct, at
    ///         least `threshold` of them valid.
    function commitBlockValidium(uint256 newRoot, bytes32 dataHash, OnchainOp[] calldata ops, bytes[] calldata signatures)
        external
        onlyOperator
        live
    {
        if (!validium) revert WrongMode();
        bytes32 digest = dacDigest(totalCommitted + 1, dataHash);
        address last;
        uint256 valid;
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = Ecdsa.recover(digest, signatures[i]);
            if (signer == address(0) || !isMember[signer] || signer <= last) revert BadSignature(i);
            last = signer;
            valid++;
        }
        if (valid < threshold) revert NotEnoughSignatures(valid, threshold);
        _commit(newRoot, dataHash, ops, 0, 0);
    }

    /// @notice What committee members sign for block `number` of this validium.
    function dacDigest(uint256 number, bytes32 dataHash) public view returns (bytes32) {
        return keccak256(abi.encode("aqueduct-dac", block.chainid, address(this), number, dataHash));
    }

    /// @dev `z` and `y`: the block's blob point and its lane's value there (zero outside a blob).
    function _commit(uint256 newRoot, bytes32 dataHash, OnchainOp[] calldata ops, uint256 z, uint256 y) internal {
        if (newRoot >= R) revert NotField();
        uint64 next = nextPriorityToCommit;
        bytes memory records = new bytes(onchainSlots * RECORD);
        for (uint256 i = 0; i < ops.length; i++) {
            OnchainOp calldata op = ops[i];
            if (op.value >= R || op.account >= 4 ** accountLevels || op.slot >= onchainSlots) revert BadOp(i);
            if (i > 0 && op.slot <= ops[i - 1].slot) revert BadOp(i);
            if (op.kind == DEPOSIT || op.kind == FULL_EXIT || op.kind == CHANGE_KEY) {
                if (next >= totalPriority) revert PriorityMismatch(i, next);
                if (requests[next].hash != _requestHash(op.kind, op.account, op.token, op.addr, op.value)) {
                    revert PriorityMismatch(i, next);
                }
                next++;
            } else if (op.kind != WITHDRAW) {
                revert BadOp(i);
            }
            // The record at its slot: kind ‖ account (3) ‖ token ‖ address (20) ‖ value (32).
            uint256 head = (uint256(op.kind) << 248) | (uint256(op.account) << 224) | (uint256(op.token) << 216)
                | (uint256(uint160(op.addr)) << 56);
            uint256 value = op.value;
            uint256 at = uint256(op.slot) * RECORD;
            assembly {
                let p := add(add(records, 32), at)
                mstore(p, head)
                mstore(add(p, 25), value)
            }
        }
        uint256 commitment =
            uint256(sha256(abi.encodePacked(lastCommittedRoot, newRoot, dataHash, z, y, records))) & INPUT_MASK;
        uint256 n = ++totalCommitted;
        uint64 count = next - nextPriorityToCommit;
        blocks[n] = keccak256(abi.encode(Committed(commitment, newRoot, count), keccak256(abi.encode(ops))));
        nextPriorityToCommit = next;
        lastCommittedRoot = newRoot;
        emit BlockCommitted(n, newRoot, dataHash, commitment, count);
    }

    /// @notice Verifies the next committed block's proof and executes it: its withdrawals and
    ///         full exits are paid now.
    ///         `b` and `ops` are what the block was committed with (`BlockCommitted` has `b`).
    function proveBlock(uint256[8] calldata proof, Committed calldata b, OnchainOp[] calldata ops) external live {
        uint256 n = totalVerified + 1;
        if (n > totalCommitted) revert NoBlockToVerify();
        _checkCommitted(n, b, ops);
        if (!verifier.verify(proof, b.commitment)) revert InvalidProof();
        _execute(n, b, ops);
        totalVerified = n;
    }

    /// @notice Verifies the next `bs.length` committed blocks with one batched pairing check
    ///         (`Groth16Verifier.verifyBatch`: one pairing a block plus three, instead of four a
    ///         block) and executes them in order. All or none: one bad proof reverts the batch.
    function proveBlocks(uint256[8][] calldata proofs, Committed[] calldata bs, OnchainOp[][] calldata ops)
        external
        live
    {
        uint256 k = bs.length;
        if (k == 0 || proofs.length != k || ops.length != k) revert BadBatch();
        uint256 first = totalVerified + 1;
        if (first + k - 1 > totalCommitted) revert NoBlockToVerify();
        uint256[] memory inputs = new uint256[](k);
        for (uint256 i = 0; i < k; i++) {
            _checkCommitted(first + i, bs[i], ops[i]);
            inputs[i] = bs[i].commitment;
        }
        if (!verifier.verifyBatch(proofs, inputs)) revert InvalidProof();
        for (uint256 i = 0; i < k; i++) {
            _execute(first + i, bs[i], ops[i]);
        }
        totalVerified = first + k - 1;
    }

    function _checkCommitted(uint256 n, Committed calldata b, OnchainOp[] calldata ops) internal view {
        if (keccak256(abi.encode(b, keccak256(abi.encode(ops)))) != blocks[n]) revert BlockMismatch();
    }

    /// @dev A verified block's effects: its root, the requests it served, its payouts. The
    ///      block's commitment slot is cleared (its gas refund pays part of the verification).
    function _execute(uint256 n, Committed calldata b, OnchainOp[] calldata ops) internal {
        delete blocks[n];
        stateRoot = b.newRoot;
        firstPriority += b.priorityOps;
        emit BlockVerified(n, b.newRoot);
        for (uint256 i = 0; i < ops.length; i++) {
            if ((ops[i].kind == WITHDRAW || ops[i].kind == FULL_EXIT) && ops[i].value > 0) {
                _pay(ops[i].addr, ops[i].token, ops[i].value);
            }
        }
    }

    // ------------------------------------------------------------------ exodus

    /// @notice Turns on exodus mode when the oldest unserved request is past its deadline.
    ///         Committed but unverified blocks are dropped.
    function activateExodus() external live {
        if (firstPriority >= totalPriority || block.timestamp <= requests[firstPriority].deadline) revert ExodusNotDue();
        exodus = true;
        totalCommitted = totalVerified;
        lastCommittedRoot = stateRoot;
        nextPriorityToCommit = firstPriority;
        emit ExodusMode(firstPriority);
    }

    /// @notice In exodus mode, pays `account`'s owner its balance of `token` in the last verified
    ///         state, proven by the balance's path in the account's balance tree and the account's
    ///         path in the account tree (three siblings a level, from the leaf up). Once.
    function exit(
        uint32 account,
        uint8 token,
        uint256 balance,
        uint32 nonce,
        uint256 pubkeyHash,
        uint256[] calldata balanceSiblings,
        uint256[] calldata accountSiblings
    ) external {
        if (!exodus) revert NotInExodus();
        if (exited[account][token]) revert AlreadyExited(account, token);
        address owner = ownerOf[account];
        if (owner == address(0)) revert NoAccount(owner);
        if (balanceSiblings.length != 3 * balanceLevels || accountSiblings.length != 3 * accountLevels) revert BadProofLength();
        if (balance >= 2 ** 128 || pubkeyHash >= R) revert NotField();
        uint256 balanceRoot = poseidon.quadRoot(balance, token, balanceSiblings);
        uint256 leaf = poseidon.hash4(nonce, pubkeyHash, uint256(uint160(owner)), balanceRoot);
        if (poseidon.quadRoot(leaf, account, accountSiblings) != stateRoot) revert StaleProof();
        exited[account][token] = true;
        emit Exited(account, token, balance);
        if (balance > 0) _pay(owner, token, balance);
    }

    /// @notice In exodus mode, refunds up to `max` deposits no verified block took.
    function refundDeposits(uint64 max) external {
        if (!exodus) revert NotInExodus();
        uint64 end = firstPriority + max < totalPriority ? firstPriority + max : totalPriority;
        for (uint64 id = firstPriority; id < end; id++) {
            Request memory r = requests[id];
            if (r.kind == DEPOSIT && r.amount > 0) {
                emit DepositRefunded(id, r.owner, r.amount);
                _pay(r.owner, r.token, r.amount);
            }
        }
        firstPriority = end;
    }

    // ------------------------------------------------------------------ payments

    /// @notice Takes out a payment that could not be pushed.
    function withdrawPending(uint8 token) external {
        uint256 amount = pending[msg.sender][token];
        if (amount == 0) revert NothingPending();
        pending[msg.sender][token] = 0;
        if (token == 0) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            _call(tokenAddress[token], abi.encodeCall(IERC20Min.transfer, (msg.sender, amount)));
        }
    }

    function _pay(address to, uint8 token, uint256 amount) internal {
        bool ok;
        if (token == 0) {
            (ok,) = to.call{value: amount, gas: PAY_GAS}("");
        } else {
            (bool sent, bytes memory ret) =
                tokenAddress[token].call{gas: 100_000}(abi.encodeCall(IERC20Min.transfer, (to, amount)));
            ok = sent && (ret.length == 0 || abi.decode(ret, (bool)));
        }
        if (!ok) pending[to][token] += amount;
        emit Paid(to, token, amount, ok);
    }

    function _call(address t, bytes memory data) internal {
        (bool ok, bytes memory ret) = t.call(data);
        if (!ok || (ret.length > 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
    }

    function memberCount() external view returns (uint256) {
        return members.length;
    }
}
