// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What never changes while a channel lives; its id is `keccak256(abi.encode(FixedPart))`,
///         so a state signed for one app, nonce, asset or set of participants is worthless on another.
/// @dev One asset per channel (address(0) = ETH): the outcome is then one amount per participant,
///      which keeps a state small (a game pays for every byte it posts in a dispute).
struct FixedPart {
    address[] participants;
    uint64 channelNonce;
    address appDefinition; // the IForceMoveApp that judges moves
    uint48 challengeDuration; // seconds a challenge stays open for an answer
    address asset;
}

/// @notice The part of a state that moves: who gets what, the app's data, whose turn, final or not.
/// @dev State `turnNum` is signed by participant `turnNum % n` (its mover). States with
///      `turnNum < n` are setup states: everyone signs one in turn and none may change the outcome.
struct VariablePart {
    uint256[] outcome; // amount of the channel's asset for each participant, in participant order
    bytes appData;
    uint48 turnNum;
    bool isFinal;
}

/// @notice An ECDSA signature as three static words (cheaper in calldata than `bytes`).
struct Signature {
    uint8 v;
    bytes32 r;
    bytes32 s;
}

/// @notice A state and its signatures: one (its mover's) in a chain of moves, or one per
///         participant, in participant order, when everyone signed it.
struct SignedVariablePart {
    VariablePart variablePart;
    Signature[] sigs;
}

/// @title IForceMoveApp
/// @notice An application's rules: may `mover` (participant index) go from `from` to `to`?
/// @dev Called by the Adjudicator only for moves after setup (`to.turnNum >= n`), and only after
///      it has checked what holds for every app: turn numbers consecutive, the mover is the
///      signer, the outcome's total unchanged, neither state final. An app reverts with its own
///      custom error naming the broken rule (the Python twin raises the class of the same name),
///      and returns true otherwise.
interface IForceMoveApp {
    function validTransition(FixedPart calldata fixedPart, VariablePart calldata from, VariablePart calldata to,
        uint256 mover) external pure returns (bool);
}
