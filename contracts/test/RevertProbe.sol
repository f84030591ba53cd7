// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RevertProbe
/// @notice Reverts in every shape Solidity can (custom error, require string, panic) and with raw
///         bytes, so the tests can check that every chain reports each one the same, decoded.
contract RevertProbe {
    uint256 public counter;

    error ProbeFailed(uint256 code, address caller);

    /// @notice Increments the counter unless `mode` asks for a revert: 1 custom error, 2 require, 3 panic.
    function poke(uint256 mode) external returns (uint256) {
        if (mode == 1) revert ProbeFailed(7, msg.sender);
        require(mode != 2, "probe: mode two");
        assert(mode != 3);
        counter += 1;
        return counter;
    }

    /// @notice Reverts with exactly `data`, whatever it encodes or fails to: what a forged or unknown
    ///         error looks like to the caller.
    function revertWith(bytes calldata data) external pure {
        bytes memory copy = data;
        // Solidity reverts only with a declared error or a string; raw bytes need assembly.
        assembly {
            revert(add(copy, 32), mload(copy))
        }
    }
}
