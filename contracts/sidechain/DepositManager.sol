// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../lib/MerkleTree.sol";
import {TokenTransfer} from "../lib/TokenTransfer.sol";
import {StakeManager} from "./StakeManager.sol";

/// @title DepositManager
/// @notice The sidechain's bridge on Layer 1: it locks deposits (ETH and registered ERC-20s), each told
///         to the validators by a numbered `StateSynced` event they include once on the sidechain, and
///         pays exits: a burn on the sidechain, once a checkpoint covers its block, is proven against the
///         checkpoint's exit root and paid to its recipient, once.
///
///         Deposits and exits live in one contract (Polygon splits them into DepositManager and
///         WithdrawManager) so the locked funds move only by the rules here: no other contract holds a
///         right to take them.
///
///         Checkpoints are signed by more than 2/3 of the stake, and that majority could sign an exit root
///         that pays whatever it likes (Polygon's trust assumption; Ronin lost 173,600 ETH when 5 of 9 keys
///         were taken, and nobody noticed for six days). So the outflow against one checkpoint is capped
///         per asset: an exit past the cap is not refused but held for `holdPeriod` seconds and announced
///         by `OutflowLimitHit`, which gives people watching the time to react before it is paid.
/// @dev Burns are leaves `keccak256(abi.encode(BURN_TYPEHASH, id, blockNumber, token, recipient, amount))`
///      of `MerkleTree`; Python twin: `l2/designs/sidechain/bridge.py`.
contract DepositManager {
    /// @notice A withdrawal burned on the sidechain: its bridge's `id` counts burns from 1.
    struct Burn {
        uint256 id;
        uint256 blockNumber; // the sidechain block that burned it
        address token; // the Layer-1 asset: address(0) for ETH
        address recipient; // on Layer 1
        uint256 amount;
    }

    /// @notice A checkpoint as `StakeManager.CheckpointSubmitted` announced it.
    struct CheckpointHeader {
        uint256 start;
        uint256 end;
        bytes32 blockRoot;
        bytes32 exitRoot;
    }

    bytes32 public constant BURN_TYPEHASH =
        keccak256("Burn(uint256 id,uint256 blockNumber,address token,address recipient,uint256 amount)");

    /// @dev Gas forwarded with an ETH payout: enough for a smart-contract wallet, too little to re-enter
    ///      anything here; a failed push is owed to the recipient instead (`claim`).
    uint256 private constant PAYOUT_GAS = 50_000;

    StakeManager public immutable stakeManager;
    /// @notice Seconds an exit past its checkpoint's outflow limit waits before it can be released.
    uint256 public immutable holdPeriod;

    /// @notice Most paid against one checkpoint, per asset; zero means the asset is not registered.
    mapping(address token => uint256) public outflowLimit;
    /// @notice What backs the sidechain's balances: deposits minus the exits proven.
    mapping(address token => uint256) public locked;
    /// @notice Exits proven but not paid yet (held, or owed after a failed push): locked + pendingPayouts
    ///         is what this contract holds of each asset.
    mapping(address token => uint256) public pendingPayouts;
    /// @notice Paid against each checkpoint so far, per asset.
    mapping(uint256 checkpoint => mapping(address token => uint256)) public outflow;
    /// @notice Exits past the limit, by burn id: keccak256(abi.encode(burn, releaseAt)).
    mapping(uint256 burnId => bytes32) public held;
    /// @notice Payouts whose push failed, claimable by the recipient.
    mapping(address token => mapping(address recipient => uint256)) public owed;
    /// @notice Id of the last `StateSynced` (the next deposit gets one more).
    uint256 public stateSyncCount;

    /// @dev One bit per burn id: its exit was proven (256 per slot, so most exits write a warm slot).
    mapping(uint256 word => uint256) private exitedBits;
    /// @dev Set while a token deposit is pulled (the credit is the balance delta; see `_pullToken`).
    bool private transient pulling;

    /// @notice A deposit for the sidechain: validators credit `amount` of `token` to `recipient` there,
    ///         in the order of `id`, each id once.
    event StateSynced(
        uint256 indexed id, address indexed depositor, address indexed token, address recipient, uint256 amount
    );
    event ExitPaid(uint256 indexed burnId, uint256 indexed checkpoint, address indexed recipient, address token, uint256 amount);
    event OutflowLimitHit(
        uint256 indexed checkpoint, address indexed token, uint256 paidSoFar, uint256 requested, uint256 limit
    );
    event ExitHeld(uint256 indexed burnId, address indexed recipient, address token, uint256 amount, uint256 releaseAt);
    event HeldExitReleased(uint256 indexed burnId, address indexed recipient, address token, uint256 amount);
    event PayoutOwed(address indexed recipient, address indexed token, uint256 amount);
    event Claimed(address indexed recipient, address indexed token, uint256 amount);

    error InvalidParameter(string name);
    error UnknownToken(address token);
    error ZeroDeposit();
    error ZeroRecipient();
    error TokenTransferFailed(address token);
    error TokenPullReentered(address token);
    error ExitBeforeCheckpoint(uint256 burnBlock, uint256 lastCheckpointedBlock);
    error UnknownCheckpoint(uint256 number, uint256 count);
    error CheckpointMismatch(uint256 number);
    error BurnNotInCheckpoint(uint256 burnBlock, uint256 start, uint256 end);
    error InvalidExitProof(uint256 burnId);
    error AlreadyExited(uint256 burnId);
    error ExceedsLocked(address token, uint256 amount, uint256 locked);
    error NotHeld(uint256 burnId);
    error StillHeld(uint256 burnId, uint256 releaseAt);
    error NothingOwed(address recipient, address token);
    error PaymentFailed(address to, uint256 amount);

    /// @param stakeManager_ The StakeManager whose checkpoints prove burns.
    /// @param tokens Assets accepted, address(0) for ETH; each with its `limits` entry (outflow per checkpoint).
    /// @param holdPeriod_ Seconds an exit past the outflow limit waits.
    constructor(address stakeManager_, address[] memory tokens, uint256[] memory limits, uint256 holdPeriod_) {
        if (stakeManager_.code.length == 0) revert InvalidParameter("stakeManager");
        if (tokens.length != limits.length || tokens.length == 0) revert InvalidParameter("tokens");
        stakeManager = StakeManager(stakeManager_);
        holdPeriod = holdPeriod_;
        for (uint256 i; i < tokens.length; ++i) {
            if (tokens[i] != address(0) && tokens[i].code.length == 0) revert InvalidParameter("tokens");
            if (limits[i] == 0) revert InvalidParameter("limits");
            outflowLimit[tokens[i]] = limits[i];
        }
    }

    // ---------------------------------------------------------------- deposits

    /// @notice Lock the ETH sent for `recipient` on the sidechain.
    function depositEther(address recipient) external payable {
        _stateSync(address(0), recipient, msg.value);
    }

    /// @notice Lock `amount` of `token` (pulled with transferFrom) for `recipient` on the sidechain;
    ///         credited with what arrived (a fee-on-transfer token delivers less than asked).
    function depositERC20(address token, address recipient, uint256 amount) external {
        if (token == address(0) || outflowLimit[token] == 0) revert UnknownToken(token);
        _stateSync(token, recipient, _pullToken(token, amount));
    }

    // ------------------------------------------------------------------- exits

    /// @notice Prove the burn `burn` against checkpoint `checkpoint` and pay its recipient (anyone may
    ///         call: the recipient is in the burn). Paid once per burn id.
    /// @param header The checkpoint as announced (checked against the hash StakeManager stored).
    /// @param index The burn's position among the checkpoint's burns; `proof` its Merkle path, bottom-up.
    function exit(
        uint256 checkpoint,
        CheckpointHeader calldata header,
        Burn calldata burn,
        uint256 index,
        bytes32[] calldata proof
    ) external {
        _checkProof(checkpoint, header, burn, index, proof);
        uint256 bit = uint256(1) << (burn.id & 255);
        uint256 word = exitedBits[burn.id >> 8];
        if (word & bit != 0) revert AlreadyExited(burn.id);
        exitedBits[burn.id >> 8] = word | bit;

        address token = burn.token;
        uint256 backing = locked[token];
        // Also refuses an unregistered asset (nothing is locked of it) and a forged root paying more than
        // was ever deposited.
        if (burn.amount > backing) revert ExceedsLocked(token, burn.amount, backing);
        locked[token] = backing - burn.amount;

        uint256 paidSoFar = outflow[checkpoint][token];
        uint256 limit = outflowLimit[token];
        if (paidSoFar + burn.amount > limit) {
            uint256 releaseAt = block.timestamp + holdPeriod;
            held[burn.id] = keccak256(abi.encode(burn, releaseAt));
            pendingPayouts[token] += burn.amount;
            emit OutflowLimitHit(checkpoint, token, paidSoFar, burn.amount, limit);
            emit ExitHeld(burn.id, burn.recipient, token, burn.amount, releaseAt);
            return;
        }
        outflow[checkpoint][token] = paidSoFar + burn.amount;
        emit ExitPaid(burn.id, checkpoint, burn.recipient, token, burn.amount);
        _payout(token, burn.recipient, burn.amount);
    }

    /// @notice Pay an exit that was held for passing its checkpoint's outflow limit, once its hold is over.
    function releaseHeld(Burn calldata burn, uint256 releaseAt) external {
        if (held[burn.id] == bytes32(0) || held[burn.id] != keccak256(abi.encode(burn, releaseAt))) {
            revert NotHeld(burn.id);
        }
        if (block.timestamp < releaseAt) revert StillHeld(burn.id, releaseAt);
        delete held[burn.id];
        pendingPayouts[burn.token] -= burn.amount;
        emit HeldExitReleased(burn.id, burn.recipient, burn.token, burn.amount);
        _payout(burn.token, burn.recipient, burn.amount);
    }

    /// @notice Take what an exit owes the caller after its push failed.
    function claim(address token) external {
        uint256 amount = owed[token][msg.sender];
        if (amount == 0) revert NothingOwed(msg.sender, token);
        owed[token][msg.sender] = 0;
        pendingPayouts[token] -= amount;
        emit Claimed(msg.sender, token, amount);
        bool ok;
        if (token == address(0)) {
            (ok,) = msg.sender.call{value: amount}("");
        } else {
            ok = TokenTransfer.tryTransfer(token, msg.sender, amount);
        }
        if (!ok) revert PaymentFailed(msg.sender, amount);
    }

    /// @notice Whether the exit of burn `burnId` has been proven.
    function exited(uint256 burnId) external view returns (bool) {
        return exitedBits[burnId >> 8] & (uint256(1) << (burnId & 255)) != 0;
    }

    /// @notice The exit tree's leaf of `burn`.
    function burnLeaf(Burn calldata burn) public pure returns (bytes32) {
        return keccak256(abi.encode(BURN_TYPEHASH, burn.id, burn.blockNumber, burn.token, burn.recipient, burn.amount));
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless `burn` is in the exit root of checkpoint `checkpoint`, as StakeManager stored it.
    function _checkProof(
        uint256 checkpoint,
        CheckpointHeader calldata header,
        Burn calldata burn,
        uint256 index,
        bytes32[] calldata proof
    ) private view {
        (bytes32 headerHash, uint256 count, uint256 lastEnd) = stakeManager.checkpointForExit(checkpoint);
        // The complaint users of Polygon know best ("burn transaction has not been checkpointed yet"):
        // say which block is needed and which is covered.
        if (burn.blockNumber > lastEnd) revert ExitBeforeCheckpoint(burn.blockNumber, lastEnd);
        if (checkpoint >= count) revert UnknownCheckpoint(checkpoint, count);
        if (keccak256(abi.encode(header)) != headerHash) revert CheckpointMismatch(checkpoint);
        if (burn.blockNumber < header.start || burn.blockNumber > header.end) {
            revert BurnNotInCheckpoint(burn.blockNumber, header.start, header.end);
        }
        if (MerkleTree.rootFrom(burnLeaf(burn), index, proof) != header.exitRoot) revert InvalidExitProof(burn.id);
    }

    function _stateSync(address token, address recipient, uint256 amount) private {
        if (recipient == address(0)) revert ZeroRecipient();
        if (amount == 0) revert ZeroDeposit(); // every state sync costs each validator work: none for nothing
        if (token == address(0) && outflowLimit[address(0)] == 0) revert UnknownToken(address(0));
        locked[token] += amount;
        emit StateSynced(++stateSyncCount, msg.sender, token, recipient, amount);
    }

    /// @dev A failed push becomes a debt the recipient claims, so a recipient that cannot take the
    ///      payment now (a contract without a receive function) never blocks the exit's proof.
    function _payout(address token, address to, uint256 amount) private {
        bool ok;
        if (token == address(0)) {
            (ok,) = to.call{value: amount, gas: PAYOUT_GAS}("");
        } else {
            ok = TokenTransfer.tryTransfer(token, to, amount);
        }
        if (!ok) {
            owed[token][to] += amount;
            pendingPayouts[token] += amount;
            emit PayoutOwed(to, token, amount);
        }
    }

    /// @dev What arrived: balance after minus before. A pull nested inside this one (re-entered from the
    ///      token) would be counted in both, so it is refused.
    function _pullToken(address token, uint256 amount) private returns (uint256) {
        if (pulling) revert TokenPullReentered(token);
        pulling = true;
        (bool okBefore, uint256 before) = TokenTransfer.tryBalanceOf(token, address(this));
        if (!okBefore) revert TokenTransferFailed(token);
        if (!TokenTransfer.tryTransferFrom(token, msg.sender, address(this), amount)) revert TokenTransferFailed(token);
        (, uint256 afterPull) = TokenTransfer.tryBalanceOf(token, address(this));
        pulling = false;
        return afterPull > before ? afterPull - before : 0;
    }
}
