// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../lib/MerkleTree.sol";

/// @title MerkleHarness
/// @notice Exposes `MerkleTree` so that tests can check it against `l2/core/merkle.py`.
contract MerkleHarness {
    function root(bytes32[] memory leaves) external pure returns (bytes32) {
        return MerkleTree.root(leaves);
    }

    function rootFrom(bytes32 leaf, uint256 index, bytes32[] calldata path) external pure returns (bytes32) {
        return MerkleTree.rootFrom(leaf, index, path);
    }

    function depth(uint256 n) external pure returns (uint256) {
        return MerkleTree.depth(n);
    }
}
