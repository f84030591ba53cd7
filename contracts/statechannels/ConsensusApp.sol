// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPart, VariablePart, IForceMoveApp} from "./ForceMove.sol";

/// @title ConsensusApp
/// @notice The app of ledger channels: no single participant may move; every state after setup must be
///         signed by everyone (the Adjudicator accepts such a state without asking the app). A ledger's
///         appData is `abi.encode(Guarantee[])`: the parts of its holdings set aside for virtual channels
///         (see `Adjudicator.claimGuarantee`).
contract ConsensusApp is IForceMoveApp {
    error NeedsEveryonesSignature();

    /// @inheritdoc IForceMoveApp
    function validTransition(FixedPart calldata, VariablePart calldata, VariablePart calldata, uint256)
        external
        pure
        override
        returns (bool)
    {
        revert NeedsEveryonesSignature();
    }
}
