// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {OptimisticRules as R} from "./OptimisticRules.sol";
import {EIP712} from "../lib/EIP712.sol";
import {MerkleTree} from "../lib/MerkleTree.sol";
import {Signatures} from "../lib/Signatures.sol";
import {TokenTransfer} from "../lib/TokenTransfer.sol";

/// @title OptimisticRollup
/// @notice Layer-1 side of an optimistic rollup: the bridge (deposits, forced withdrawals, claims),
///         the batch inbox (bonded proposers post compact transactions plus one post-state root per
///         transition) and the single-transaction fraud proof that re-executes one transition.
/// @dev Only a hash of each batch header is stored; the transactions live in the calldata of the
///      transaction that posted the batch. Proposers must be accounts without code (no contract, no
///      EIP-7702 delegation) calling this contract directly, so that calldata is always the top-level
///      input of a transaction, where any verifier can read it. A transition is *fraudulent* when it is
///      invalid (see `challengeTransition`) or its committed post-state root differs from re-execution.
///      One fraudulent transition reverts its batch and every later batch and slashes the proposer.
contract OptimisticRollup {
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
        R.PreState pre;
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

    // ------------------------------------------------------------------ constants and state

    /// @notice While queue entries are overdue, each batch must consume at least this many (or all
    ///         that are overdue). Bounded so that any backlog drains batch by batch: asking for all of
    ///         them at once would let a flood of deposits outgrow a block and freeze the rollup.
    uint256 public constant QUEUE_PROGRESS = 64;

    address public immutable admin;
    address public immutable sequencer;
    uint256 public immutable challengeWindow;
    uint256 public immutable inclusionWindow;
    uint256 public immutable minBond;
    /// @notice Levels of the account tree; it holds `maxAccounts = 2**treeDepth` accounts.
    uint256 public immutable treeDepth;
    uint256 public immutable maxAccounts;
    bytes32 public immutable domainSeparator;
    bytes32 public immutable genesisRoot;

    address[4] public tokens; // tokens[0] = address(0) = ETH
    /// @notice Smallest deposit per token: every queue entry costs a proposer calldata and a tree
    ///         leaf, so dust deposits must not be free to spam.
    uint256[4] public minDeposits;
    uint8 public tokenCount = 1;
    bytes32 public tipRoot;
    Counters public counters;
    mapping(uint256 => bytes32) public batchCommitment;
    /// @notice queue[k] = timestamp << 192 | uint192(chained hash of entries 0..k).
    mapping(uint256 => uint256) public queue;
    mapping(address => uint256) public bonds;
    /// @notice Timestamp of the last batch each proposer posted (reverted or not): its bond stays
    ///         locked for a challenge window after it.
    mapping(address => uint256) public lastPostedAt;
    /// @notice Fraud-proof commitments (see `commitChallenge`) -> the block they were made in.
    mapping(bytes32 => uint256) public challengeCommitments;
    mapping(bytes32 => bool) public claimed;
    uint256 public totalBurned;
    bool private transient locked;

    // ------------------------------------------------------------------ events

    event TokenRegistered(uint8 indexed token, address tokenAddress, uint256 minDeposit);
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
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger);
    event FraudProven(
        uint64 indexed batchIndex, uint64 position, address indexed challenger, address indexed proposer, uint256 reward, uint256 burned
    );
    event BatchesReverted(uint64 fromIndex, uint64 previousCount);
    event WithdrawalClaimed(bytes32 indexed key, address indexed recipient, uint8 token, uint256 amount);

    // ------------------------------------------------------------------ errors

    error NotAdmin();
    error InvalidTreeDepth(uint256 depth);
    error TooManyTokens();
    error TokenAlreadyRegistered(address token);
    error NotAContract(address token);
    error UnknownToken(uint8 token);
    error ZeroAmount();
    error DepositTooSmall(uint256 amount, uint256 minimum);
    error AmountTooLarge(uint256 amount);
    error ZeroAddress();
    error AccountIndexOutOfRange(uint32 index);
    error NotBonded(address proposer, uint256 bond, uint256 required);
    error ProposerNotEOA(address proposer);
    error SequencerStillActive(uint256 openAt);
    error StalePrevRoot(bytes32 actual, bytes32 expected);
    error QueueHashMismatch(bytes32 actual, bytes32 expected);
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
    error ChallengeNotCommitted(bytes32 commitment);
    error ChallengeRevealTooEarly(uint256 committedInBlock);
    error NotAWithdrawal(uint64 position);
    error AlreadyClaimed(bytes32 key);
    error BondLocked(uint256 unlocksAt);
    error NothingToWithdraw();
    error TransferFailed(address token, address to, uint256 amount);
    error Reentrancy();

    /// @dev Every function that calls out (token transfers, ETH payouts) takes this lock, so a token
    ///      or recipient cannot re-enter; it also keeps `depositToken`'s before/after balance honest.
    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    // ------------------------------------------------------------------ setup

    /// @param sequencer_ The preferred proposer, allowed to post at any time (still needs a bond).
    /// @param challengeWindow_ Seconds a batch stays open to fraud proofs.
    /// @param inclusionWindow_ Seconds after which a queued entry is overdue, and after which any
    ///        bonded proposer may post if the sequencer has gone quiet.
    /// @param minBond_ Wei a proposer must have bonded to post.
    /// @param minDeposit_ Smallest ETH deposit (wei); tokens get theirs at registration.
    /// @param treeDepth_ Levels of the account tree (1..32); 20 holds 1,048,576 accounts.
    constructor(
        address sequencer_,
        uint256 challengeWindow_,
        uint256 inclusionWindow_,
        uint256 minBond_,
        uint256 minDeposit_,
        uint256 treeDepth_
    ) {
        if (treeDepth_ == 0 || treeDepth_ > R.MAX_TREE_DEPTH) revert InvalidTreeDepth(treeDepth_);
        admin = msg.sender;
        sequencer = sequencer_;
        challengeWindow = challengeWindow_;
        inclusionWindow = inclusionWindow_;
        minBond = minBond_;
        treeDepth = treeDepth_;
        maxAccounts = uint256(1) << treeDepth_;
        minDeposits[0] = minDeposit_;
        domainSeparator = EIP712.domainSeparator("OptimisticRollup", "1");
        uint256[4] memory noFees;
        bytes32 genesis = R.stateRoot(R.emptyAccountsRoot(treeDepth_), 0, noFees);
        genesisRoot = genesis;
        tipRoot = genesis;
        counters.lastBatchTime = uint64(block.timestamp);
    }

    /// @notice Register an ERC-20 as the next token id (1..3) with its smallest deposit. Admin only.
    function registerToken(address token, uint256 minDeposit) external {
        if (msg.sender != admin) revert NotAdmin();
        uint8 id = tokenCount;
        if (id >= R.MAX_TOKENS) revert TooManyTokens();
        if (token.code.length == 0) revert NotAContract(token);
        for (uint8 i = 1; i < id; ++i) {
            if (tokens[i] == token) revert TokenAlreadyRegistered(token);
        }
        tokens[id] = token;
        minDeposits[id] = minDeposit;
        tokenCount = id + 1;
        emit TokenRegistered(id, token, minDeposit);
    }

    // ------------------------------------------------------------------ bridge: L1 queue

    /// @notice Deposit ETH to the L2 account of `to`; it enters the L1 queue that batches must consume.
    function depositETH(address to) external payable {
        _requireDeposit(0, msg.value);
        _enqueue(R.QUEUE_DEPOSIT, to, 0, 0, msg.value);
    }

    /// @notice Deposit `amount` of registered token `token` (pulled with transferFrom) to `to` on L2.
    /// @dev What is credited is what arrived (this contract's balance before and after), so a token
    ///      that takes a fee on transfer can never leave the bridge owing more than it holds.
    function depositToken(uint8 token, uint256 amount, address to) external nonReentrant {
        if (token == 0 || token >= tokenCount) revert UnknownToken(token);
        if (amount == 0) revert ZeroAmount();
        address t = tokens[token];
        uint256 before = _tokenBalance(t);
        if (!TokenTransfer.tryTransferFrom(t, msg.sender, address(this), amount)) {
            revert TransferFailed(t, msg.sender, amount);
        }
        uint256 received = _tokenBalance(t) - before;
        _requireDeposit(token, received);
        _enqueue(R.QUEUE_DEPOSIT, to, 0, token, received);
    }

    /// @notice Force a withdrawal of `amount` of `token` from L2 account `accountIndex` (which must be
    ///         the caller's); batches must include it in queue order. It withdraws nothing if the
    ///         account is not the caller's or lacks the balance; otherwise it is claimable like any withdrawal.
    function requestForcedWithdrawal(uint32 accountIndex, uint8 token, uint256 amount) external {
        if (token >= tokenCount) revert UnknownToken(token);
        if (accountIndex >= maxAccounts) revert AccountIndexOutOfRange(accountIndex);
        if (amount == 0) revert ZeroAmount();
        _enqueue(R.QUEUE_FORCED_WITHDRAWAL, msg.sender, accountIndex, token, amount);
    }

    /// @notice The chained hash of the first `length` queue entries (0 for none), as `submitBatch` expects it.
    function queueHashAt(uint64 length) external view returns (bytes32) {
        return _queueHashAt(length);
    }

    function _requireDeposit(uint8 token, uint256 amount) internal view {
        if (amount == 0) revert ZeroAmount();
        if (amount < minDeposits[token]) revert DepositTooSmall(amount, minDeposits[token]);
    }

    function _enqueue(uint8 kind, address addr, uint32 accountIndex, uint8 token, uint256 amount) internal {
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

    function _queueHashAt(uint64 length) internal view returns (bytes32) {
        return length == 0 ? bytes32(0) : bytes32(uint256(uint192(queue[length - 1])));
    }

    // ------------------------------------------------------------------ bonds

    /// @notice Add the sent ETH to the caller's proposer bond.
    function depositBond() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 total = bonds[msg.sender] + msg.value;
        bonds[msg.sender] = total;
        emit BondDeposited(msg.sender, msg.value, total);
    }

    /// @notice Take back the whole bond, a challenge window after the caller's last batch.
    /// @dev Counted from the last batch posted, whether it still stands or not: a batch of a sock
    ///      puppet proven fraudulent reverts the proposer's later batches too, and must not unlock a
    ///      bond that an earlier, still pending fraud should be slashed from.
    function withdrawBond() external nonReentrant {
        uint256 unlocksAt = lastPostedAt[msg.sender] + challengeWindow;
        if (lastPostedAt[msg.sender] != 0 && block.timestamp < unlocksAt) revert BondLocked(unlocksAt);
        uint256 amount = bonds[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        bonds[msg.sender] = 0;
        emit BondWithdrawn(msg.sender, amount);
        _pay(0, msg.sender, amount);
    }

    // ------------------------------------------------------------------ batches

    /// @notice Post a batch: `data` is the concatenation of transition chunks (see OptimisticRules), each
    ///         ending in its post-state root. QueueOp chunks consume L1 queue entries in order.
    /// @dev Only an account without code may post, as the transaction's sender: then `data` is the
    ///      top-level input of the transaction, which anyone can fetch, and never hidden behind a
    ///      contract's or a delegated account's code.
    /// @param expectedPrevRoot The tip the batch builds on; protects against races and double posting.
    /// @param expectedQueueHash `queueHashAt(queue cursor after this batch)`: binds the batch to the
    ///        contents of the queue entries it consumed, so a reorg that changes a deposit under it
    ///        makes this transaction fail instead of committing roots computed on other deposits.
    /// @param txCount Number of chunks in `data`.
    function submitBatch(bytes32 expectedPrevRoot, bytes32 expectedQueueHash, uint256 txCount, bytes calldata data)
        external
    {
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert ProposerNotEOA(msg.sender);
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
        bytes32 queueHash = _queueHashAt(cursor);
        if (queueHash != expectedQueueHash) revert QueueHashMismatch(queueHash, expectedQueueHash);
        if (cursor < c.queueLength && cursor - c.queueHead < QUEUE_PROGRESS) {
            uint64 queuedAt = uint64(queue[cursor] >> 192);
            if (queuedAt + inclusionWindow < block.timestamp) revert QueueEntryOverdue(cursor, queuedAt);
        }

        BatchHeader memory h = BatchHeader({
            index: c.batchCount,
            timestamp: uint64(block.timestamp),
            proposer: msg.sender,
            prevRoot: prev,
            txRoot: MerkleTree.root(leaves),
            txCount: uint64(txCount),
            queueStart: c.queueHead,
            queueEnd: cursor
        });
        bytes32 postRoot = bytes32(data[data.length - 32:]);
        batchCommitment[h.index] = keccak256(abi.encode(h));
        tipRoot = postRoot;
        counters = Counters(c.batchCount + 1, cursor, c.queueLength, uint64(block.timestamp));
        lastPostedAt[msg.sender] = block.timestamp;
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

    /// @notice First half of a fraud proof: commit to `commitmentOf(proof, msg.sender)`, then reveal the
    ///         proof with `challengeTransition` in a later block.
    /// @dev The proof itself is public calldata; if it were accepted from anyone at once, a copier
    ///      watching the mempool (the cheating proposer's second address, say) could land it first and
    ///      take the reward. The commitment names its challenger and reveals nothing.
    function commitChallenge(bytes32 commitment) external {
        if (challengeCommitments[commitment] == 0) challengeCommitments[commitment] = block.number;
        emit ChallengeCommitted(commitment, msg.sender);
    }

    /// @notice What `challenger` commits to before revealing proof `p`.
    function commitmentOf(FraudProof calldata p, address challenger) public pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(abi.encode(p)), challenger));
    }

    /// @notice Prove one transition of a pending batch fraudulent, in one transaction. The transition
    ///         is re-executed from the pre-state opened by the proof. It is fraudulent if it is
    ///         *invalid* - a token id >= 4, an account index outside the tree, a transfer to oneself, a
    ///         sender or recipient account that does not exist, a signature not from the sender over its
    ///         current nonce, a balance below amount + fee, a nonce at its maximum, a deposit into an
    ///         account of another address or past the next free index, a deposit refunded while the
    ///         tree has room, a QueueOp whose ok flag or account disagrees with the queued entry, or a
    ///         CollectFees into an account that is not the batch proposer's - or if its committed
    ///         post-state root differs from the re-executed one.
    ///         A correct transition reverts with TransitionCorrect and changes nothing. A fraudulent one
    ///         needs the caller's commitment (`commitChallenge`) from an earlier block; then the batch
    ///         and every later one are reverted and the proposer's bond is slashed: half to the caller,
    ///         half burned.
    function challengeTransition(FraudProof calldata p) external nonReentrant {
        BatchHeader calldata h = p.header;
        if (!_standing(h)) revert UnknownBatch(h.index);
        if (block.timestamp >= h.timestamp + challengeWindow) revert BatchNotPending(h.index);
        _requireIncluded(h, p.target);
        bytes32 preRoot = h.prevRoot;
        if (p.target.position > 0) {
            // target.position > 0 here; `previous.position + 1` could overflow on a forged position.
            if (p.previous.position != p.target.position - 1) revert NotIncluded(p.previous.position);
            _requireIncluded(h, p.previous);
            preRoot = R.word(p.previous.chunk, p.previous.chunk.length - 32);
        }
        R.PreState memory s = p.pre;
        if (R.stateRoot(s.accountsRoot, s.accountCount, s.fees) != preRoot) {
            revert R.WitnessMismatch(type(uint256).max);
        }

        (bool valid, bytes32 computed) = _execute(p, s);
        if (valid && computed == R.word(p.target.chunk, p.target.chunk.length - 32)) {
            revert TransitionCorrect(h.index, p.target.position);
        }
        bytes32 commitment = commitmentOf(p, msg.sender);
        uint256 committedIn = challengeCommitments[commitment];
        if (committedIn == 0) revert ChallengeNotCommitted(commitment);
        if (committedIn >= block.number) revert ChallengeRevealTooEarly(committedIn);
        delete challengeCommitments[commitment];
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

    /// @dev Re-executes the target chunk on the opened pre-state `s` (which it updates in memory);
    ///      returns (false, 0) if the transition is invalid, else (true, post-state root).
    function _execute(FraudProof calldata p, R.PreState memory s) internal view returns (bool, bytes32) {
        bytes calldata c = p.target.chunk;
        uint8 kind = uint8(c[0]);
        if (kind == R.TX_TRANSFER) return _executeTransfer(p, c, s);
        if (kind == R.TX_WITHDRAW) return _executeWithdraw(p, c, s);
        if (kind == R.TX_COLLECT_FEES) return _executeCollectFees(p, c, s);
        return _executeQueueOp(p, c, s);
    }

    function _root(R.PreState memory s, R.Account memory a, uint256 index, bytes32[] calldata siblings)
        internal
        view
        returns (bytes32)
    {
        return R.stateRoot(R.rootFrom(R.leafHash(a), index, siblings, treeDepth), s.accountCount, s.fees);
    }

    /// @dev CollectFees: the whole fee pool of `token` moves to `account`, which must exist and belong to
    ///      the batch's proposer - fees pay whoever posts batches, and otherwise stay locked in the bridge.
    function _executeCollectFees(FraudProof calldata p, bytes calldata c, R.PreState memory s)
        internal
        view
        returns (bool, bytes32)
    {
        uint32 index = R.u32(c, 1);
        uint8 token = uint8(c[5]);
        if (token >= R.MAX_TOKENS || index >= maxAccounts) return (false, 0);
        R.Account memory a = R.load(p.first, index, s.accountsRoot, treeDepth);
        if (a.addr == address(0) || a.addr != p.header.proposer) return (false, 0);
        a.balances[token] += s.fees[token];
        s.fees[token] = 0;
        return (true, _root(s, a, index, p.first.siblings));
    }

    /// @dev A decoded Transfer or Withdrawal, kept in memory to stay clear of stack limits.
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

    /// @dev Checks shared by Transfer and Withdrawal; returns the debited sender, or ok = false if invalid.
    function _debitSender(FraudProof calldata p, bytes calldata c, UserTx memory t, bytes32 accountsRoot)
        internal
        view
        returns (bool ok, R.Account memory a)
    {
        if (t.token >= R.MAX_TOKENS || t.from >= maxAccounts) return (false, a);
        a = R.load(p.first, t.from, accountsRoot, treeDepth);
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
            Signatures.tryRecoverCompact(EIP712.digest(domainSeparator, structHash), R.word(c, sigAt),
                R.word(c, sigAt + 32));
        if (signer != a.addr || a.balances[t.token] < t.amount + t.fee) return (false, a);
        a.nonce += 1;
        a.balances[t.token] -= t.amount + t.fee;
        ok = true;
    }

    function _executeTransfer(FraudProof calldata p, bytes calldata c, R.PreState memory s)
        internal
        view
        returns (bool, bytes32)
    {
        UserTx memory t = _decodeUserTx(c);
        if (t.to >= maxAccounts || t.from == t.to) return (false, 0);
        (bool ok, R.Account memory a) = _debitSender(p, c, t, s.accountsRoot);
        if (!ok) return (false, 0);
        bytes32 mid = R.rootFrom(R.leafHash(a), t.from, p.first.siblings, treeDepth);
        R.Account memory b = R.load(p.second, t.to, mid, treeDepth);
        if (b.addr == address(0)) return (false, 0);
        b.balances[t.token] += t.amount;
        s.fees[t.token] += t.fee;
        return (true, _root(s, b, t.to, p.second.siblings));
    }

    function _executeWithdraw(FraudProof calldata p, bytes calldata c, R.PreState memory s)
        internal
        view
        returns (bool, bytes32)
    {
        UserTx memory t = _decodeUserTx(c);
        (bool ok, R.Account memory a) = _debitSender(p, c, t, s.accountsRoot);
        if (!ok) return (false, 0);
        s.fees[t.token] += t.fee;
        return (true, _root(s, a, t.from, p.first.siblings));
    }

    /// @dev A deposit credits the existing account of its address, or opens the next free index
    ///      (`accountCount`); only when every index is taken may it be refunded (ok = 0, account 0),
    ///      claimable on L1 with `claimDepositRefund`. A forced withdrawal succeeds (ok = 1) exactly
    ///      when the named account is the requester's and holds the amount.
    function _executeQueueOp(FraudProof calldata p, bytes calldata c, R.PreState memory s)
        internal
        view
        returns (bool, bytes32)
    {
        R.QueueEntry calldata e = p.entry;
        _requireQueueEntry(p.target.queueIndex, e);
        uint32 index = R.u32(c, 1);
        uint8 ok = uint8(c[5]);
        if (e.kind == R.QUEUE_DEPOSIT && ok == 0) {
            if (s.accountCount < maxAccounts || index != 0) return (false, 0);
            return (true, R.stateRoot(s.accountsRoot, s.accountCount, s.fees));
        }
        if (index >= maxAccounts) return (false, 0);
        R.Account memory a = R.load(p.first, index, s.accountsRoot, treeDepth);
        if (e.kind == R.QUEUE_DEPOSIT) {
            if (ok != 1 || index > s.accountCount) return (false, 0);
            if (index == s.accountCount) {
                if (a.addr != address(0)) return (false, 0);
                a.addr = e.addr;
                s.accountCount += 1;
            } else if (a.addr != e.addr) {
                return (false, 0);
            }
            a.balances[e.token] += e.amount;
            return (true, _root(s, a, index, p.first.siblings));
        }
        if (index != e.accountIndex) return (false, 0);
        bool success = a.addr == e.addr && a.balances[e.token] >= e.amount;
        if (ok != (success ? 1 : 0)) return (false, 0);
        if (success) a.balances[e.token] -= e.amount;
        return (true, _root(s, a, index, p.first.siblings));
    }

    function _requireQueueEntry(uint64 k, R.QueueEntry calldata e) internal view {
        uint192 previous = k == 0 ? 0 : uint192(queue[k - 1]);
        if (k >= counters.queueLength || R.queueHash(previous, e) != uint192(queue[k])) revert BadQueueEntry(k);
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Claim an L2 Withdrawal transaction on L1 once its batch is final. Pays its recipient.
    function claimWithdrawal(BatchHeader calldata h, Inclusion calldata inc) external nonReentrant {
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
    function claimForcedWithdrawal(BatchHeader calldata h, Inclusion calldata inc, R.QueueEntry calldata e)
        external
        nonReentrant
    {
        _claimQueueEntry(h, inc, e, R.QUEUE_FORCED_WITHDRAWAL, 1);
    }

    /// @notice Claim back a deposit that could not be placed because the account tree was full (a
    ///         QueueOp with ok = 0 consuming deposit `e`) once its batch is final. Pays the deposit's
    ///         recipient address on L1.
    function claimDepositRefund(BatchHeader calldata h, Inclusion calldata inc, R.QueueEntry calldata e)
        external
        nonReentrant
    {
        _claimQueueEntry(h, inc, e, R.QUEUE_DEPOSIT, 0);
    }

    function _claimQueueEntry(BatchHeader calldata h, Inclusion calldata inc, R.QueueEntry calldata e, uint8 kind, uint8 ok)
        internal
    {
        bytes32 key = _claimable(h, inc);
        bytes calldata c = inc.chunk;
        if (uint8(c[0]) != R.TX_QUEUE || uint8(c[5]) != ok || e.kind != kind) revert NotAWithdrawal(inc.position);
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

    /// @dev The chunk must have its kind's exact length, as `submitBatch` split it: a leaf is
    ///      keccak(chunk || uint64 cursor), and no other split of the same bytes may pass for it.
    function _requireIncluded(BatchHeader calldata h, Inclusion calldata inc) internal pure {
        if (
            inc.position >= h.txCount || inc.chunk.length == 0
                || inc.chunk.length != R.chunkLength(uint8(inc.chunk[0])) || inc.path.length != MerkleTree.depth(h.txCount)
        ) {
            revert NotIncluded(inc.position);
        }
        bytes32 leaf = keccak256(abi.encodePacked(inc.chunk, inc.queueIndex));
        if (MerkleTree.rootFrom(leaf, inc.position, inc.path) != h.txRoot) revert NotIncluded(inc.position);
    }

    function _tokenBalance(address token) internal view returns (uint256) {
        (bool ok, uint256 balance) = TokenTransfer.tryBalanceOf(token, address(this));
        if (!ok) revert TransferFailed(token, address(this), 0);
        return balance;
    }

    /// @dev Pay ETH (token 0) or a registered ERC-20 (`TokenTransfer`: no return value or `true`).
    function _pay(uint8 token, address to, uint256 amount) internal {
        if (token == 0) {
            (bool ok,) = payable(to).call{value: amount}("");
            if (!ok) revert TransferFailed(address(0), to, amount);
        } else if (!TokenTransfer.tryTransfer(tokens[token], to, amount)) {
            revert TransferFailed(tokens[token], to, amount);
        }
    }
}
