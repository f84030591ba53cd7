// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SidechainBridge
/// @notice The sidechain's half of the bridge, placed in the sidechain's genesis at `BRIDGE_ADDRESS`
///         (l2/designs/sidechain/bridge.py). Deposits on Layer 1 (`DepositManager.StateSynced`) are applied
///         by the validators as system writes at the start of a block, never by a transaction: ETH is minted
///         to the recipient's native balance, a registered ERC-20 is credited in `balanceOf`, and
///         `lastStateSyncId` moves by one per sync, so the state root every validator votes on says which
///         deposits are in and a sync can never be applied twice. Withdrawals are burns here: each `Burned`
///         becomes a leaf of its checkpoint's exit root, proven on Layer 1 by `DepositManager.exit`.
/// @dev The storage layout is read and written by the validators (bridge.py's slot functions): keep
///      the order of the first five variables.
contract SidechainBridge {
    /// @notice Id of the last Layer-1 state sync applied here (they are applied in order, each once).
    uint256 public lastStateSyncId;
    /// @notice Burns so far; the next burn's id is one more (ids from 1, as DepositManager's replay guard).
    uint256 public burnCount;
    /// @notice Minted by state syncs, per Layer-1 asset (address(0) for ETH).
    mapping(address token => uint256) public minted;
    /// @notice Burned for exits, per Layer-1 asset.
    mapping(address token => uint256) public burned;
    /// @notice Sidechain balances of bridged ERC-20s, by their Layer-1 address.
    mapping(address token => mapping(address account => uint256)) public balanceOf;

    /// @notice A withdrawal to Layer 1: `amount` of `token` for `recipient` there, once a checkpoint covers
    ///         this block.
    event Burned(uint256 indexed id, address indexed token, address indexed recipient, uint256 amount);
    /// @notice A bridged ERC-20 moved between sidechain accounts.
    event TokenTransfer(address indexed token, address indexed from, address indexed to, uint256 amount);

    error ZeroAmount();
    error ZeroRecipient();
    error InsufficientBalance(uint256 balance, uint256 amount);

    /// @notice Burn the ETH sent for `recipient` on Layer 1. The ETH stays in this contract for good: it no
    ///         longer circulates on the sidechain (minted - burned does).
    function withdraw(address recipient) external payable {
        _burn(address(0), recipient, msg.value);
    }

    /// @notice Burn `amount` of the bridged ERC-20 `token` for `recipient` on Layer 1.
    function withdrawToken(address token, address recipient, uint256 amount) external {
        _debit(token, msg.sender, amount);
        _burn(token, recipient, amount);
    }

    /// @notice Move `amount` of the bridged ERC-20 `token` to `to` on the sidechain.
    function transferToken(address token, address to, uint256 amount) external {
        if (to == address(0)) revert ZeroRecipient();
        _debit(token, msg.sender, amount);
        balanceOf[token][to] += amount;
        emit TokenTransfer(token, msg.sender, to, amount);
    }

    function _debit(address token, address account, uint256 amount) private {
        uint256 balance = balanceOf[token][account];
        if (balance < amount) revert InsufficientBalance(balance, amount);
        balanceOf[token][account] = balance - amount;
    }

    function _burn(address token, address recipient, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0)) revert ZeroRecipient();
        uint256 id = ++burnCount;
        burned[token] += amount;
        emit Burned(id, token, recipient, amount);
    }
}
