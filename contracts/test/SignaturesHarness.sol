// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Signatures} from "../lib/Signatures.sol";

/// @title SignaturesHarness
/// @notice Exposes the Signatures library so tests can check it against l2/eip712.py.
contract SignaturesHarness {
    /// @notice Signatures.recover over a 65-byte signature.
    function recover(bytes32 messageHash, bytes calldata signature) external pure returns (address) {
        return Signatures.recover(messageHash, signature);
    }

    /// @notice Signatures.recoverCompact over an EIP-2098 signature.
    function recoverCompact(bytes32 messageHash, bytes32 r, bytes32 vs) external pure returns (address) {
        return Signatures.recoverCompact(messageHash, r, vs);
    }

    /// @notice Signatures.tryRecoverCompact: address(0) instead of a revert.
    function tryRecoverCompact(bytes32 messageHash, bytes32 r, bytes32 vs) external pure returns (address) {
        return Signatures.tryRecoverCompact(messageHash, r, vs);
    }

    /// @notice The EIP-712 digest of `structHash` under this contract's own domain, for cross-checks.
    function digest(string calldata name, string calldata version, bytes32 structHash) external view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(name)),
                keccak256(bytes(version)),
                block.chainid,
                address(this)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }
}
