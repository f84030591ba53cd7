// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RevertProbe
/// @notice Reverts in every shape Solidity can (custom error, require string, panic), so
///         the tests can check that both chains report each one the same, decoded.
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
}
