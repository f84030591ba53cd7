// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DepositManager} from "../DepositManager.sol";

/// @title ExitRecipientProbe
/// @notice A contract on both ends of the sidechain bridge, for tests: it deposits, receives exits (or
///         refuses ETH while `accepting` is false, as a contract without a receive function does), and claims.
contract ExitRecipientProbe {
    bool public accepting;

    function setAccepting(bool accepting_) external {
        accepting = accepting_;
    }

    function deposit(DepositManager bridge, address recipient) external payable {
        bridge.depositEther{value: msg.value}(recipient);
    }

    function claim(DepositManager bridge, address token) external {
        bridge.claim(token);
    }

    receive() external payable {
        require(accepting, "not accepting ETH");
    }
}
