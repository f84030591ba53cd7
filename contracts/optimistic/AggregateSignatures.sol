// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BLS} from "../lib/BLS.sol";

/// @title AggregateSignatures
/// @notice The BLS checks of the optimistic rollup, in a contract of their own so the rollup stays under
///         EIP-170's 24,576 bytes: a proof of possession when a key is registered, and an aggregate over
///         a commitment's messages in a signature fraud proof. Stateless; the rollup calls it by a
///         high-level call, so a revert here (a caller starving the pairing of gas) reverts the proof
///         instead of reading as "invalid signature".
contract AggregateSignatures {
    /// @return Whether `signature` (48-byte compressed G1) aggregates a signature of each `messages[i]`
    ///         by key i of `publicKeys` (256-byte EIP-2537 G2 points, concatenated). False if the signature
    ///         is no point at all.
    function verify(bytes calldata signature, bytes calldata publicKeys, bytes32[] calldata messages)
        external
        view
        returns (bool)
    {
        if (publicKeys.length != 256 * messages.length) revert BLS.BadPointLength(publicKeys.length);
        (bool ok, bytes memory sig) = BLS.decompressG1(signature);
        if (!ok) return false;
        bytes memory pairs = BLS.newPairs(sig, messages.length);
        for (uint256 i; i < messages.length; ++i) {
            BLS.setPairFromCalldata(pairs, i + 1, BLS.hashDigestToG1(messages[i], false),
                publicKeys[256 * i:256 * i + 256]);
        }
        (bool valid, bool equal) = BLS.tryPairing(pairs);
        return valid && equal;
    }

    /// @return Whether `proof` proves possession of `publicKey` over `message`; false for the key at infinity.
    function verifyPossession(bytes calldata publicKey, bytes32 message, bytes calldata proof)
        external
        view
        returns (bool)
    {
        return BLS.verifyPossession(publicKey, message, proof);
    }
}
