// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BLS} from "../lib/BLS.sol";

/// @notice Exposes contracts/lib/BLS.sol so tests can check it against l2/core/bls.py.
contract BLSHarness {
    function hashToG1(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return BLS.hashToG1(message, dst);
    }

    function hashDigestToG1(bytes32 message, bool possession) external view returns (bytes memory) {
        return BLS.hashDigestToG1(message, possession);
    }

    function decompressG1(bytes calldata compressed) external view returns (bool ok, bytes memory point) {
        return BLS.decompressG1(compressed);
    }

    function expandMessageXmd(bytes calldata message, bytes calldata dst) external pure returns (bytes memory) {
        return BLS.expandMessageXmd(message, dst);
    }

    /// @dev The check a signature fraud proof makes: one aggregate over k (key, message) pairs.
    function verifyAggregate(bytes calldata signature, bytes[] calldata publicKeys, bytes[] calldata messages)
        external
        view
        returns (bool valid, bool equal)
    {
        bytes memory pairs = BLS.newPairs(BLS.g1FromCalldata(signature), messages.length);
        for (uint256 i; i < messages.length; ++i) {
            BLS.setPair(pairs, i + 1, BLS.hashToG1(messages[i], BLS.DST_SIGNATURE), publicKeys[i]);
        }
        return BLS.tryPairing(pairs);
    }

    function verifyPossession(bytes calldata publicKey, bytes32 message, bytes calldata proof)
        external
        view
        returns (bool)
    {
        return BLS.verifyPossession(publicKey, message, proof);
    }

    /// @dev A transaction wrapper so the gas of a whole check can be measured as a transaction.
    function checkAggregate(bytes calldata signature, bytes[] calldata publicKeys, bytes[] calldata messages)
        external
        returns (bool equal)
    {
        (, equal) = this.verifyAggregate(signature, publicKeys, messages);
        emit Checked(equal);
    }

    event Checked(bool equal);
}
