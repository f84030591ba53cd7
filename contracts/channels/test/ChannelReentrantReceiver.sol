// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelRegistry} from "../ChannelRegistry.sol";

/// @title ChannelReentrantReceiver
/// @notice A hostile channel participant for tests: when paid ETH it re-enters the registry
///         (settle, claim) or simply reverts, trying to block or double-collect a payout.
contract ChannelReentrantReceiver {
    enum Mode {
        Accept,
        ReenterSettle,
        Revert,
        ReenterClaim
    }

    ChannelRegistry public immutable registry;
    Mode public mode;
    ChannelRegistry.ChannelParams private target;
    uint256 public received;
    bool public reentryFailed;

    constructor(ChannelRegistry registry_) {
        registry = registry_;
    }

    /// @notice Choose how to react to the next ETH payment.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @notice Deposit `msg.value` into channel `p` as this contract's participant.
    function deposit(ChannelRegistry.ChannelParams calldata p) external payable {
        target = p;
        registry.deposit{value: msg.value}(p, msg.value);
    }

    /// @notice Close channel `p` with the opening state (no signature needed).
    function closeEmpty(ChannelRegistry.ChannelParams calldata p) external {
        target = p;
        ChannelRegistry.BalanceProof memory empty;
        empty.channelId = keccak256(abi.encode(p));
        registry.close(p, empty, "");
    }

    /// @notice Collect this contract's pending ETH payouts.
    function claim() external {
        registry.claim(address(0));
    }

    receive() external payable {
        received += msg.value;
        if (mode == Mode.Revert) revert("no thanks");
        if (mode == Mode.ReenterSettle) {
            try registry.settle(target) {} catch { reentryFailed = true; }
            revert("re-entry did not pay twice");
        }
        if (mode == Mode.ReenterClaim) {
            try registry.claim(address(0)) {} catch { reentryFailed = true; }
        }
    }
}
