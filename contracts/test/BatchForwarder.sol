// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BatchForwarder
/// @notice Test double of an attacker's proposer: relays any call, so a rollup batch can be posted
///         through a contract (or through an EOA delegated to this code with EIP-7702) with a decoy
///         as the transaction's top-level input. The rollup must refuse both.
contract BatchForwarder {
    /// @notice Call `target` with `data` (and the sent ETH); bubbles up the target's revert data.
    function forward(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(data);
        if (!ok) {
            // Re-throwing the callee's revert data verbatim needs assembly: Solidity cannot rethrow raw bytes.
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {}
}
