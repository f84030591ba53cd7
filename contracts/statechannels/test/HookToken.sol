// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title HookToken
/// @notice Test double: an ERC-20 whose `transferFrom` first makes one call set by the test (a token
///         running foreign code mid-deposit), to show the Adjudicator re-checks what that call may change.
contract HookToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    address public hookTarget;
    bytes public hookData;

    error HookFailed(bytes reason);

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function setHook(address target, bytes calldata data) external {
        hookTarget = target;
        hookData = data;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (hookTarget != address(0)) {
            address target = hookTarget;
            hookTarget = address(0); // once
            (bool ok, bytes memory reason) = target.call(hookData);
            if (!ok) revert HookFailed(reason);
        }
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }
}
