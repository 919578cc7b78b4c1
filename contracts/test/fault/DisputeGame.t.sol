// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {DisputeGame} from "../../src/fault/DisputeGame.sol";
import {OutputOracle} from "../../src/rollup/OutputOracle.sol";
import {RollupLib} from "../../src/rollup/RollupLib.sol";
import {ToyStepVerifier} from "./ToyStepVerifier.sol";

/// @notice The dispute game against a deterministic toy state transition: fuzzed sequences of
/// lies, answers and timeouts, with the honest side always winning and taking every bond.
contract DisputeGameTest is Test {
    uint256 constant BOND = 1 ether;
    uint256 constant WINDOW = 7 days;
    uint64 constant CLOCK = 3.5 days;
    uint256 constant BASE = 0.08 ether;
    uint256 constant INTERVAL = 8;

    OutputOracle oracle;
    DisputeGame game;
    ToyStepVerifier toy;
    address proposer = address(0xA11CE);
    address challenger = address(0xC4A1);

    /// Truth: state root after each block.
    bytes32[] states;
    /// Known preimages of output roots the test's players have posted.
    mapping(bytes32 => RollupLib.OutputRootProof) preimage;
    mapping(bytes32 => uint256) preimageBlock;

    uint256 paidByDefender;
    uint256 paidByChallenger;

    function setUp() public {
        vm.warp(1_000_000);
        toy = new ToyStepVerifier();
        states.push(keccak256("genesis"));
        for (uint256 b = 1; b <= 4 * INTERVAL; b++) {
            bytes32 s = states[b - 1];
            bytes memory data = blockData(b);
            for (uint256 k = 0; k < stepsOf(b); k++) {
                s = toy.transition(s, k, data);
            }
            states.push(s);
        }
        // The oracle needs the game's address and the game the oracle's: predict the game's.
        address predicted = _createAddress(address(this), 3);
        oracle = new OutputOracle(BOND, WINDOW, predicted);
        game = new DisputeGame(oracle, toy, CLOCK, BASE, truth(0));
        assertEq(address(game), predicted, "predicted game address");
        vm.deal(proposer, 1_000 ether);
        vm.deal(challenger, 1_000 ether);
    }

    // ------------------------------------------------------------------ the toy chain

    function stepsOf(uint256 b) internal pure returns (uint256) {
        return 1 + ((b * 7) % 5);
    }

    function blockData(uint256 b) internal pure returns (bytes memory) {
        return abi.encode(b, stepsOf(b), bytes32(0));
    }

    function output(uint256 b, bytes32 state, bytes32 withdrawals) internal returns (bytes32 root) {
        RollupLib.OutputRootProof memory p =
            RollupLib.OutputRootProof(bytes32(0), state, withdrawals, keccak256(blockData(b)));
        root = RollupLib.hashOutputRoot(p);
        preimage[root] = p;
        preimageBlock[root] = b;
    }

    function truth(uint256 b) internal returns (bytes32) {
        return output(b, states[b], keccak256(abi.encode("msg", states[b])));
    }

    function fake(uint256 b, uint256 seed) internal returns (bytes32) {
        bytes32 s = keccak256(abi.encode("fake", b, seed));
        return output(b, s, keccak256(abi.encode("msg", s)));
    }

    /// State after step `k` of block `b`, from `pre`.
    function stepState(bytes32 pre, uint256 b, uint256 k) internal view returns (bytes32 s) {
        s = pre;
        for (uint256 i = 0; i < k; i++) {
            s = toy.transition(s, i, blockData(b));
        }
    }

    // ------------------------------------------------------------------ players

    function propose(bytes32 root, uint256 b) internal {
        vm.prank(proposer);
        oracle.proposeOutput{value: BOND}(root, b);
    }

    function open(uint256 outputIndex) internal returns (uint256 id) {
        bytes32 root = oracle.getOutput(outputIndex).outputRoot;
        vm.prank(challenger);
        id = game.challenge{value: BASE}(outputIndex, root);
        paidByChallenger += BASE;
    }

    function bond(uint256 id) internal view returns (uint256) {
        return game.moveBond(game.getGame(id).moves);
    }

    function claim(uint256 id, bytes32 c) internal {
        uint256 v = bond(id);
        vm.prank(proposer);
        game.claimMiddle{value: v}(id, c);
        paidByDefender += v;
    }

    function answer(uint256 id, bool agree) internal {
        uint256 v = bond(id);
        vm.prank(challenger);
        game.answer{value: v}(id, agree);
        paidByChallenger += v;
    }

    function openSteps(uint256 id) internal {
        DisputeGame.Game memory g = game.getGame(id);
        uint256 v = bond(id);
        vm.prank(proposer);
        game.openSteps{value: v}(id, preimage[g.loClaim], preimage[g.hiClaim], blockData(g.hi));
        paidByDefender += v;
    }

    function rand(uint256 seed, uint256 i) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i)));
    }

    /// Plays a game to its end. The defender claims the truth unless `lying` (then it lies at
    /// random from `seed`); the challenger answers honestly unless `!honestChallenger` (then at
    /// random). The dishonest side may stall at random (`stallOdds` in 256), losing on time.
    function play(uint256 id, uint256 seed, bool lying, bool honestChallenger, uint256 stallOdds)
        internal
        returns (DisputeGame.Status)
    {
        uint256 i;
        while (game.getGame(id).status == DisputeGame.Status.InProgress) {
            i++;
            DisputeGame.Game memory g = game.getGame(id);
            bool dishonestToMove = lying ? g.defenderToMove : !g.defenderToMove;
            if (dishonestToMove && rand(seed, i) % 256 < stallOdds) {
                vm.warp(block.timestamp + CLOCK + 1);
                game.claimTimeout(id);
                break;
            }
            bool leaf = g.hi - g.lo == 1;
            if (g.defenderToMove) {
                if (g.phase == DisputeGame.Phase.Blocks && leaf) {
                    // A claim with no known preimage cannot be opened: the liar stalls and loses.
                    if (preimage[g.hiClaim].stateRoot == bytes32(0) || preimage[g.loClaim].stateRoot == bytes32(0)) {
                        vm.warp(block.timestamp + CLOCK + 1);
                        game.claimTimeout(id);
                        break;
                    }
                    openSteps(id);
                } else {
                    uint64 mid = game.middle(id);
                    bytes32 c = _defenderClaim(g, mid, seed, i, lying);
                    claim(id, c);
                }
                vm.warp(block.timestamp + (rand(seed, i + 1000) % 1 hours));
            } else if (g.phase == DisputeGame.Phase.Steps && leaf && g.midClaim == bytes32(0)) {
                // The challenger first checks the withdrawals root, then re-executes the step.
                if (honestChallenger && _withdrawalsWrong(g)) {
                    game.disproveWithdrawalsRoot(id, "ok");
                } else {
                    game.step(id, blockData(g.l2Block), "ok");
                }
            } else {
                bool agree = honestChallenger ? _isTrue(g, g.midClaim, game.middle(id)) : rand(seed, i) % 2 == 0;
                if (honestChallenger && g.phase == DisputeGame.Phase.Steps && _withdrawalsWrong(g)) {
                    game.disproveWithdrawalsRoot(id, "ok");
                    break;
                }
                answer(id, agree);
                vm.warp(block.timestamp + (rand(seed, i + 2000) % 1 hours));
            }
            assertTrue(i < 200, "game ends");
        }
        return game.getGame(id).status;
    }

    function _defenderClaim(DisputeGame.Game memory g, uint64 mid, uint256 seed, uint256 i, bool lying)
        internal
        returns (bytes32)
    {
        bool lie = lying && rand(seed, i + 3000) % 4 == 0;
        if (g.phase == DisputeGame.Phase.Blocks) {
            // A liar claims the truth before its corruption starts and wrong outputs from there on.
            if (!lie && (!lying || mid < corruptFrom)) return truth(mid);
            // Half the lies are well-formed outputs of a wrong state, half are junk.
            return rand(seed, i + 4000) % 2 == 0 ? fake(mid, seed) : keccak256(abi.encode("junk", seed, i));
        }
        if (!lie) return stepState(states[g.l2Block - 1], g.l2Block, mid);
        return keccak256(abi.encode("junk step", seed, i));
    }

    function _isTrue(DisputeGame.Game memory g, bytes32 c, uint64 mid) internal returns (bool) {
        if (g.phase == DisputeGame.Phase.Blocks) return c == truth(mid);
        return c == stepState(states[g.l2Block - 1], g.l2Block, mid);
    }

    function _withdrawalsWrong(DisputeGame.Game memory g) internal pure returns (bool) {
        return g.claimedWithdrawalsRoot != keccak256(abi.encode("msg", g.claimedPostState));
    }

    function _createAddress(address deployer, uint256 nonce) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xd6), bytes1(0x94), deployer, uint8(nonce))))));
    }

    // ------------------------------------------------------------------ fuzzed games

    /// A wrong output (a corruption from some block on, of the state or only of the withdrawals
    /// root) loses every game against an honest challenger, whatever the liar claims and whenever
    /// either side stalls; the challenger gets every bond, the output is gone.
    function testFuzz_wrong_output_always_loses(uint256 seed) public {
        propose(truth(INTERVAL), INTERVAL);
        bool onlyWithdrawals = rand(seed, 1) % 3 == 0;
        uint256 from = onlyWithdrawals ? 2 * INTERVAL : INTERVAL + 1 + (seed % INTERVAL);
        // Intermediate truth up to `from - 1`, lies from `from` on.
        bytes32 bad = onlyWithdrawals
            ? output(2 * INTERVAL, states[2 * INTERVAL], keccak256("invented withdrawal"))
            : fake(2 * INTERVAL, seed);
        propose(bad, 2 * INTERVAL);
        uint256 before = challenger.balance;
        uint256 id = open(1);
        corruptFrom = from;
        DisputeGame.Status s = play(id, seed, true, true, (seed >> 200) % 24);
        assertEq(uint256(s), uint256(DisputeGame.Status.ChallengerWins), "challenger wins");
        assertEq(game.credit(challenger), paidByChallenger + paidByDefender + BOND, "challenger takes every bond");
        assertEq(game.credit(proposer), 0, "liar gets nothing");
        assertEq(oracle.nextOutputIndex(), 1, "wrong output deleted");
        assertTrue(!oracle.isDisputed(0), "no dispute left");
        assertTrue(game.getGame(id).moves <= 64, "moves per game");
        vm.prank(challenger);
        game.withdraw();
        assertEq(challenger.balance, before + paidByDefender + BOND, "the challenger nets the liar's bonds");
    }

    /// A correct output survives every game against a challenger answering at random: the
    /// defender wins and takes every bond; the output finalizes once the window has passed.
    function testFuzz_honest_output_always_wins(uint256 seed) public {
        propose(truth(INTERVAL), INTERVAL);
        uint256 id = open(0);
        DisputeGame.Status s = play(id, seed, false, false, (seed >> 200) % 16);
        assertEq(uint256(s), uint256(DisputeGame.Status.DefenderWins), "defender wins");
        assertEq(game.credit(proposer), paidByChallenger + paidByDefender, "defender takes every bond");
        assertEq(oracle.nextOutputIndex(), 1, "output kept");
        vm.warp(oracle.getOutput(0).timestamp + WINDOW);
        assertTrue(oracle.isFinalized(0), "finalizes after the window");
    }

    /// A liar's block claims are true before this block (its corruption starts there).
    uint256 corruptFrom;

    // ------------------------------------------------------------------ refusals

    function test_out_of_turn_duplicate_and_badly_bonded_moves_revert() public {
        propose(fake(INTERVAL, 1), INTERVAL);
        uint256 id = open(0);
        // The challenger cannot claim; the defender cannot answer.
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourTurn.selector, challenger));
        game.claimMiddle{value: BASE}(id, bytes32(uint256(1)));
        uint256 v = bond(id);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.WrongBond.selector, v - 1, v));
        game.claimMiddle{value: v - 1}(id, bytes32(uint256(1)));
        vm.prank(proposer);
        vm.expectRevert(DisputeGame.EmptyClaim.selector);
        game.claimMiddle{value: v}(id, bytes32(0));
        claim(id, truth(INTERVAL / 2));
        // The same claim twice: it is the challenger's turn now.
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourTurn.selector, proposer));
        game.claimMiddle{value: v}(id, truth(INTERVAL / 2));
        // A stranger cannot answer for the challenger.
        vm.deal(address(0xBAD), 1 ether);
        uint256 a = bond(id);
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.NotYourTurn.selector, address(0xBAD)));
        game.answer{value: a}(id, true);
        // Steps cannot be taken or opened in the block phase, and not before the leaf.
        vm.expectRevert(DisputeGame.WrongPhase.selector);
        game.step(id, blockData(1), "ok");
        answer(id, true);
        uint256 b = bond(id);
        vm.prank(proposer);
        vm.expectRevert(DisputeGame.NotAtLeaf.selector);
        game.openSteps{value: b}(id, preimage[truth(0)], preimage[truth(1)], blockData(1));
    }

    function test_clocks_late_moves_and_timeouts() public {
        propose(fake(INTERVAL, 1), INTERVAL);
        uint256 id = open(0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockNotExpired.selector, uint256(CLOCK) + 1));
        game.claimTimeout(id);
        vm.warp(block.timestamp + CLOCK - 10);
        claim(id, fake(INTERVAL / 2, 1));
        // The defender spent almost all its clock; the challenger's is untouched.
        (uint256 left, bool defender) = game.clockLeft(id);
        assertEq(left, uint256(CLOCK) + 1, "challenger's clock: it may move until it has used all of it");
        assertTrue(!defender, "challenger to move");
        answer(id, false);
        vm.warp(block.timestamp + 10);
        (left,) = game.clockLeft(id);
        assertEq(left, 1, "the defender has used exactly its clock: it may still move");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockNotExpired.selector, 1));
        game.claimTimeout(id);
        vm.warp(block.timestamp + 1);
        (left,) = game.clockLeft(id);
        assertEq(left, 0, "out of time");
        uint256 v = bond(id);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.ClockExpired.selector, uint256(CLOCK) + 1, CLOCK));
        game.claimMiddle{value: v}(id, truth(2));
        game.claimTimeout(id);
        assertEq(uint256(game.getGame(id).status), uint256(DisputeGame.Status.ChallengerWins), "defender timed out");
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.GameOver.selector, id, DisputeGame.Status.ChallengerWins));
        game.claimTimeout(id);
    }

    function test_openSteps_checks_preimages_and_the_block() public {
        // Block 5 has a single step, so opening it reaches the step leaf at once.
        assertEq(stepsOf(5), 1, "one step");
        propose(truth(4), 4);
        propose(fake(5, 1), 5);
        uint256 id = open(1);
        uint256 v = bond(id);
        vm.startPrank(proposer);
        vm.expectRevert(DisputeGame.BadPreimage.selector);
        game.openSteps{value: v}(id, preimage[truth(4)], preimage[truth(5)], blockData(5));
        bytes memory other = abi.encode(uint256(5), stepsOf(5), bytes32(uint256(9)));
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.BlockMismatch.selector, keccak256(other), uint256(5)));
        game.openSteps{value: v}(id, preimage[truth(4)], preimage[fake(5, 1)], other);
        game.openSteps{value: v}(id, preimage[truth(4)], preimage[fake(5, 1)], blockData(5));
        vm.stopPrank();
        // A step over other block data, or with a witness that cannot execute, decides nothing;
        // nor does a withdrawals root that matches its (wrong) state.
        vm.expectRevert(DisputeGame.BlockDataMismatch.selector);
        game.step(id, abi.encode(uint256(2)), "ok");
        vm.expectRevert(ToyStepVerifier.BadWitness.selector);
        game.step(id, blockData(5), "missing");
        vm.expectRevert(DisputeGame.WithdrawalsRootHolds.selector);
        game.disproveWithdrawalsRoot(id, "ok");
        assertEq(uint256(game.getGame(id).status), uint256(DisputeGame.Status.InProgress), "still open");
        // The real step decides: the fake post-state loses.
        game.step(id, blockData(5), "ok");
        assertEq(uint256(game.getGame(id).status), uint256(DisputeGame.Status.ChallengerWins), "step decides");
    }

    function test_disproveBlock_rederives_the_block_and_decides_only_against_a_different_one() public {
        // The liar's block 5 has other transactions (`other`) that it executes faithfully: every
        // step holds, but it is not the block L1's data makes.
        bytes memory other = abi.encode(uint256(5), stepsOf(5), bytes32(uint256(7)));
        bytes32 post = stepState(states[4], 5, 0);
        for (uint256 i = 0; i < stepsOf(5); i++) {
            post = toy.transition(post, i, other);
        }
        RollupLib.OutputRootProof memory lie =
            RollupLib.OutputRootProof(bytes32(0), post, keccak256(abi.encode("msg", post)), keccak256(other));
        bytes32 lieRoot = RollupLib.hashOutputRoot(lie);
        propose(truth(4), 4);
        propose(lieRoot, 5);
        uint256 id = open(1);
        uint256[6] memory ranges;
        vm.expectRevert(DisputeGame.WrongPhase.selector);
        game.disproveBlock(id, blockData(4), 9, ranges, blockData(5), "ok");
        uint256 v = bond(id);
        vm.prank(proposer);
        game.openSteps{value: v}(id, preimage[truth(4)], lie, other);
        paidByDefender += v;
        // A parent other than the agreed block, or evidence that does not check out, decides nothing.
        vm.expectRevert(DisputeGame.BadPreimage.selector);
        game.disproveBlock(id, blockData(3), 9, ranges, blockData(5), "ok");
        vm.expectRevert(ToyStepVerifier.BadWitness.selector);
        game.disproveBlock(id, blockData(4), 9, ranges, blockData(5), "missing");
        // Re-deriving `other` itself (as if L1 said so) shows nothing wrong.
        vm.expectRevert(DisputeGame.BlockHolds.selector);
        game.disproveBlock(id, blockData(4), 9, ranges, other, "ok");
        game.disproveBlock(id, blockData(4), 9, ranges, blockData(5), "ok");
        DisputeGame.Game memory g = game.getGame(id);
        assertEq(uint256(g.status), uint256(DisputeGame.Status.ChallengerWins), "the derived block differs");
        assertEq(oracle.nextOutputIndex(), 1, "the output is deleted");
        assertEq(game.credit(challenger), paidByChallenger + paidByDefender + BOND, "the challenger takes every bond");
    }

    function test_disproveBlock_cannot_beat_an_honest_block() public {
        propose(truth(6), 6);
        propose(truth(7), 7);
        uint256 id = open(1);
        openSteps(id);
        uint256[6] memory ranges;
        vm.expectRevert(DisputeGame.BlockHolds.selector);
        game.disproveBlock(id, blockData(6), 9, ranges, blockData(7), "ok");
        assertEq(uint256(game.getGame(id).status), uint256(DisputeGame.Status.InProgress), "still open");
    }

    function test_a_final_output_cannot_be_challenged_and_a_dispute_holds_finality_back() public {
        propose(truth(INTERVAL), INTERVAL);
        propose(truth(2 * INTERVAL), 2 * INTERVAL);
        uint256 id = open(0);
        vm.warp(block.timestamp + WINDOW + 1);
        assertTrue(!oracle.isFinalized(0) && !oracle.isFinalized(1), "held back by the open dispute");
        assertTrue(oracle.isDisputed(1), "later outputs wait too");
        bytes32 root = oracle.getOutput(0).outputRoot;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(OutputOracle.NoSuchOutput.selector, 5));
        game.challenge{value: BASE}(5, root);
        game.claimTimeout(id);
        assertEq(uint256(game.getGame(id).status), uint256(DisputeGame.Status.ChallengerWins), "silent defender");
        assertEq(oracle.nextOutputIndex(), 0, "both outputs deleted");
        propose(truth(INTERVAL), INTERVAL);
        vm.warp(block.timestamp + WINDOW);
        bytes32 r = oracle.getOutput(0).outputRoot;
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.OutputAlreadyFinal.selector, 0));
        game.challenge{value: BASE}(0, r);
    }

    function test_a_game_on_a_deleted_output_is_moot_and_refunds() public {
        propose(fake(INTERVAL, 1), INTERVAL);
        propose(fake(2 * INTERVAL, 1), 2 * INTERVAL);
        uint256 later = open(1);
        uint256 first = open(0);
        vm.expectRevert(abi.encodeWithSelector(DisputeGame.GameOver.selector, later, DisputeGame.Status.InProgress));
        game.resolveMoot(later);
        vm.warp(block.timestamp + CLOCK + 1);
        game.claimTimeout(first);
        game.resolveMoot(later);
        assertEq(uint256(game.getGame(later).status), uint256(DisputeGame.Status.Moot), "moot");
        assertEq(game.credit(challenger), 2 * BASE + 2 * BOND, "both bonds back plus the forfeits");
    }
}
