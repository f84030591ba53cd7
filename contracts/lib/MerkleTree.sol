// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MerkleTree
/// @notice The one binary Merkle tree of the project: node = keccak256(left || right); a level with
///         an odd number of nodes pairs its last one with bytes32(0). A sparse tree of fixed depth is
///         the same tree with every leaf present (an empty leaf is bytes32(0)). Python twin:
///         `l2/core/merkle.py`, tested against this one through `MerkleHarness`.
library MerkleTree {
    /// @notice Levels of a tree over `n` leaves (0 for one leaf).
    function depth(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) ++d;
    }

    /// @notice Root of `leaves`; overwrites the array (it is the caller's scratch space).
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        while (n > 1) {
            uint256 half = (n + 1) >> 1;
            for (uint256 i; i < half; ++i) {
                uint256 l = i << 1;
                bytes32 right = l + 1 < n ? leaves[l + 1] : bytes32(0);
                leaves[i] = hashPair(leaves[l], right);
            }
            n = half;
        }
        return leaves[0];
    }

    /// @notice Root reached from `leaf` at `index` with `path` (siblings, bottom-up).
    function rootFrom(bytes32 leaf, uint256 index, bytes32[] calldata path) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 i; i < path.length; ++i) {
            node = (index >> i) & 1 == 0 ? hashPair(node, path[i]) : hashPair(path[i], node);
        }
    }

    /// @notice keccak256(left || right), hashed in the scratch space: `abi.encodePacked` would allocate
    ///         64 bytes of memory that is never freed, and a fraud proof hashes thousands of pairs, so
    ///         memory (priced quadratically) would grow with the square of the proof.
    function hashPair(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            h := keccak256(0x00, 0x40)
        }
    }
}
