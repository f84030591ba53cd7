// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPart, VariablePart, IForceMoveApp} from "./ForceMove.sol";

/// @title SingleDirectionPayment
/// @notice Money flows one way: participant 0 (the payer) to participant 1 (the payee). The payer's
///         move pays any amount up to its balance; the payee's move only acknowledges (it may take
///         nothing). Any further participants (a hub) are only witnesses whose amounts never move.
/// @dev Because the payee can never move funds, the payee needs no signature of its own to be
///      safe: the newest state the payer signed is always the best the payee can hold.
///      Python twin: `rules.payment_transition`.
contract SingleDirectionPayment is IForceMoveApp {
    error AppDataChanged();
    error PaymentReversed(uint256 before, uint256 after_);
    error PayeeNotCredited(uint256 expected, uint256 got);
    error PayeeCannotMoveFunds();
    error BystanderChanged(uint256 index);

    /// @inheritdoc IForceMoveApp
    function validTransition(FixedPart calldata, VariablePart calldata from, VariablePart calldata to, uint256 mover)
        external
        pure
        override
        returns (bool)
    {
        if (keccak256(from.appData) != keccak256(to.appData)) revert AppDataChanged();
        for (uint256 i = 2; i < from.outcome.length; ++i) {
            if (from.outcome[i] != to.outcome[i]) revert BystanderChanged(i);
        }
        if (mover != 0) {
            if (from.outcome[0] != to.outcome[0] || from.outcome[1] != to.outcome[1]) revert PayeeCannotMoveFunds();
            return true;
        }
        if (to.outcome[0] > from.outcome[0]) revert PaymentReversed(from.outcome[0], to.outcome[0]);
        uint256 expected = from.outcome[1] + (from.outcome[0] - to.outcome[0]);
        if (to.outcome[1] != expected) revert PayeeNotCredited(expected, to.outcome[1]);
        return true;
    }
}
