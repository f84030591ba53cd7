// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title FeeOnTransferToken
/// @notice An ERC-20 that keeps a fee on every `transfer` and `transferFrom`, as some real tokens
///         do (STA, PAXG, USDT with its fee switch on): the sender is debited `amount`, the
///         recipient credited `amount - fee`, and the fee, `amount * feeBps / 10_000` rounded
///         down, is burned. Contracts that credit the amount they asked for instead of what
///         arrived become insolvent in it. For tests only: anyone may mint or change the fee.
contract FeeOnTransferToken {
    /// @notice The largest fee: 100 % (the recipient gets nothing).
    uint256 public constant MAX_FEE_BPS = 10_000;

    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    /// @notice The fee in basis points (1/100 of a percent) of every transfer.
    uint256 public feeBps;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event FeeChanged(uint256 feeBps);

    error FeeTooHigh(uint256 feeBps, uint256 max);
    error InsufficientBalance(uint256 available, uint256 needed);
    error InsufficientAllowance(uint256 available, uint256 needed);

    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    /// @param feeBps_ Fee of every transfer in basis points (at most `MAX_FEE_BPS`).
    constructor(string memory name_, string memory symbol_, uint256 feeBps_) {
        name = name_;
        symbol = symbol_;
        _setFee(feeBps_);
    }

    /// @notice Create `amount` tokens for `to` (no fee on minting). Open to anyone: a test token.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Change the fee of every later transfer. Open to anyone: a test token.
    /// @param feeBps_ The new fee in basis points (at most `MAX_FEE_BPS`).
    function setFee(uint256 feeBps_) external {
        _setFee(feeBps_);
    }

    /// @notice The fee kept on a transfer of `amount`.
    function feeOn(uint256 amount) public view returns (uint256) {
        return amount * feeBps / MAX_FEE_BPS;
    }

    /// @notice ERC-20 transfer: `to` receives `amount - feeOn(amount)`.
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

    /// @notice ERC-20 transferFrom: the allowance is charged `amount`, `to` receives `amount - feeOn(amount)`.
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance(allowed, amount);
            allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
        return true;
    }

    function _setFee(uint256 feeBps_) private {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        feeBps = feeBps_;
        emit FeeChanged(feeBps_);
    }

    function _move(address from, address to, uint256 amount) private {
        uint256 available = balanceOf[from];
        if (available < amount) revert InsufficientBalance(available, amount);
        uint256 fee = feeOn(amount);
        balanceOf[from] = available - amount;
        balanceOf[to] += amount - fee;
        emit Transfer(from, to, amount - fee);
        if (fee > 0) {
            totalSupply -= fee;
            emit Transfer(from, address(0), fee);
        }
    }
}
