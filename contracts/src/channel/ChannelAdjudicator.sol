// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ecdsa} from "../lib/Ecdsa.sol";

interface IERC20Channel {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title Two-party payment channel adjudicator
/// @notice Holds the deposits of payment channels between two parties (`a` opens, `b` joins),
///         in ETH or one ERC-20 per channel. Off-chain, the parties co-sign states: a version,
///         both balances and the pending hash-time-locked payments (HTLCs). On L1:
///         - a cooperative close with both signatures pays out at once;
///         - a unilateral close with a co-signed state starts a challenge period in which anyone
///           holding a higher co-signed version (the other party, its watchtower) replaces it;
///         - after the period, `settle` pays the balances and resolves each HTLC: to its receiver
///           if its preimage was revealed here by its expiry, to its sender once it has expired.
///         Every state must account for exactly the channel's deposits, so a channel never pays
///         out more than was deposited into it.
contract ChannelAdjudicator {
    /// Gas given to an ETH or token recipient; one that refuses is credited instead.
    uint256 internal constant PAY_GAS = 30_000;
    uint256 internal constant MAX_CHALLENGE_PERIOD = 30 days;
    /// Most HTLCs a state may hold (Lightning allows 483 per direction; L1 gas bounds ours).
    uint256 public constant MAX_HTLCS = 64;
    bytes32 public constant STATE_TAG = keccak256("aqueduct.channel.state.v1");
    bytes32 public constant CLOSE_TAG = keccak256("aqueduct.channel.close.v1");

    enum Status {
        None,
        Opening,
        Open,
        Closing
    }

    /// @notice A payment locked to `hash` until `expiry` (unix seconds).
    struct Htlc {
        bool fromA;
        uint96 amount;
        bytes32 hash;
        uint64 expiry;
    }

    /// @notice A co-signed channel state.
    struct State {
        uint256 channelId;
        uint64 version;
        uint96 balanceA;
        uint96 balanceB;
        Htlc[] htlcs;
    }

    struct Channel {
        address a;
        uint96 depositA;
        address b;
        uint96 depositB;
        address token;
        uint32 challengePeriod;
        Status status;
        // Set by a unilateral close. B's balance is not stored: it is what the deposits leave
        // after A's balance and the HTLCs (every accepted state accounts for them exactly).
        uint64 version;
        uint64 deadline;
        uint96 balanceA;
        bytes32 htlcsHash;
    }

    mapping(uint256 => Channel) internal channels;
    uint256 public channelCount;
    /// @notice When a preimage's keccak256 hash was first revealed here (0: never).
    mapping(bytes32 => uint64) public revealedAt;
    /// @notice Payouts a recipient refused, by token (0 = ETH) and recipient; taken with `withdraw`.
    mapping(address => mapping(address => uint256)) public owed;

    event ChannelOpened(
        uint256 indexed id, address indexed a, address indexed b, address token, uint96 deposit, uint32 challengePeriod
    );
    event ChannelJoined(uint256 indexed id, uint96 deposit);
    event ChannelClosing(uint256 indexed id, address indexed closer, uint64 version, uint64 deadline);
    event ChannelChallenged(uint256 indexed id, address indexed challenger, uint64 version);
    event ChannelSettled(uint256 indexed id, uint256 paidA, uint256 paidB);
    event SecretRevealed(bytes32 indexed hash, bytes32 preimage);
    event Paid(address indexed to, address token, uint256 amount, bool ok);

    error BadStatus(Status status);
    error NotParty();
    error BadAmount();
    error BadPeriod();
    error BadSignature();
    error BadBalances();
    error TooManyHtlcs();
    error StaleVersion(uint64 onchain, uint64 offered);
    error ChallengePeriodOver();
    error ChallengePeriodRunning(uint64 deadline);
    error HtlcsMismatch();
    error HtlcPending(uint256 index);
    error TransferFailed();

    /// @notice Opens a channel with `b`, depositing `amount` of `token` (0 = ETH, sent as value).
    function open(address b, address token, uint96 amount, uint32 challengePeriod)
        external
        payable
        returns (uint256 id)
    {
        if (b == address(0) || b == msg.sender) revert NotParty();
        if (challengePeriod == 0 || challengePeriod > MAX_CHALLENGE_PERIOD) revert BadPeriod();
        _collect(token, amount);
        id = ++channelCount;
        Channel storage c = channels[id];
        c.a = msg.sender;
        c.depositA = amount;
        c.b = b;
        c.token = token;
        c.challengePeriod = challengePeriod;
        c.status = Status.Opening;
        emit ChannelOpened(id, msg.sender, b, token, amount, challengePeriod);
    }

    /// @notice The counterparty's deposit; the channel is open from here.
    function join(uint256 id, uint96 amount) external payable {
        Channel storage c = channels[id];
        if (c.status != Status.Opening) revert BadStatus(c.status);
        if (msg.sender != c.b) revert NotParty();
        _collect(c.token, amount);
        c.depositB = amount;
        c.status = Status.Open;
        emit ChannelJoined(id, amount);
    }

    /// @notice The opener takes its deposit back while the counterparty has not joined.
    function cancel(uint256 id) external {
        Channel storage c = channels[id];
        if (c.status != Status.Opening) revert BadStatus(c.status);
        if (msg.sender != c.a) revert NotParty();
        (address a, address token, uint256 amount) = (c.a, c.token, c.depositA);
        delete channels[id];
        _pay(token, a, amount);
        emit ChannelSettled(id, amount, 0);
    }

    /// @notice Closes at once with final balances both parties signed (`closeDigest`).
    function closeCooperatively(uint256 id, uint96 balanceA, uint96 balanceB, bytes calldata sigA, bytes calldata sigB)
        external
    {
        Channel storage c = channels[id];
        Status status = c.status;
        if (status != Status.Open && status != Status.Closing) revert BadStatus(status);
        (address a, address b, address token) = (c.a, c.b, c.token);
        if (uint256(balanceA) + balanceB != uint256(c.depositA) + c.depositB) revert BadBalances();
        bytes32 digest = closeDigest(id, balanceA, balanceB);
        if (Ecdsa.recover(digest, sigA) != a || Ecdsa.recover(digest, sigB) != b) revert BadSignature();
        delete channels[id];
        _pay(token, a, balanceA);
        _pay(token, b, balanceB);
        emit ChannelSettled(id, balanceA, balanceB);
    }

    /// @notice A party closes alone with the latest state it holds (version 0, the deposits,
    ///         needs no signatures). The challenge period starts.
    function close(State calldata s, bytes calldata sigA, bytes calldata sigB) external {
        Channel storage c = channels[s.channelId];
        if (c.status != Status.Open) revert BadStatus(c.status);
        if (msg.sender != c.a && msg.sender != c.b) revert NotParty();
        bytes32 htlcsHash = _check(c, s, sigA, sigB);
        uint64 deadline = uint64(block.timestamp) + c.challengePeriod;
        c.status = Status.Closing;
        c.version = s.version;
        c.deadline = deadline;
        c.balanceA = s.balanceA;
        if (htlcsHash != c.htlcsHash) c.htlcsHash = htlcsHash;
        emit ChannelClosing(s.channelId, msg.sender, s.version, deadline);
    }

    /// @notice Anyone holding a co-signed state newer than the one closing replaces it, until
    ///         the deadline.
    function challenge(State calldata s, bytes calldata sigA, bytes calldata sigB) external {
        Channel storage c = channels[s.channelId];
        if (c.status != Status.Closing) revert BadStatus(c.status);
        if (block.timestamp > c.deadline) revert ChallengePeriodOver();
        if (s.version <= c.version) revert StaleVersion(c.version, s.version);
        bytes32 htlcsHash = _check(c, s, sigA, sigB);
        c.version = s.version;
        c.balanceA = s.balanceA;
        if (htlcsHash != c.htlcsHash) c.htlcsHash = htlcsHash;
        emit ChannelChallenged(s.channelId, msg.sender, s.version);
    }

    /// @notice After the deadline: pays both balances and resolves every HTLC of the closing
    ///         state (given in full). Reverts with `HtlcPending` while an HTLC has neither its
    ///         preimage revealed nor its expiry passed.
    function settle(uint256 id, Htlc[] calldata htlcs) external {
        Channel storage c = channels[id];
        if (c.status != Status.Closing) revert BadStatus(c.status);
        if (block.timestamp <= c.deadline) revert ChallengePeriodRunning(c.deadline);
        if (_htlcsHash(htlcs) != c.htlcsHash) revert HtlcsMismatch();
        uint256 payA = c.balanceA;
        uint256 payB = uint256(c.depositA) + c.depositB - payA;
        for (uint256 i = 0; i < htlcs.length; i++) {
            Htlc calldata h = htlcs[i];
            uint64 revealed = revealedAt[h.hash];
            bool toReceiver;
            if (revealed != 0 && revealed <= h.expiry) toReceiver = true;
            else if (block.timestamp > h.expiry) toReceiver = false;
            else revert HtlcPending(i);
            // payB started with every HTLC amount in it; an HTLC that goes to A moves over.
            if (toReceiver != h.fromA) {
                payA += h.amount;
                payB -= h.amount;
            }
        }
        (address a, address b, address token) = (c.a, c.b, c.token);
        delete channels[id];
        _pay(token, a, payA);
        _pay(token, b, payB);
        emit ChannelSettled(id, payA, payB);
    }

    /// @notice Records that `preimage` is known now; an HTLC locked to its hash settles to its
    ///         receiver if this happened by its expiry.
    function reveal(bytes32 preimage) external {
        bytes32 hash = keccak256(abi.encodePacked(preimage));
        if (revealedAt[hash] == 0) {
            revealedAt[hash] = uint64(block.timestamp);
            emit SecretRevealed(hash, preimage);
        }
    }

    /// @notice Takes a payout this contract could not deliver.
    function withdraw(address token) external {
        uint256 amount = owed[token][msg.sender];
        owed[token][msg.sender] = 0;
        if (token == address(0)) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            (bool ok, bytes memory ret) = token.call(abi.encodeCall(IERC20Channel.transfer, (msg.sender, amount)));
            if (!ok || (ret.length > 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
        }
    }

    function getChannel(uint256 id) external view returns (Channel memory) {
        return channels[id];
    }

    /// @notice The digest both parties sign for a state.
    function stateDigest(State calldata s) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                STATE_TAG, block.chainid, address(this), s.channelId, s.version, s.balanceA, s.balanceB, _htlcsHash(s.htlcs)
            )
        );
    }

    /// @notice The digest both parties sign for a cooperative close.
    function closeDigest(uint256 id, uint96 balanceA, uint96 balanceB) public view returns (bytes32) {
        return keccak256(abi.encode(CLOSE_TAG, block.chainid, address(this), id, balanceA, balanceB));
    }

    /// Checks a state's signatures and that it accounts for exactly the deposits.
    function _check(Channel storage c, State calldata s, bytes calldata sigA, bytes calldata sigB)
        internal
        view
        returns (bytes32 htlcsHash)
    {
        if (s.htlcs.length > MAX_HTLCS) revert TooManyHtlcs();
        uint256 total = uint256(s.balanceA) + s.balanceB;
        for (uint256 i = 0; i < s.htlcs.length; i++) {
            total += s.htlcs[i].amount;
        }
        if (total != uint256(c.depositA) + c.depositB) revert BadBalances();
        htlcsHash = _htlcsHash(s.htlcs);
        if (s.version == 0) {
            // The opening state: the deposits, no signatures needed.
            if (s.balanceA != c.depositA || s.htlcs.length != 0) revert BadBalances();
            return htlcsHash;
        }
        bytes32 digest = stateDigest(s);
        if (Ecdsa.recover(digest, sigA) != c.a || Ecdsa.recover(digest, sigB) != c.b) revert BadSignature();
    }

    function _htlcsHash(Htlc[] calldata htlcs) internal pure returns (bytes32) {
        if (htlcs.length == 0) return bytes32(0);
        return keccak256(abi.encode(htlcs));
    }

    function _collect(address token, uint96 amount) internal {
        if (token == address(0)) {
            if (msg.value != amount) revert BadAmount();
        } else {
            if (msg.value != 0) revert BadAmount();
            if (amount > 0) {
                (bool ok, bytes memory ret) = token.call(
                    abi.encodeCall(IERC20Channel.transferFrom, (msg.sender, address(this), amount))
                );
                if (!ok || (ret.length > 0 && !abi.decode(ret, (bool)))) revert TransferFailed();
            }
        }
    }

    function _pay(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        bool ok;
        if (token == address(0)) {
            (ok,) = to.call{value: amount, gas: PAY_GAS}("");
        } else {
            (bool sent, bytes memory ret) =
                token.call{gas: PAY_GAS * 3}(abi.encodeCall(IERC20Channel.transfer, (to, amount)));
            ok = sent && (ret.length == 0 || (ret.length == 32 && abi.decode(ret, (bool))));
        }
        if (!ok) owed[token][to] += amount;
        emit Paid(to, token, amount, ok);
    }
}
