// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ZkAcceptingVerifier
/// @notice TEST DOUBLE, never deployed by the plan: accepts every proof. `l2 bench` puts it behind a ZkRollup of
///         large batch sizes (whose circuits would take too long to set up) to measure everything but the
///         pairing, then adds the real verifier's measured premium.
contract ZkAcceptingVerifier {
    function verifyProof(uint256[8] calldata, uint256) external pure returns (bool) {
        return true;
    }
}
