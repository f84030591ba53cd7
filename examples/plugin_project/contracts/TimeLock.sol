// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TimeLock: ETH its owner can take back only once a delay has passed.
/// @notice The example contract of docs/testing.md, tested with l2's pytest plugin.
contract TimeLock {
    error StillLocked(uint256 unlocksAt);
    error NotOwner(address caller);

    event Locked(address indexed owner, uint256 amount, uint256 unlocksAt);
    event Released(address indexed owner, uint256 amount);

    address public immutable owner;
    uint256 public immutable unlocksAt;

    /// @param delay seconds from now until the owner may release what was sent with the deployment
    constructor(uint256 delay) payable {
        owner = msg.sender;
        unlocksAt = block.timestamp + delay;
        emit Locked(msg.sender, msg.value, block.timestamp + delay);
    }

    /// @notice Sends everything held to the owner, once the delay has passed.
    function release() external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (block.timestamp < unlocksAt) revert StillLocked(unlocksAt);
        uint256 amount = address(this).balance;
        emit Released(owner, amount);
        (bool ok,) = owner.call{value: amount}("");
        require(ok, "transfer failed");
    }
}
