// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RollupRules as R} from "./RollupRules.sol";
import {Signatures} from "../lib/Signatures.sol";

/// @title Rollup
/// @notice Layer-1 side of an optimistic rollup: the bridge (deposits, forced withdrawals, claims),
///         the batch inbox (bonded proposers post compact transactions plus one post-state root per
///         transition) and the single-transaction fraud proof that re-executes one transition.
/// @dev Only a hash of each batch header is stored; the transactions live in calldata and in the
///      `BatchSubmitted` event's transaction. A transition is *fraudulent* when it is invalid (see
///      `challengeTransition`) or its committed post-state root differs from re-execution. One
///      fraudulent transition reverts its batch and every later batch and slashes the proposer.
contract Rollup {
    // ------------------------------------------------------------------ types

    /// @notice Everything a batch commits to; `keccak256(abi.encode(header))` is stored per batch.
    struct BatchHeader {
        uint64 index;
        uint64 timestamp;
        address proposer;
        bytes32 prevRoot;
        bytes32 txRoot;
        uint64 txCount;
        uint64 queueStart;
        uint64 queueEnd;
    }

    /// @notice A transition chunk and its Merkle path in the batch's transaction tree.
    /// @dev `queueIndex` is the L1 queue cursor when the chunk was posted (for a QueueOp, the entry it consumes).
    struct Inclusion {
        uint64 position;
        uint64 queueIndex;
        bytes chunk;
        bytes32[] path;
    }

    /// @notice Fraud proof for one transition: pre-state opening plus touched accounts.
    struct FraudProof {
        BatchHeader header;
        Inclusion target;
        Inclusion previous; // ignored when target.position == 0
        bytes32 accountsRoot;
        uint256[4] fees;
        R.AccountWitness first;
        R.AccountWitness second;
        R.QueueEntry entry;
    }

    struct Counters {
        uint64 batchCount;
        uint64 queueHead;
        uint64 queueLength;
        uint64 lastBatchTime;
    }

    // ------------------------------------------------------------------ state

    address public immutable admin;
    address public immutable sequencer;
    uint256 public immutable challengeWindow;
    uint256 public immutable inclusionWindow;
    uint256 public immutable minBond;
    bytes32 public immutable domainSeparator;
    bytes32 public immutable genesisRoot;

    address[4] public tokens; // tokens[0] = address(0) = ETH
    uint8 public tokenCount = 1;
    bytes32 public tipRoot;
    Counters public counters;
    mapping(uint256 => bytes32) public batchCommitment;
    /// @notice queue[k] = timestamp << 192 | uint192(chained hash of entries 0..k).
    mapping(uint256 => uint256) public queue;
    mapping(address => uint256) public bonds;
    /// @dev (batch index + 1) << 64 | batch timestamp of the proposer's latest batch.
    mapping(address => uint256) public lastBatchOf;
    mapping(bytes32 => bool) public claimed;
    uint256 public totalBurned;

    // ------------------------------------------------------------------ events

    event TokenRegistered(uint8 indexed token, address tokenAddress);
    event QueueEntryAdded(
        uint64 indexed index, uint8 kind, address indexed addr, uint32 accountIndex, uint8 token, uint256 amount, uint64 timestamp
    );
    event BondDeposited(address indexed proposer, uint256 amount, uint256 total);
    event BondWithdrawn(address indexed proposer, uint256 amount);
    event BatchSubmitted(
        uint64 indexed index,
        address indexed proposer,
        bytes32 prevRoot,
        bytes32 postRoot,
        bytes32 txRoot,
        uint64 txCount,
        uint64 queueStart,
        uint64 queueEnd,
        uint64 timestamp
    );
    event FraudProven(
        uint64 indexed batchIndex, uint64 position, address indexed challenger, address indexed proposer, uint256 reward, uint256 burned
    );
    event BatchesReverted(uint64 fromIndex, uint64 previousCount);
    event WithdrawalClaimed(bytes32 indexed key, address indexed recipient, uint8 token, uint256 amount);

    // ------------------------------------------------------------------ errors

    error NotAdmin();
    error TooManyTokens();
    error TokenAlreadyRegistered(address token);
    error NotAContract(address token);
    error UnknownToken(uint8 token);
    error ZeroAmount();
    error AmountTooLarge(uint256 amount);
    error ZeroAddress();
    error AccountIndexOutOfRange(uint32 index);
    error NotBonded(address proposer, uint256 bond, uint256 required);
    error SequencerStillActive(uint256 openAt);
    error StalePrevRoot(bytes32 actual, bytes32 expected);
    error EmptyBatch();
    error BatchDataMalformed(uint256 offset);
    error TxCountMismatch(uint256 declared, uint256 actual);
    error QueueExhausted(uint64 cursor);
    error QueueEntryOverdue(uint64 index, uint64 queuedAt);
    error UnknownBatch(uint64 index);
    error BatchNotPending(uint64 index);
    error BatchNotFinal(uint64 index, uint256 finalAt);
    error NotIncluded(uint64 position);
    error BadQueueEntry(uint64 index);
    error TransitionCorrect(uint64 batchIndex, uint64 position);
    error NotAWithdrawal(uint64 position);
    error AlreadyClaimed(bytes32 key);
    error BondLocked(uint64 batchIndex, uint256 finalAt);
    error NothingToWithdraw();
    error TransferFailed(address token, address to, uint256 amount);

    // ------------------------------------------------------------------ setup

    /// @param sequencer_ The preferred proposer, allowed to post at any time (still needs a bond).
    /// @param challengeWindow_ Seconds a batch stays open to fraud proofs.
    /// @param inclusionWindow_ Seconds after which a queued entry must be included, and after which
    ///        any bonded proposer may post if the sequencer has gone quiet.
    /// @param minBond_ Wei a proposer must have bonded to post.
    constructor(address sequencer_, uint256 challengeWindow_, uint256 inclusionWindow_, uint256 minBond_) {
        admin = msg.sender;
        sequencer = sequencer_;
        challengeWindow = challengeWindow_;
        inclusionWindow = inclusionWindow_;
        minBond = minBond_;
        domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("L2 Rollup"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
        uint256[4] memory noFees;
        bytes32 genesis = R.stateRoot(R.emptyAccountsRoot(), noFees);
        genesisRoot = genesis;
        tipRoot = genesis;
        counters.lastBatchTime = uint64(block.timestamp);
    }

    /// @notice Register an ERC-20 as the next token id (1..3). Admin only.
    function registerToken(address token) external {
        if (msg.sender != admin) revert NotAdmin();
        uint8 id = tokenCount;
        if (id >= R.MAX_TOKENS) revert TooManyTokens();
        if (token.code.length == 0) revert NotAContract(token);
        for (uint8 i = 1; i < id; ++i) {
            if (tokens[i] == token) revert TokenAlreadyRegistered(token);
        }
        tokens[id] = token;
        tokenCount = id + 1;
        emit TokenRegistered(id, token);
    }

    // ------------------------------------------------------------------ bridge: L1 queue

    /// @notice Deposit ETH to the L2 account of `to`; it enters the L1 queue that batches must consume.
    function depositETH(address to) external payable {
        _enqueue(R.QUEUE_DEPOSIT, to, 0, 0, msg.value);
    }

    /// @notice Deposit `amount` of registered token `token` (pulled with transferFrom) to `to` on L2.
    function depositToken(uint8 token, uint256 amount, address to) external {
        if (token == 0 || token >= tokenCount) revert UnknownToken(token);
        _enqueue(R.QUEUE_DEPOSIT, to, 0, token, amount);
        _safeCall(tokens[token], abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), amount), msg.sender, amount);
    }

    /// @notice Force a withdrawal of `amount` of `token` from L2 account `accountIndex` (which must be
    ///         the caller's); batches must include it in queue order. It withdraws nothing if the
    ///         account is not the caller's or lacks the balance; otherwise it is claimable like any withdrawal.
    function requestForcedWithdrawal(uint32 accountIndex, uint8 token, uint256 amount) external {
        if (token >= tokenCount) revert UnknownToken(token);
        if (accountIndex >= R.MAX_ACCOUNTS) revert AccountIndexOutOfRange(accountIndex);
        _enqueue(R.QUEUE_FORCED_WITHDRAWAL, msg.sender, accountIndex, token, amount);
    }

    function _enqueue(uint8 kind, address addr, uint32 accountIndex, uint8 token, uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint128).max) revert AmountTooLarge(amount);
        if (addr == address(0)) revert ZeroAddress();
        Counters memory c = counters;
        uint64 k = c.queueLength;
        uint192 previous = k == 0 ? 0 : uint192(queue[k - 1]);
        uint192 h = R.queueHash(previous, R.QueueEntry(kind, addr, accountIndex, token, amount));
        queue[k] = (block.timestamp << 192) | h;
        counters.queueLength = k + 1;
        emit QueueEntryAdded(k, kind, addr, accountIndex, token, amount, uint64(block.timestamp));
    }

    // ------------------------------------------------------------------ bonds

    /// @notice Add the sent ETH to the caller's proposer bond.
    function depositBond() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 total = bonds[msg.sender] + msg.value;
        bonds[msg.sender] = total;
        emit BondDeposited(msg.sender, msg.value, total);
    }

    /// @notice Withdraw the whole bond once none of the caller's batches is still pending.
    function withdrawBond() external {
        uint256 last = lastBatchOf[msg.sender];
        if (last != 0) {
            uint64 index = uint64((last >> 64) - 1);
            uint256 finalAt = uint64(last) + challengeWindow;
            if (index < counters.batchCount && block.timestamp < finalAt) revert BondLocked(index, finalAt);
        }
        uint256 amount = bonds[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        bonds[msg.sender] = 0;
        emit BondWithdrawn(msg.sender, amount);
        _pay(0, msg.sender, amount);
    }

    // ------------------------------------------------------------------ batches

    /// @notice Post a batch: `data` is the concatenation of transition chunks (see RollupRules), each
    ///         ending in its post-state root. QueueOp chunks consume L1 queue entries in order.
    /// @param expectedPrevRoot The tip the batch builds on; protects against races and double posting.
    /// @param txCount Number of chunks in `data`.
    function submitBatch(bytes32 expectedPrevRoot, uint256 txCount, bytes calldata data) external {
        Counters memory c = counters;
        uint256 bond = bonds[msg.sender];
        if (bond < minBond || bond == 0) revert NotBonded(msg.sender, bond, minBond);
        if (msg.sender != sequencer && block.timestamp <= c.lastBatchTime + inclusionWindow) {
            revert SequencerStillActive(c.lastBatchTime + inclusionWindow + 1);
        }
        bytes32 prev = tipRoot;
        if (prev != expectedPrevRoot) revert StalePrevRoot(prev, expectedPrevRoot);
        if (txCount == 0) revert EmptyBatch();

        bytes32[] memory leaves = new bytes32[](txCount);
        uint256 pos;
        uint256 n;
        uint64 cursor = c.queueHead;
        while (pos < data.length) {
            if (n == txCount) revert TxCountMismatch(txCount, n + 1);
            uint8 kind = uint8(data[pos]);
            uint256 len = R.chunkLength(kind);
            if (len == 0 || pos + len > data.length) revert BatchDataMalformed(pos);
            leaves[n] = keccak256(abi.encodePacked(data[pos:pos + len], cursor));
            if (kind == R.TX_QUEUE) {
                if (cursor >= c.queueLength) revert QueueExhausted(cursor);
                ++cursor;
            }
            pos += len;
            ++n;
        }
        if (n != txCount) revert TxCountMismatch(txCount, n);
        if (cursor < c.queueLength) {
            uint64 queuedAt = uint64(queue[cursor] >> 192);
            if (queuedAt + inclusionWindow < block.timestamp) revert QueueEntryOverdue(cursor, queuedAt);
        }

        BatchHeader memory h = BatchHeader({
            index: c.batchCount,
            timestamp: uint64(block.timestamp),
            proposer: msg.sender,
            prevRoot: prev,
            txRoot: _merkleRoot(leaves),
            txCount: uint64(txCount),
            queueStart: c.queueHead,
            queueEnd: cursor
        });
        bytes32 postRoot = bytes32(data[data.length - 32:]);
        batchCommitment[h.index] = keccak256(abi.encode(h));
        tipRoot = postRoot;
        counters = Counters(c.batchCount + 1, cursor, c.queueLength, uint64(block.timestamp));
        lastBatchOf[msg.sender] = ((uint256(h.index) + 1) << 64) | block.timestamp;
        emit BatchSubmitted(h.index, msg.sender, prev, postRoot, h.txRoot, h.txCount, h.queueStart, cursor, h.timestamp);
    }

    /// @notice Number of batches currently standing (pending or final).
    function batchCount() external view returns (uint64) {
        return counters.batchCount;
    }

    /// @notice True if the header is a standing batch whose challenge window is over.
    function isFinal(BatchHeader calldata h) external view returns (bool) {
        return _standing(h) && block.timestamp >= h.timestamp + challengeWindow;
    }

    // ------------------------------------------------------------------ fraud proof

    /// @notice Prove one transition of a pending batch fraudulent, in one transaction. The transition
    ///         is re-executed from the pre-state opened by the proof. It is fraudulent if it is
    ///         *invalid* - a token id >= 4, an account index >= 2^20, a transfer to oneself, a sender
    ///         or recipient account that does not exist, a signature not from the sender over its
    ///         current nonce, a balance below amount + fee, a nonce at its maximum, a deposit into an
    ///         account of another address, a QueueOp whose ok flag or account disagrees with the
    ///         queued entry, or a CollectFees into an account that is not the batch proposer's - or if
    ///         its committed post-state root differs from the re-executed one.
    ///         On success the batch and every later one are reverted and the proposer's bond is
    ///         slashed: half to the challenger, half burned. A correct transition reverts with
    ///         TransitionCorrect and changes nothing.
    function challengeTransition(FraudProof calldata p) external {
        BatchHeader calldata h = p.header;
        if (!_standing(h)) revert UnknownBatch(h.index);
        if (block.timestamp >= h.timestamp + challengeWindow) revert BatchNotPending(h.index);
        _requireIncluded(h, p.target);
        bytes32 preRoot = h.prevRoot;
        if (p.target.position > 0) {
            if (p.previous.position + 1 != p.target.position) revert NotIncluded(p.previous.position);
            _requireIncluded(h, p.previous);
            preRoot = R.word(p.previous.chunk, p.previous.chunk.length - 32);
        }
        uint256[4] memory fees = p.fees;
        if (R.stateRoot(p.accountsRoot, fees) != preRoot) revert R.WitnessMismatch(type(uint256).max);

        (bool valid, bytes32 computed) = _execute(p, fees);
        if (valid && computed == R.word(p.target.chunk, p.target.chunk.length - 32)) {
            revert TransitionCorrect(h.index, p.target.position);
        }
        _slashAndRevert(h, p.target.position);
    }

    function _slashAndRevert(BatchHeader calldata h, uint64 position) internal {
        Counters memory c = counters;
        uint256 bond = bonds[h.proposer];
        uint256 reward = bond / 2;
        bonds[h.proposer] = 0;
        totalBurned += bond - reward;
        tipRoot = h.prevRoot;
        counters = Counters(h.index, h.queueStart, c.queueLength, c.lastBatchTime);
        emit BatchesReverted(h.index, c.batchCount);
        emit FraudProven(h.index, position, msg.sender, h.proposer, reward, bond - reward);
        if (reward > 0) _pay(0, msg.sender, reward);
    }

    function _execute(FraudProof calldata p, uint256[4] memory fees) internal view returns (bool, bytes32) {
        bytes calldata c = p.target.chunk;
        uint8 kind = uint8(c[0]);
        if (kind == R.TX_TRANSFER) return _executeTransfer(p, c, fees);
        if (kind == R.TX_WITHDRAW) return _executeWithdraw(p, c, fees);
        if (kind == R.TX_COLLECT_FEES) return _executeCollectFees(p, c, fees);
        return _executeQueueOp(p, c, fees);
    }

    /// @dev CollectFees: the whole fee pool of `token` moves to `account`, which must exist and belong to
    ///      the batch's proposer - fees pay whoever posts batches, and otherwise stay locked in the bridge.
    function _executeCollectFees(FraudProof calldata p, bytes calldata c, uint256[4] memory fees)
        internal
        pure
        returns (bool, bytes32)
    {
        uint32 index = R.u32(c, 1);
        uint8 token = uint8(c[5]);
        if (token >= R.MAX_TOKENS || index >= R.MAX_ACCOUNTS) return (false, 0);
        R.Account memory a = R.load(p.first, index, p.accountsRoot);
        if (a.addr == address(0) || a.addr != p.header.proposer) return (false, 0);
        a.balances[token] += fees[token];
        fees[token] = 0;
        return (true, R.stateRoot(R.rootFrom(R.leafHash(a), index, p.first.siblings), fees));
    }

    /// @dev A decoded Transfer or Withdraw, kept in memory to stay clear of stack limits.
    struct UserTx {
        uint32 from;
        uint32 to;
        address recipient;
        uint8 token;
        uint256 amount;
        uint256 fee;
    }

    function _decodeUserTx(bytes calldata c) internal pure returns (UserTx memory t) {
        t.from = R.u32(c, 1);
        if (uint8(c[0]) == R.TX_TRANSFER) {
            t.to = R.u32(c, 5);
            t.token = uint8(c[9]);
            t.amount = R.f40(c, 10);
            t.fee = R.f16(c, 15);
        } else {
            t.recipient = address(bytes20(c[5:25]));
            t.token = uint8(c[25]);
            t.amount = R.f40(c, 26);
            t.fee = R.f16(c, 31);
        }
    }

    /// @dev Checks shared by Transfer and Withdraw; returns the debited sender, or ok = false if invalid.
    function _debitSender(FraudProof calldata p, bytes calldata c, UserTx memory t)
        internal
        view
        returns (bool ok, R.Account memory a)
    {
        if (t.token >= R.MAX_TOKENS || t.from >= R.MAX_ACCOUNTS) return (false, a);
        a = R.load(p.first, t.from, p.accountsRoot);
        if (a.addr == address(0) || a.nonce == type(uint32).max) return (false, a);
        bytes32 structHash;
        uint256 sigAt;
        if (uint8(c[0]) == R.TX_TRANSFER) {
            structHash = keccak256(abi.encode(R.TRANSFER_TYPEHASH, t.from, t.to, t.token, t.amount, t.fee, a.nonce));
            sigAt = 17;
        } else {
            structHash =
                keccak256(abi.encode(R.WITHDRAW_TYPEHASH, t.from, t.recipient, t.token, t.amount, t.fee, a.nonce));
            sigAt = 33;
        }
        address signer =
            Signatures.tryRecoverCompact(R.digest(domainSeparator, structHash), R.word(c, sigAt), R.word(c, sigAt + 32));
        if (signer != a.addr || a.balances[t.token] < t.amount + t.fee) return (false, a);
        a.nonce += 1;
        a.balances[t.token] -= t.amount + t.fee;
        ok = true;
    }

    function _executeTransfer(FraudProof calldata p, bytes calldata c, uint256[4] memory fees)
        internal
        view
        returns (bool, bytes32)
    {
        UserTx memory t = _decodeUserTx(c);
        if (t.to >= R.MAX_ACCOUNTS || t.from == t.to) return (false, 0);
        (bool ok, R.Account memory a) = _debitSender(p, c, t);
        if (!ok) return (false, 0);
        bytes32 mid = R.rootFrom(R.leafHash(a), t.from, p.first.siblings);
        R.Account memory b = R.load(p.second, t.to, mid);
        if (b.addr == address(0)) return (false, 0);
        b.balances[t.token] += t.amount;
        fees[t.token] += t.fee;
        return (true, R.stateRoot(R.rootFrom(R.leafHash(b), t.to, p.second.siblings), fees));
    }

    function _executeWithdraw(FraudProof calldata p, bytes calldata c, uint256[4] memory fees)
        internal
        view
        returns (bool, bytes32)
    {
        UserTx memory t = _decodeUserTx(c);
        (bool ok, R.Account memory a) = _debitSender(p, c, t);
        if (!ok) return (false, 0);
        fees[t.token] += t.fee;
        return (true, R.stateRoot(R.rootFrom(R.leafHash(a), t.from, p.first.siblings), fees));
    }

    function _executeQueueOp(FraudProof calldata p, bytes calldata c, uint256[4] memory fees)
        internal
        view
        returns (bool, bytes32)
    {
        _requireQueueEntry(p.target.queueIndex, p.entry);
        uint32 index = R.u32(c, 1);
        if (index >= R.MAX_ACCOUNTS) return (false, 0);
        R.Account memory a = R.load(p.first, index, p.accountsRoot);
        if (!_applyQueueEntry(a, p.entry, index, uint8(c[5]))) return (false, 0);
        return (true, R.stateRoot(R.rootFrom(R.leafHash(a), index, p.first.siblings), fees));
    }

    /// @dev Applies a queue entry to account `a` in place; false if the QueueOp is invalid.
    function _applyQueueEntry(R.Account memory a, R.QueueEntry calldata e, uint32 index, uint8 ok)
        internal
        pure
        returns (bool)
    {
        if (e.kind == R.QUEUE_DEPOSIT) {
            if (ok != 1 || (a.addr != address(0) && a.addr != e.addr)) return false;
            a.addr = e.addr;
            a.balances[e.token] += e.amount;
            return true;
        }
        if (index != e.accountIndex) return false;
        bool success = a.addr == e.addr && a.balances[e.token] >= e.amount;
        if (ok != (success ? 1 : 0)) return false;
        if (success) a.balances[e.token] -= e.amount;
        return true;
    }

    function _requireQueueEntry(uint64 k, R.QueueEntry calldata e) internal view {
        uint192 previous = k == 0 ? 0 : uint192(queue[k - 1]);
        if (k >= counters.queueLength || R.queueHash(previous, e) != uint192(queue[k])) revert BadQueueEntry(k);
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Claim an L2 Withdraw transaction on L1 once its batch is final. Pays its recipient.
    function claimWithdrawal(BatchHeader calldata h, Inclusion calldata inc) external {
        bytes32 key = _claimable(h, inc);
        bytes calldata c = inc.chunk;
        if (uint8(c[0]) != R.TX_WITHDRAW) revert NotAWithdrawal(inc.position);
        address recipient = address(bytes20(c[5:25]));
        uint8 token = uint8(c[25]);
        uint256 amount = R.f40(c, 26);
        claimed[key] = true;
        emit WithdrawalClaimed(key, recipient, token, amount);
        _pay(token, recipient, amount);
    }

    /// @notice Claim a forced withdrawal (a QueueOp with ok = 1 consuming entry `e`) once its batch is final.
    function claimForcedWithdrawal(BatchHeader calldata h, Inclusion calldata inc, R.QueueEntry calldata e) external {
        bytes32 key = _claimable(h, inc);
        bytes calldata c = inc.chunk;
        if (uint8(c[0]) != R.TX_QUEUE || uint8(c[5]) != 1 || e.kind != R.QUEUE_FORCED_WITHDRAWAL) {
            revert NotAWithdrawal(inc.position);
        }
        _requireQueueEntry(inc.queueIndex, e);
        claimed[key] = true;
        emit WithdrawalClaimed(key, e.addr, e.token, e.amount);
        _pay(e.token, e.addr, e.amount);
    }

    function _claimable(BatchHeader calldata h, Inclusion calldata inc) internal view returns (bytes32 key) {
        if (!_standing(h)) revert UnknownBatch(h.index);
        uint256 finalAt = h.timestamp + challengeWindow;
        if (block.timestamp < finalAt) revert BatchNotFinal(h.index, finalAt);
        _requireIncluded(h, inc);
        key = keccak256(abi.encode(batchCommitment[h.index], inc.position));
        if (claimed[key]) revert AlreadyClaimed(key);
    }

    // ------------------------------------------------------------------ internals

    function _standing(BatchHeader calldata h) internal view returns (bool) {
        return h.index < counters.batchCount && batchCommitment[h.index] == keccak256(abi.encode(h));
    }

    function _requireIncluded(BatchHeader calldata h, Inclusion calldata inc) internal pure {
        if (inc.position >= h.txCount || inc.chunk.length < 33 || inc.path.length != _depth(h.txCount)) {
            revert NotIncluded(inc.position);
        }
        bytes32 node = keccak256(abi.encodePacked(inc.chunk, inc.queueIndex));
        uint256 idx = inc.position;
        for (uint256 i; i < inc.path.length; ++i) {
            node = idx & 1 == 0
                ? keccak256(abi.encodePacked(node, inc.path[i]))
                : keccak256(abi.encodePacked(inc.path[i], node));
            idx >>= 1;
        }
        if (node != h.txRoot) revert NotIncluded(inc.position);
    }

    function _depth(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) ++d;
    }

    /// @dev Binary Merkle root, odd nodes paired with bytes32(0); overwrites `leaves`.
    function _merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        while (n > 1) {
            uint256 half = (n + 1) >> 1;
            for (uint256 i; i < half; ++i) {
                uint256 l = i << 1;
                bytes32 right = l + 1 < n ? leaves[l + 1] : bytes32(0);
                leaves[i] = keccak256(abi.encodePacked(leaves[l], right));
            }
            n = half;
        }
        return leaves[0];
    }

    /// @dev Pay ETH (token 0) or a registered ERC-20; tolerates tokens that return no bool.
    function _pay(uint8 token, address to, uint256 amount) internal {
        if (token == 0) {
            (bool ok,) = payable(to).call{value: amount}("");
            if (!ok) revert TransferFailed(address(0), to, amount);
        } else {
            _safeCall(tokens[token], abi.encodeWithSelector(0xa9059cbb, to, amount), to, amount);
        }
    }

    function _safeCall(address token, bytes memory callData, address party, uint256 amount) internal {
        (bool ok, bytes memory ret) = token.call(callData);
        if (!ok || (ret.length != 0 && (ret.length < 32 || !abi.decode(ret, (bool))))) {
            revert TransferFailed(token, party, amount);
        }
    }
}
