// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStepVerifier} from "./IStepVerifier.sol";
import {OutputOracle} from "../rollup/OutputOracle.sol";
import {RollupLib} from "../rollup/RollupLib.sol";

/// @title DisputeGame
/// @notice Permissionless fault proofs for the rollup's output roots (DESIGN D6). Anyone may
/// challenge an output within its window by posting a bond. The output's proposer (the defender)
/// and the challenger then bisect: first over L2 blocks between the last agreed output and the
/// disputed one (each defender move posts the output root of the middle block, the challenger
/// agrees or disagrees), then over the steps (deposits and transactions) of the one disputed block
/// (each defender move posts the state root after the middle step). The last step is re-executed
/// on L1 by the step verifier. A side whose chess clock runs out loses. Every move carries a bond
/// that grows with depth; the winner takes every bond of the game, and when the challenger wins,
/// the output and every later one are deleted from the oracle (their bonds go to the challenger
/// too), so withdrawals proven against them can never finalize.
/// @dev This contract must be the oracle's `challenger`.
contract DisputeGame {
    enum Status {
        None,
        InProgress,
        ChallengerWins,
        DefenderWins,
        /// The output was deleted by another game: bonds go back to whoever posted them.
        Moot
    }

    enum Phase {
        Blocks,
        Steps
    }

    struct Game {
        // Which output, and who plays.
        uint64 outputIndex;
        address challenger;
        address defender;
        bytes32 outputRoot;
        // Bisection: `lo` is agreed, `hi` disputed; `mid` is the defender's pending claim.
        Phase phase;
        bool defenderToMove;
        uint64 lo;
        uint64 hi;
        bytes32 loClaim;
        bytes32 hiClaim;
        bytes32 midClaim;
        // The disputed block, once the block bisection has found it.
        uint64 l2Block;
        bytes32 agreedBlockHash;
        bytes32 claimedBlockHash;
        bytes32 blockDataHash;
        bytes32 claimedPostState;
        bytes32 claimedWithdrawalsRoot;
        // Chess clocks (seconds used) and the start of the current turn.
        uint64 defenderUsed;
        uint64 challengerUsed;
        uint64 turnStarted;
        uint32 moves;
        Status status;
        uint256 defenderBonds;
        uint256 challengerBonds;
    }

    /// @notice Per-move bond growth: ×1.09493 per depth, as in OP's fault dispute game.
    uint256 internal constant GROWTH_NUM = 109_493;
    uint256 internal constant GROWTH_DEN = 100_000;
    /// @notice No game needs more: 2 × 64 bisection levels of 64-bit positions plus the openings.
    uint256 public constant MAX_MOVES = 140;

    OutputOracle public immutable oracle;
    IStepVerifier public immutable verifier;
    /// @notice Seconds each side may spend on its moves in total (3.5 days on mainnet settings).
    uint64 public immutable clock;
    /// @notice Bond of the opening challenge; move `d` needs `baseBond × 1.09493^d`.
    uint256 public immutable baseBond;
    /// @notice Output root of the L2 genesis block (what the first output is disputed from).
    bytes32 public immutable genesisOutputRoot;

    Game[] internal games;
    /// @notice Wei owed to winners (pull payments).
    mapping(address => uint256) public credit;

    event GameStarted(uint256 indexed gameId, uint256 indexed outputIndex, address indexed challenger, bytes32 outputRoot);
    event BlockClaimed(uint256 indexed gameId, uint256 l2Block, bytes32 outputRoot);
    event Answered(uint256 indexed gameId, bool agree, uint64 lo, uint64 hi);
    /// @notice The defender opened the disputed block's steps; `blockData` is what steps re-execute.
    event StepsOpened(uint256 indexed gameId, uint256 l2Block, uint256 steps, bytes blockData);
    event StepClaimed(uint256 indexed gameId, uint256 step, bytes32 stateRoot);
    event Resolved(uint256 indexed gameId, Status status, uint256 paid);

    error NoSuchGame(uint256 gameId);
    error GameOver(uint256 gameId, Status status);
    error NotYourTurn(address caller);
    error WrongPhase();
    error NothingToAnswer();
    error AwaitingAnswer();
    error AtLeaf();
    error NotAtLeaf();
    error EmptyClaim();
    error WrongBond(uint256 sent, uint256 required);
    error OutputAlreadyFinal(uint256 outputIndex);
    error BadPreimage();
    error BlockMismatch(bytes32 blockHash, uint256 number);
    error BlockDataMismatch();
    error ClockExpired(uint256 used, uint256 allowed);
    error ClockNotExpired(uint256 left);
    error StepHolds();
    error WithdrawalsRootHolds();
    error BlockHolds();
    error TooManyMoves();
    error NothingToWithdraw();
    error TransferFailed();

    constructor(OutputOracle oracle_, IStepVerifier verifier_, uint64 clock_, uint256 baseBond_, bytes32 genesisOutputRoot_) {
        oracle = oracle_;
        verifier = verifier_;
        clock = clock_;
        baseBond = baseBond_;
        genesisOutputRoot = genesisOutputRoot_;
    }

    /// @notice Bonds the oracle forfeits come through here.
    receive() external payable {
        if (msg.sender != address(oracle)) revert TransferFailed();
    }

    // ------------------------------------------------------------------ moves

    /// @notice Disputes output `outputIndex` (whose root must still be `outputRoot`), with a bond
    /// of `moveBond(0)`. The defender is the output's proposer.
    function challenge(uint256 outputIndex, bytes32 outputRoot) external payable returns (uint256 gameId) {
        if (outputIndex >= oracle.nextOutputIndex()) revert OutputOracle.NoSuchOutput(outputIndex);
        OutputOracle.Output memory out = oracle.getOutput(outputIndex);
        if (out.outputRoot != outputRoot) revert BadPreimage();
        if (oracle.isFinalized(outputIndex)) revert OutputAlreadyFinal(outputIndex);
        _takeBond(0);
        (bytes32 startRoot, uint64 startBlock) = outputIndex == 0
            ? (genesisOutputRoot, uint64(0))
            : _outputAt(outputIndex - 1);
        oracle.openDispute(outputIndex);
        gameId = games.length;
        Game storage g = games.push();
        g.outputIndex = uint64(outputIndex);
        g.challenger = msg.sender;
        g.defender = out.proposer;
        g.outputRoot = out.outputRoot;
        g.phase = Phase.Blocks;
        g.defenderToMove = true;
        g.lo = startBlock;
        g.hi = out.l2BlockNumber;
        g.loClaim = startRoot;
        g.hiClaim = out.outputRoot;
        g.turnStarted = uint64(block.timestamp);
        g.moves = 1;
        g.status = Status.InProgress;
        g.challengerBonds = msg.value;
        emit GameStarted(gameId, outputIndex, msg.sender, out.outputRoot);
    }

    /// @notice Defender: the output root (block phase) or state root (step phase) at the middle of
    /// the disputed range.
    function claimMiddle(uint256 gameId, bytes32 claim) external payable {
        Game storage g = _turn(gameId, true);
        if (g.midClaim != bytes32(0)) revert AwaitingAnswer();
        if (g.hi - g.lo <= 1) revert AtLeaf();
        if (claim == bytes32(0)) revert EmptyClaim();
        _takeMoveBond(g);
        g.defenderBonds += msg.value;
        g.midClaim = claim;
        uint64 mid = _mid(g);
        if (g.phase == Phase.Blocks) emit BlockClaimed(gameId, mid, claim);
        else emit StepClaimed(gameId, mid, claim);
        _pass(g);
    }

    /// @notice Challenger: agrees (the dispute lies after the middle) or disagrees (at or before it).
    function answer(uint256 gameId, bool agree) external payable {
        Game storage g = _turn(gameId, false);
        if (g.midClaim == bytes32(0)) revert NothingToAnswer();
        _takeMoveBond(g);
        g.challengerBonds += msg.value;
        uint64 mid = _mid(g);
        if (agree) {
            (g.lo, g.loClaim) = (mid, g.midClaim);
        } else {
            (g.hi, g.hiClaim) = (mid, g.midClaim);
        }
        g.midClaim = bytes32(0);
        emit Answered(gameId, agree, g.lo, g.hi);
        // At a step leaf the challenger proves (or runs out of time); otherwise the defender moves.
        if (g.phase == Phase.Steps && g.hi - g.lo == 1) _restartTurn(g);
        else _pass(g);
    }

    /// @notice Defender, once the block bisection has found the disputed block: reveals both
    /// outputs' preimages and publishes the block (`rlp([header, [tx…]])`) whose steps are then
    /// bisected. The block must hash to the disputed output's block hash.
    function openSteps(
        uint256 gameId,
        RollupLib.OutputRootProof calldata agreed,
        RollupLib.OutputRootProof calldata disputed,
        bytes calldata blockData
    ) external payable {
        Game storage g = _turn(gameId, true);
        if (g.phase != Phase.Blocks) revert WrongPhase();
        if (g.hi - g.lo != 1) revert NotAtLeaf();
        if (RollupLib.hashOutputRoot(agreed) != g.loClaim || RollupLib.hashOutputRoot(disputed) != g.hiClaim) {
            revert BadPreimage();
        }
        (bytes32 blockHash, uint256 number, uint256 steps) = verifier.blockInfo(blockData);
        if (blockHash != disputed.latestBlockhash || number != g.hi || steps == 0) {
            revert BlockMismatch(blockHash, number);
        }
        _takeMoveBond(g);
        g.defenderBonds += msg.value;
        g.phase = Phase.Steps;
        g.l2Block = g.hi;
        g.agreedBlockHash = agreed.latestBlockhash;
        g.claimedBlockHash = disputed.latestBlockhash;
        g.blockDataHash = keccak256(blockData);
        g.claimedPostState = disputed.stateRoot;
        g.claimedWithdrawalsRoot = disputed.withdrawalsRoot;
        (g.lo, g.hi) = (0, uint64(steps));
        (g.loClaim, g.hiClaim) = (agreed.stateRoot, disputed.stateRoot);
        emit StepsOpened(gameId, g.l2Block, steps, blockData);
        if (steps == 1) _pass(g);
        else _restartTurn(g);
    }

    /// @notice Anyone, at a step leaf: re-executes the disputed step from the agreed state root.
    /// A post-state root other than the defender's claim wins the game for the challenger; the
    /// same root wins it for the defender. A witness that cannot execute reverts (no verdict).
    function step(uint256 gameId, bytes calldata blockData, bytes calldata witness) external {
        Game storage g = _live(gameId);
        if (g.phase != Phase.Steps) revert WrongPhase();
        if (g.hi - g.lo != 1 || g.midClaim != bytes32(0)) revert NotAtLeaf();
        if (keccak256(blockData) != g.blockDataHash) revert BlockDataMismatch();
        bytes32 post = verifier.verifyStep(g.loClaim, g.lo, blockData, witness);
        g.moves += 1;
        _resolve(gameId, g, post == g.hiClaim ? Status.DefenderWins : Status.ChallengerWins);
    }

    /// @notice Anyone, once the steps are open: shows that the disputed output's withdrawals root
    /// is not the message tree root at its own state root (an invented or dropped withdrawal).
    function disproveWithdrawalsRoot(uint256 gameId, bytes calldata witness) external {
        Game storage g = _live(gameId);
        if (g.phase != Phase.Steps) revert WrongPhase();
        bytes32 root = verifier.messageRoot(g.claimedPostState, witness);
        if (root == g.claimedWithdrawalsRoot) revert WithdrawalsRootHolds();
        g.moves += 1;
        _resolve(gameId, g, Status.ChallengerWins);
    }

    /// @notice Anyone, once the steps are open: re-derives the disputed block from what L1
    /// recorded (batches, forced transactions, deposits; see `IStepVerifier.deriveBlock`) and
    /// builds it over the agreed block. A block other than the defender's (a transaction
    /// skipped, added or changed, a wrong header) wins the game for the challenger; the same
    /// block reverts `BlockHolds`. Evidence that does not check out reverts (no verdict).
    function disproveBlock(
        uint256 gameId,
        bytes calldata parentHeader,
        uint64 anchor,
        uint256[6] calldata ranges,
        bytes calldata evidence,
        bytes calldata witness
    ) external {
        Game storage g = _live(gameId);
        if (g.phase != Phase.Steps) revert WrongPhase();
        (bytes32 blockHash, bytes32 parentHash) = verifier.deriveBlock(parentHeader, anchor, ranges, evidence, witness);
        if (parentHash != g.agreedBlockHash) revert BadPreimage();
        if (blockHash == g.claimedBlockHash) revert BlockHolds();
        g.moves += 1;
        _resolve(gameId, g, Status.ChallengerWins);
    }

    /// @notice Anyone: ends a game whose side to move has run out of clock (that side loses).
    function claimTimeout(uint256 gameId) external {
        Game storage g = _live(gameId);
        (uint256 used, bool defender) = _clockOfMover(g);
        if (used <= clock) revert ClockNotExpired(clock - used + 1);
        _resolve(gameId, g, defender ? Status.ChallengerWins : Status.DefenderWins);
    }

    /// @notice Anyone: ends a game whose output another game has already deleted (bonds refunded).
    function resolveMoot(uint256 gameId) external {
        Game storage g = _game(gameId);
        if (g.status != Status.InProgress) revert GameOver(gameId, g.status);
        if (_outputStands(g)) revert GameOver(gameId, g.status);
        _resolve(gameId, g, Status.Moot);
    }

    /// @notice Pays out the caller's credit.
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    // ------------------------------------------------------------------ views

    function gameCount() external view returns (uint256) {
        return games.length;
    }

    function getGame(uint256 gameId) external view returns (Game memory) {
        return _game(gameId);
    }

    /// @notice Bond of the move at depth `depth` (the opening challenge is depth 0).
    function moveBond(uint256 depth) public view returns (uint256 bond) {
        bond = baseBond;
        for (uint256 i = 0; i < depth; i++) {
            bond = (bond * GROWTH_NUM) / GROWTH_DEN;
        }
    }

    /// @notice The position the defender's next claim is for (block number or step index).
    function middle(uint256 gameId) external view returns (uint64) {
        return _mid(_game(gameId));
    }

    /// @notice Seconds until the side to move runs out of time (0: `claimTimeout` succeeds now; it
    /// may still move while it has used no more than its clock), and whether it is the defender.
    function clockLeft(uint256 gameId) external view returns (uint256 left, bool defender) {
        uint256 used;
        (used, defender) = _clockOfMover(_game(gameId));
        left = used > clock ? 0 : clock - used + 1;
    }

    // ------------------------------------------------------------------ internals

    function _game(uint256 gameId) internal view returns (Game storage) {
        if (gameId >= games.length) revert NoSuchGame(gameId);
        return games[gameId];
    }

    /// @dev A game still being played on an output that still stands.
    function _live(uint256 gameId) internal view returns (Game storage g) {
        g = _game(gameId);
        if (g.status != Status.InProgress) revert GameOver(gameId, g.status);
        if (g.moves >= MAX_MOVES) revert TooManyMoves();
    }

    /// @dev `_live`, the caller is the side to move, and its clock has not run out.
    function _turn(uint256 gameId, bool defender) internal returns (Game storage g) {
        g = _live(gameId);
        if (g.defenderToMove != defender || msg.sender != (defender ? g.defender : g.challenger)) {
            revert NotYourTurn(msg.sender);
        }
        (uint256 used,) = _clockOfMover(g);
        if (used > clock) revert ClockExpired(used, clock);
        if (defender) g.defenderUsed = uint64(used);
        else g.challengerUsed = uint64(used);
        g.turnStarted = uint64(block.timestamp);
    }

    function _clockOfMover(Game storage g) internal view returns (uint256 used, bool defender) {
        defender = g.defenderToMove;
        uint256 spent = block.timestamp - g.turnStarted;
        used = (defender ? g.defenderUsed : g.challengerUsed) + spent;
    }

    function _pass(Game storage g) internal {
        g.defenderToMove = !g.defenderToMove;
        g.turnStarted = uint64(block.timestamp);
    }

    /// @dev The same side moves again (e.g. the defender opens the steps, then claims their middle).
    function _restartTurn(Game storage g) internal {
        g.turnStarted = uint64(block.timestamp);
    }

    function _mid(Game storage g) internal view returns (uint64) {
        return g.lo + (g.hi - g.lo) / 2;
    }

    /// @dev A move's bond is at the depth of the moves before it; the move then counts.
    function _takeMoveBond(Game storage g) internal {
        _takeBond(g.moves);
        g.moves += 1;
    }

    function _takeBond(uint256 depth) internal view {
        uint256 required = moveBond(depth);
        if (msg.value != required) revert WrongBond(msg.value, required);
    }

    function _outputAt(uint256 index) internal view returns (bytes32 root, uint64 l2Block) {
        OutputOracle.Output memory o = oracle.getOutput(index);
        return (o.outputRoot, o.l2BlockNumber);
    }

    function _outputStands(Game storage g) internal view returns (bool) {
        return g.outputIndex < oracle.nextOutputIndex() && oracle.getOutput(g.outputIndex).outputRoot == g.outputRoot;
    }

    function _resolve(uint256 gameId, Game storage g, Status status) internal {
        g.status = status;
        uint256 pot = g.defenderBonds + g.challengerBonds;
        if (status == Status.Moot) {
            credit[g.defender] += g.defenderBonds;
            credit[g.challenger] += g.challengerBonds;
        } else if (status == Status.ChallengerWins) {
            // Delete while the dispute still holds the output back from finality.
            if (_outputStands(g)) {
                uint256 forfeited = oracle.deleteOutputs(g.outputIndex);
                if (forfeited > 0) oracle.withdrawCredit();
                pot += forfeited;
            }
            credit[g.challenger] += pot;
        } else {
            credit[g.defender] += pot;
        }
        oracle.closeDispute(g.outputIndex, g.outputRoot);
        emit Resolved(gameId, status, pot);
    }
}
