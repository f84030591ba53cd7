// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ChannelReentrantToken
/// @notice A hostile ERC-20 for tests: once armed, its next `transferFrom` first makes one call of
///         the tester's choosing (into the registry: a nested deposit, a close), then moves the
///         tokens. It records whether that call failed and with what, so a test can assert the
///         registry's exact refusal without the token bubbling it up.
contract ChannelReentrantToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    address public target;
    bytes public callData;
    bool public callFailed;
    bytes public callError;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error InsufficientBalance(uint256 available, uint256 needed);
    error InsufficientAllowance(uint256 available, uint256 needed);

    /// @notice Create `amount` tokens for `to`. Open to anyone: a test token.
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Make the next `transferFrom` call `target_` with `callData_` first.
    function arm(address target_, bytes calldata callData_) external {
        target = target_;
        callData = callData_;
    }

    /// @notice Approve this token's own spending by `spender` (as a participant it deposits too).
    function approveFromSelf(address spender, uint256 amount) external {
        allowance[address(this)][spender] = amount;
        emit Approval(address(this), spender, amount);
    }

    /// @notice Forward `value` wei and `data` to `to` as this contract (it may be a channel participant).
    function execute(address to, bytes calldata data) external payable {
        (bool ok, bytes memory ret) = to.call{value: msg.value}(data);
        callFailed = !ok;
        callError = ret;
    }

    /// @notice Standard ERC-20 transfer.
    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    /// @notice Standard ERC-20 approve.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @notice ERC-20 transferFrom, after the armed call (if any).
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        address armed = target;
        if (armed != address(0)) {
            target = address(0);
            (bool ok, bytes memory ret) = armed.call(callData);
            callFailed = !ok;
            callError = ret;
        }
        uint256 allowed = allowance[from][msg.sender];
        if (allowed < amount) revert InsufficientAllowance(allowed, amount);
        allowance[from][msg.sender] = allowed - amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        uint256 available = balanceOf[from];
        if (available < amount) revert InsufficientBalance(available, amount);
        balanceOf[from] = available - amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
