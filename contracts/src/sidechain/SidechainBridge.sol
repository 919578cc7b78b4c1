// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ecdsa} from "../lib/Ecdsa.sol";

interface IERC20Sidechain {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title SidechainBridge
/// @notice The L1 side of a sidechain with its own BFT validators: the validator set and its
///         stake, checkpoints of the sidechain accepted only with signatures from more than 2/3
///         of the stake, ETH and ERC-20 locked for the validators to mint on the sidechain, and
///         withdrawals paid against a checkpoint's withdrawals root.
/// @dev The bridge is exactly as safe as a 2/3 stake majority of the validators: a checkpoint
///      they sign is taken as the truth (no fraud or validity proof). Payouts never exceed what
///      was locked per token (`funds`), whatever the validators sign.
///      Signatures: secp256k1 over the EIP-712 digest of `Checkpoint`, 65 bytes each
///      (r ‖ s ‖ v, low s), concatenated, signers strictly ascending by address (distinct).
contract SidechainBridge {
    struct Checkpoint {
        uint64 number;
        uint64 startBlock;
        uint64 endBlock;
        bytes32 blockHash;
        bytes32 stateRoot;
        bytes32 withdrawalsRoot;
    }

    struct Withdrawal {
        uint64 nonce;
        address recipient;
        address token;
        uint256 amount;
    }

    bytes32 public constant CHECKPOINT_TYPEHASH = keccak256(
        "Checkpoint(uint64 number,uint64 startBlock,uint64 endBlock,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// Depth of a checkpoint's withdrawals tree (at most 2^20 withdrawals a checkpoint).
    uint256 public constant WITHDRAWAL_DEPTH = 20;
    /// Gas a payout may use before it is kept as owed instead.
    uint256 private constant PAY_GAS = 50_000;

    /// The sidechain's chain id.
    uint64 public immutable sidechainId;
    /// Least stake (wei) a joining validator bonds.
    uint256 public immutable minStake;

    /// Validators whose signatures count now, ascending.
    address[] internal validatorList;
    mapping(address => uint256) public stakeOf;
    uint256 public totalStake;
    /// Changes to the set, applied when the next checkpoint is accepted.
    address[] internal pendingJoins;
    mapping(address => uint256) public pendingStake;
    address[] internal pendingLeaves;
    mapping(address => bool) public leaving;
    /// Stake (wei) of validators bonded through `requestJoin`, returned when they leave.
    mapping(address => uint256) public bonded;
    /// Validator-set epoch: bumped each time a checkpoint applies changes.
    uint64 public epoch;

    /// Checkpoints accepted so far, and the last sidechain block they cover.
    uint64 public checkpointCount;
    uint64 public lastEndBlock;
    mapping(uint256 => bytes32) public withdrawalsRoots;
    mapping(uint256 => bytes32) public checkpointHashes;

    uint64 public depositCount;
    /// Withdrawal nonces paid, 256 to a word.
    mapping(uint256 => uint256) internal withdrawnBits;
    /// Locked per token (address(0): ETH) and not yet paid out.
    mapping(address => uint256) public funds;
    mapping(address => uint256) public deposited;
    mapping(address => uint256) public paidOut;
    /// Payouts a recipient refused, to take with `claim`.
    mapping(address => mapping(address => uint256)) public owed;

    event Deposited(
        uint64 indexed nonce, address indexed depositor, address indexed recipient, address token, uint256 amount
    );
    event CheckpointSubmitted(
        uint64 indexed number,
        uint64 startBlock,
        uint64 endBlock,
        bytes32 blockHash,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        uint256 signedStake
    );
    event Withdrawn(uint64 indexed nonce, address indexed recipient, address token, uint256 amount, bool paid);
    /// A candidate's consensus key (ed25519) and where its consensus p2p and JSON-RPC listen:
    /// the validators add it as a peer, and to consensus when the set changes.
    event ValidatorJoinRequested(address indexed validator, uint256 stake, bytes32 consensusKey, string p2p, string rpc);
    event ValidatorLeaveRequested(address indexed validator);
    event ValidatorSetChanged(uint64 indexed epoch, uint64 atCheckpoint, address[] validators, uint256[] stakes);

    error ZeroAmount();
    error TokenTransferFailed(address token);
    error TransferFailed();
    error WrongCheckpointNumber(uint64 expected, uint64 given);
    error WrongStartBlock(uint64 expected, uint64 given);
    error EmptyRange();
    error MalformedSignatures(uint256 length);
    error SignersNotAscending(uint256 index);
    error NotValidator(address signer);
    error NotEnoughStake(uint256 signed, uint256 total);
    error UnknownCheckpoint(uint256 number);
    error BadProof();
    error AlreadyWithdrawn(uint64 nonce);
    error InsufficientFunds(address token, uint256 left, uint256 wanted);
    error BadValidatorSet();
    error AlreadyValidator(address who);
    error StakeTooLow(uint256 given, uint256 least);
    error NothingPending(address who);

    /// @param validators_ the first validator set (secp256k1 signer addresses), ascending
    /// @param stakes_ their stakes (voting weight; genesis stake is not bonded here)
    constructor(uint64 sidechainId_, uint256 minStake_, address[] memory validators_, uint256[] memory stakes_) {
        if (validators_.length == 0 || validators_.length != stakes_.length) revert BadValidatorSet();
        sidechainId = sidechainId_;
        minStake = minStake_;
        address prev;
        uint256 total;
        for (uint256 i = 0; i < validators_.length; i++) {
            if (validators_[i] <= prev || stakes_[i] == 0) revert BadValidatorSet();
            prev = validators_[i];
            stakeOf[prev] = stakes_[i];
            total += stakes_[i];
            validatorList.push(prev);
        }
        totalStake = total;
        emit ValidatorSetChanged(0, 0, validators_, stakes_);
    }

    // ------------------------------------------------------------------ deposits

    /// @notice Locks `msg.value` ETH for `recipient` on the sidechain.
    function depositETH(address recipient) external payable {
        _deposit(recipient, address(0), msg.value);
    }

    /// @notice Locks `amount` of `token` (approved beforehand) for `recipient` on the sidechain.
    function depositERC20(address token, address recipient, uint256 amount) external {
        if (token == address(0)) revert ZeroAmount();
        (bool ok, bytes memory ret) =
            token.call(abi.encodeCall(IERC20Sidechain.transferFrom, (msg.sender, address(this), amount)));
        if (!ok || (ret.length > 0 && !abi.decode(ret, (bool)))) revert TokenTransferFailed(token);
        _deposit(recipient, token, amount);
    }

    function _deposit(address recipient, address token, uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        uint64 nonce = depositCount;
        depositCount = nonce + 1;
        funds[token] += amount;
        deposited[token] += amount;
        emit Deposited(nonce, msg.sender, recipient, token, amount);
    }

    // ------------------------------------------------------------------ checkpoints

    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("Aqueduct Sidechain"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    /// @notice What each validator signs for `c`.
    function checkpointDigest(Checkpoint calldata c) public view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                CHECKPOINT_TYPEHASH, c.number, c.startBlock, c.endBlock, c.blockHash, c.stateRoot, c.withdrawalsRoot
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    /// @notice Accepts checkpoint `c` when `signatures` (65 bytes each, signers ascending) come
    ///         from more than 2/3 of the current stake; then applies pending validator changes.
    function submitCheckpoint(Checkpoint calldata c, bytes calldata signatures) external {
        uint64 n = checkpointCount;
        if (c.number != n) revert WrongCheckpointNumber(n, c.number);
        uint64 start = lastEndBlock + 1;
        if (c.startBlock != start) revert WrongStartBlock(start, c.startBlock);
        if (c.endBlock < c.startBlock) revert EmptyRange();
        if (signatures.length == 0 || signatures.length % 65 != 0) revert MalformedSignatures(signatures.length);

        bytes32 digest = checkpointDigest(c);
        uint256 signed;
        address prev;
        uint256 count = signatures.length / 65;
        for (uint256 i = 0; i < count; i++) {
            address signer = Ecdsa.recover(digest, signatures[i * 65:(i + 1) * 65]);
            if (signer <= prev) revert SignersNotAscending(i);
            uint256 s = stakeOf[signer];
            if (s == 0) revert NotValidator(signer);
            signed += s;
            prev = signer;
        }
        uint256 total = totalStake;
        if (signed * 3 <= total * 2) revert NotEnoughStake(signed, total);

        checkpointCount = n + 1;
        lastEndBlock = c.endBlock;
        withdrawalsRoots[n] = c.withdrawalsRoot;
        checkpointHashes[n] = keccak256(abi.encode(c));
        emit CheckpointSubmitted(n, c.startBlock, c.endBlock, c.blockHash, c.stateRoot, c.withdrawalsRoot, signed);
        if (pendingJoins.length != 0 || pendingLeaves.length != 0) _applyChanges(n);
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Pays withdrawal `w`, leaf `index` of checkpoint `number`'s withdrawals tree.
    function withdraw(uint256 number, Withdrawal calldata w, uint256 index, bytes32[] calldata proof) external {
        bytes32 root = withdrawalsRoots[number];
        if (number >= checkpointCount) revert UnknownCheckpoint(number);
        if (proof.length != WITHDRAWAL_DEPTH || index >> WITHDRAWAL_DEPTH != 0) revert BadProof();
        bytes32 node = withdrawalLeaf(w);
        for (uint256 d = 0; d < WITHDRAWAL_DEPTH; d++) {
            node = (index >> d) & 1 == 0
                ? keccak256(abi.encodePacked(node, proof[d]))
                : keccak256(abi.encodePacked(proof[d], node));
        }
        if (node != root) revert BadProof();
        uint256 word = w.nonce >> 8;
        uint256 bit = 1 << (w.nonce & 0xff);
        uint256 bits = withdrawnBits[word];
        if (bits & bit != 0) revert AlreadyWithdrawn(w.nonce);
        withdrawnBits[word] = bits | bit;
        uint256 left = funds[w.token];
        if (w.amount > left) revert InsufficientFunds(w.token, left, w.amount);
        funds[w.token] = left - w.amount;
        paidOut[w.token] += w.amount;
        bool ok = _pay(w.token, w.recipient, w.amount);
        emit Withdrawn(w.nonce, w.recipient, w.token, w.amount, ok);
    }

    /// @notice A withdrawal's leaf in a checkpoint's tree.
    function withdrawalLeaf(Withdrawal calldata w) public pure returns (bytes32) {
        return keccak256(abi.encode(w.nonce, w.recipient, w.token, w.amount));
    }

    function isWithdrawn(uint64 nonce) external view returns (bool) {
        return withdrawnBits[nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    function _pay(address token, address to, uint256 amount) internal returns (bool ok) {
        if (amount == 0) return true;
        if (token == address(0)) {
            (ok,) = to.call{value: amount, gas: PAY_GAS}("");
        } else {
            (bool sent, bytes memory ret) =
                token.call{gas: PAY_GAS * 3}(abi.encodeCall(IERC20Sidechain.transfer, (to, amount)));
            ok = sent && (ret.length == 0 || (ret.length == 32 && abi.decode(ret, (bool))));
        }
        if (!ok) owed[token][to] += amount;
    }

    /// @notice Takes what a refused payout left owed to the caller.
    function claim(address token) external {
        uint256 amount = owed[token][msg.sender];
        owed[token][msg.sender] = 0;
        if (amount == 0) return;
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            (bool ok, bytes memory ret) = token.call(abi.encodeCall(IERC20Sidechain.transfer, (msg.sender, amount)));
            if (!ok || (ret.length > 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
        }
    }

    // ------------------------------------------------------------------ validator set

    function validators() external view returns (address[] memory list, uint256[] memory stakes) {
        list = validatorList;
        stakes = new uint256[](list.length);
        for (uint256 i = 0; i < list.length; i++) {
            stakes[i] = stakeOf[list[i]];
        }
    }

    /// @notice Bonds `msg.value` to join the set at the next checkpoint, with the candidate's
    ///         consensus key and its p2p and JSON-RPC addresses (announced, not checked).
    function requestJoin(bytes32 consensusKey, string calldata p2p, string calldata rpc) external payable {
        if (stakeOf[msg.sender] != 0 || pendingStake[msg.sender] != 0) revert AlreadyValidator(msg.sender);
        if (msg.value < minStake || msg.value == 0) revert StakeTooLow(msg.value, minStake);
        pendingStake[msg.sender] = msg.value;
        bonded[msg.sender] += msg.value;
        pendingJoins.push(msg.sender);
        emit ValidatorJoinRequested(msg.sender, msg.value, consensusKey, p2p, rpc);
    }

    /// @notice Leaves the set at the next checkpoint; a bonded stake is returned then.
    function requestLeave() external {
        if (stakeOf[msg.sender] == 0 || leaving[msg.sender]) revert NothingPending(msg.sender);
        // The set never empties: the chain could not checkpoint again.
        if (validatorList.length <= pendingLeaves.length + 1) revert BadValidatorSet();
        leaving[msg.sender] = true;
        pendingLeaves.push(msg.sender);
        emit ValidatorLeaveRequested(msg.sender);
    }

    function _applyChanges(uint64 atCheckpoint) internal {
        uint256 total = totalStake;
        for (uint256 i = 0; i < pendingLeaves.length; i++) {
            address v = pendingLeaves[i];
            total -= stakeOf[v];
            stakeOf[v] = 0;
            leaving[v] = false;
        }
        for (uint256 i = 0; i < pendingJoins.length; i++) {
            address v = pendingJoins[i];
            stakeOf[v] = pendingStake[v];
            total += pendingStake[v];
            pendingStake[v] = 0;
        }
        // Rebuild the ascending list from the old list and the joins; a set left empty keeps
        // the old one (the chain could never checkpoint again).
        address[] memory old = validatorList;
        address[] memory joins = pendingJoins;
        address[] memory next = new address[](old.length + joins.length);
        uint256 k;
        for (uint256 i = 0; i < old.length; i++) {
            if (stakeOf[old[i]] != 0) next[k++] = old[i];
        }
        for (uint256 i = 0; i < joins.length; i++) {
            next[k++] = joins[i];
        }
        if (k == 0) revert BadValidatorSet();
        // Insertion sort: sets are small.
        for (uint256 i = 1; i < k; i++) {
            address x = next[i];
            uint256 j = i;
            while (j > 0 && next[j - 1] > x) {
                next[j] = next[j - 1];
                j--;
            }
            next[j] = x;
        }
        delete validatorList;
        uint256[] memory stakes = new uint256[](k);
        address[] memory list = new address[](k);
        for (uint256 i = 0; i < k; i++) {
            validatorList.push(next[i]);
            list[i] = next[i];
            stakes[i] = stakeOf[next[i]];
        }
        totalStake = total;
        // Bonds of those who left go back to them.
        address[] memory leaves = pendingLeaves;
        delete pendingJoins;
        delete pendingLeaves;
        epoch += 1;
        emit ValidatorSetChanged(epoch, atCheckpoint, list, stakes);
        for (uint256 i = 0; i < leaves.length; i++) {
            uint256 b = bonded[leaves[i]];
            bonded[leaves[i]] = 0;
            if (b != 0) _pay(address(0), leaves[i], b);
        }
    }
}
