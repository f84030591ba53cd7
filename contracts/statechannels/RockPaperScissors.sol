// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPart, VariablePart, IForceMoveApp} from "./ForceMove.sol";

/// @title RockPaperScissors
/// @notice Two players, a stake per round, commit-reveal so that the first mover cannot be cheated:
///         Start -(A commits to a hidden play)-> Commit -(B plays in the clear)-> Play
///         -(A reveals)-> Reveal -(B)-> Start again.
///         Each state's outcome is what the players get if the game stops there (a silent player
///         is forced to move by a challenge, or loses by timeout):
///         - Commit leaves the outcome alone (B may simply decline to play);
///         - Play already pays B as if B had won, so A gains nothing by refusing to reveal;
///         - Reveal settles the round: A wins, draw or B wins, as the plays say.
/// @dev appData = abi.encode(RPSData). Python twin: `rules.rps_transition`.
contract RockPaperScissors is IForceMoveApp {
    enum Phase {
        Start,
        Commit,
        Play,
        Reveal
    }

    uint8 internal constant ROCK = 1;
    uint8 internal constant PAPER = 2;
    uint8 internal constant SCISSORS = 3;

    struct RPSData {
        Phase phase;
        uint256 stake; // what each player risks per round
        bytes32 commitment; // keccak256(abi.encode(playA, salt)), from Commit on
        uint8 playB; // from Play on
        uint8 playA; // from Reveal on
        bytes32 salt; // from Reveal on
    }

    error WrongParticipantCount(uint256 count);
    error InvalidPhaseTransition(Phase from, Phase to);
    error WrongMover(uint256 mover, uint256 expected);
    error StakeChanged(uint256 from, uint256 to);
    error StakeNotAffordable(uint256 stake, uint256 balanceA, uint256 balanceB);
    error OutcomeChanged();
    error WrongPayout(uint256 expectedA, uint256 expectedB);
    error EmptyCommitment();
    error CommitmentChanged();
    error InvalidPlay(uint8 play);
    error PlayChanged();
    error RevealMismatch(bytes32 commitment, bytes32 revealed);
    error DataNotCleared();

    /// @inheritdoc IForceMoveApp
    function validTransition(FixedPart calldata fixedPart, VariablePart calldata from, VariablePart calldata to,
        uint256 mover) external pure override returns (bool) {
        if (fixedPart.participants.length != 2) revert WrongParticipantCount(fixedPart.participants.length);
        RPSData memory a = abi.decode(from.appData, (RPSData));
        RPSData memory b = abi.decode(to.appData, (RPSData));
        if (a.stake != b.stake) revert StakeChanged(a.stake, b.stake);
        uint256 fromA = from.outcome[0];
        uint256 fromB = from.outcome[1];
        if (a.phase == Phase.Start && b.phase == Phase.Commit) {
            _requireMover(mover, 0);
            if (fromA < a.stake || fromB < a.stake) revert StakeNotAffordable(a.stake, fromA, fromB);
            _requireOutcome(to, fromA, fromB);
            if (b.commitment == bytes32(0)) revert EmptyCommitment();
            if (b.playA != 0 || b.playB != 0 || b.salt != bytes32(0)) revert DataNotCleared();
        } else if (a.phase == Phase.Commit && b.phase == Phase.Play) {
            _requireMover(mover, 1);
            if (b.commitment != a.commitment) revert CommitmentChanged();
            _requirePlay(b.playB);
            if (b.playA != 0 || b.salt != bytes32(0)) revert DataNotCleared();
            // As if B had won: A must reveal to get anything back.
            _requireOutcome(to, fromA - a.stake, fromB + a.stake);
        } else if (a.phase == Phase.Play && b.phase == Phase.Reveal) {
            _requireMover(mover, 0);
            if (b.commitment != a.commitment) revert CommitmentChanged();
            if (b.playB != a.playB) revert PlayChanged();
            _requirePlay(b.playA);
            bytes32 revealed = keccak256(abi.encode(b.playA, b.salt));
            if (revealed != a.commitment) revert RevealMismatch(a.commitment, revealed);
            // From "B won": a draw gives A back one stake, A's win two.
            uint256 shift = _winner(b.playA, b.playB) * a.stake;
            _requireOutcome(to, fromA + shift, fromB - shift);
        } else if (a.phase == Phase.Reveal && b.phase == Phase.Start) {
            _requireMover(mover, 1);
            _requireOutcome(to, fromA, fromB);
            if (b.commitment != bytes32(0) || b.playA != 0 || b.playB != 0 || b.salt != bytes32(0)) {
                revert DataNotCleared();
            }
        } else {
            revert InvalidPhaseTransition(a.phase, b.phase);
        }
        return true;
    }

    /// @dev 0: B wins, 1: draw, 2: A wins (the stakes A gets back from the Play outcome).
    function _winner(uint8 playA, uint8 playB) private pure returns (uint256) {
        if (playA == playB) return 1;
        // Rock beats scissors, paper beats rock, scissors beat paper: A wins when playA = playB + 1 (mod 3).
        return playA % 3 == (playB + 1) % 3 ? 2 : 0;
    }

    function _requireMover(uint256 mover, uint256 expected) private pure {
        if (mover != expected) revert WrongMover(mover, expected);
    }

    function _requirePlay(uint8 play) private pure {
        if (play < ROCK || play > SCISSORS) revert InvalidPlay(play);
    }

    function _requireOutcome(VariablePart calldata to, uint256 a, uint256 b) private pure {
        if (to.outcome[0] != a || to.outcome[1] != b) revert WrongPayout(a, b);
    }
}
