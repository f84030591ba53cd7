// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TokenTransfer
/// @notice The one way every contract of the project calls an ERC-20: a call succeeds when it does
///         not revert and returns either nothing (USDT-style tokens) or one word equal to 1 (`true`).
///         Anything else (false, a short answer, a revert) is a failure the caller decides about.
/// @dev The caller must have checked the token has code: a call to an address without code succeeds
///      and returns nothing. Mirrors nothing in Python: Layer 2 never calls a token itself.
library TokenTransfer {
    bytes4 private constant TRANSFER = 0xa9059cbb; // transfer(address,uint256)
    bytes4 private constant TRANSFER_FROM = 0x23b872dd; // transferFrom(address,address,uint256)
    bytes4 private constant BALANCE_OF = 0x70a08231; // balanceOf(address)

    /// @notice `token.transfer(to, amount)`; true if it succeeded.
    function tryTransfer(address token, address to, uint256 amount) internal returns (bool) {
        return _succeeded(token, abi.encodeWithSelector(TRANSFER, to, amount));
    }

    /// @notice `token.transferFrom(from, to, amount)`; true if it succeeded.
    function tryTransferFrom(address token, address from, address to, uint256 amount) internal returns (bool) {
        return _succeeded(token, abi.encodeWithSelector(TRANSFER_FROM, from, to, amount));
    }

    /// @notice `token.balanceOf(account)`; ok = false if the token does not answer with a word.
    function tryBalanceOf(address token, address account) internal view returns (bool ok, uint256 balance) {
        bytes memory ret;
        (ok, ret) = token.staticcall(abi.encodeWithSelector(BALANCE_OF, account));
        if (!ok || ret.length < 32) return (false, 0);
        balance = abi.decode(ret, (uint256));
    }

    function _succeeded(address token, bytes memory callData) private returns (bool) {
        (bool ok, bytes memory ret) = token.call(callData);
        return ok && (ret.length == 0 || (ret.length >= 32 && abi.decode(ret, (uint256)) == 1));
    }
}
