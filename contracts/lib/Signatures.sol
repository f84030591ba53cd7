// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Signatures
/// @notice ECDSA recovery that refuses malleable and degenerate signatures, shared by
///         every contract that checks off-chain messages (channels and rollup alike).
/// @dev Mirrors `l2/eip712.py`: 65-byte `r || s || v` (v = 27/28) and 64-byte EIP-2098
///      `r || vs`. ecrecover returns address(0) for garbage; we turn that into an error
///      so a zero-address participant can never be "authenticated".
library Signatures {
    /// @dev secp256k1n / 2: any s above it has a twin (n - s) that also verifies.
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    error InvalidSignatureLength(uint256 length);
    error InvalidSignatureS();
    error InvalidSignatureV(uint8 v);
    error InvalidSigner();

    /// @notice Signer of `digest` from a 65-byte signature; reverts on high s, bad v or no signer.
    function recover(bytes32 digest, bytes memory signature) internal pure returns (address) {
        if (signature.length != 65) revert InvalidSignatureLength(signature.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        // Reading the three words from memory is the only way to split `bytes`; no other use of assembly.
        assembly {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        return recover(digest, r, s, v);
    }

    /// @notice Signer from an EIP-2098 compact signature (r, vs).
    function recoverCompact(bytes32 digest, bytes32 r, bytes32 vs) internal pure returns (address) {
        (bytes32 s, uint8 v) = _splitCompact(vs);
        return recover(digest, r, s, v);
    }

    /// @notice Like `recoverCompact` but never reverts: address(0) for a high-s or unrecoverable signature.
    /// @dev For re-executing a transaction in a fraud proof, where a bad signature makes the
    ///      *transaction* invalid (a provable fault) instead of making the proof call revert.
    function tryRecoverCompact(bytes32 digest, bytes32 r, bytes32 vs) internal pure returns (address) {
        (bytes32 s, uint8 v) = _splitCompact(vs);
        if (uint256(s) > HALF_N) return address(0);
        return ecrecover(digest, v, r, s);
    }

    /// @dev EIP-2098: the top bit of vs is v - 27, the rest is s.
    function _splitCompact(bytes32 vs) private pure returns (bytes32 s, uint8 v) {
        s = vs & bytes32(0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff);
        v = uint8((uint256(vs) >> 255) + 27);
    }

    /// @notice Signer from (r, s, v); reverts on high s, bad v or no signer.
    function recover(bytes32 digest, bytes32 r, bytes32 s, uint8 v) internal pure returns (address signer) {
        if (uint256(s) > HALF_N) revert InvalidSignatureS();
        if (v != 27 && v != 28) revert InvalidSignatureV(v);
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert InvalidSigner();
    }
}
