// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "../lib/EIP712.sol";
import {MerkleTree} from "../lib/MerkleTree.sol";
import {TokenTransfer} from "../lib/TokenTransfer.sol";
import {AggregateSignatures} from "./AggregateSignatures.sol";
import {OptimisticRules as R} from "./OptimisticRules.sol";

/// @title OptimisticRollup
/// @notice The optimistic rollup at 8 bytes a transfer: BLS
///         aggregate signatures, one post-state root per commitment of up to `commitmentSize` transfers,
///         one hash per batch on Layer 1, and two one-transaction fraud proofs (re-execute a commitment,
///         or check its aggregate signature). Accounts are opened only by Layer-1 deposits, at indexes
///         Layer 1 assigns, to owners who registered a BLS key with a proof of possession.
/// @dev Security rules kept from the hardening: only an EOA posts (its calldata is the data), queue hash
///      bound at submission, overdue queue entries must be consumed, bonded proposers, commit-reveal
///      challenges checked only once fraud is established, a fraud reverts the batch and every later one
///      and slashes half to the challenger and half burned, bonds locked a window after the last post.
contract OptimisticRollup {
    struct BatchHeader {
        uint64 index;
        bytes32 prevRoot;
        bytes32 commitmentsRoot;
        uint32 commitmentCount;
        uint64 queueStart;
        uint64 queueEnd;
        address proposer;
        uint64 postedAt;
    }

    /// @dev A commitment known only by its root and body hash (the one before a target).
    struct CommitmentRef {
        uint32 position;
        bytes32 postRoot;
        bytes32 bodyHash;
        bytes32[] path;
    }

    /// @dev A commitment in full, as posted, with where it started consuming the queue (hashed in its leaf).
    struct Target {
        uint32 position;
        bytes commitment;
        uint64 queueStart;
        bytes32[] path;
    }

    struct TransitionProof {
        BatchHeader header;
        CommitmentRef previous; // ignored when target.position == 0 (pre-state = header.prevRoot)
        Target target;
        R.QueueEntry[] entries; // a queue commitment's entries, in order
        R.Witness[] witnesses; // in the order the rules read accounts
    }

    struct SignatureProof {
        BatchHeader header;
        CommitmentRef previous;
        Target target;
        bytes senders; // each transfer's sender in the pre-state, packed (OptimisticRules.openPacked), concatenated
        bytes publicKeys; // each sender's key, 256 bytes (EIP-2537) each, concatenated; each hashes to its keyHash
    }

    struct AccountInfo {
        address owner;
        uint8 token;
    }

    uint256 public constant MAX_TOKENS = 4;

    address public immutable admin;
    AggregateSignatures public immutable signatures;
    address public immutable sequencer;
    uint256 public immutable challengeWindow;
    uint256 public immutable inclusionWindow;
    uint256 public immutable minBond;
    uint256 public immutable treeDepth;
    uint256 public immutable commitmentSize;
    bytes32 public immutable domainSeparator;
    bytes32 public immutable genesisRoot;

    bytes32 public tipRoot;
    uint64 public batchCount;
    uint64 public queueHead; // entries consumed by standing batches
    uint64 public queueLength;
    uint64 public lastBatchTime;
    uint32 public nextAccount = 1; // account 0 is never opened: transfers to it are withdrawals
    uint8 public tokenCount = 1; // token 0 is ETH
    bool private locked;

    mapping(uint64 => bytes32) public batchHashes;
    mapping(uint64 => uint256) public queue; // postedAt << 192 | chained hash
    mapping(address => bytes32) public keyHashOf;
    mapping(address => mapping(uint8 => uint32)) public accountOf;
    mapping(uint32 => AccountInfo) public accounts;
    mapping(uint8 => address) public tokens;
    mapping(uint8 => uint256) public minDeposits;
    mapping(address => uint256) public bonds;
    mapping(address => uint256) public lastPostedAt;
    mapping(bytes32 => uint256) public challengeCommitments;
    mapping(bytes32 => bool) public claimed;
    uint256 public totalBurned;

    event KeyRegistered(address indexed owner, bytes32 keyHash, bytes publicKey);
    event TokenRegistered(uint8 indexed token, address tokenAddress, uint256 minDeposit);
    event QueueEntryAdded(uint64 indexed index, uint8 kind, uint32 account, address owner, bytes32 keyHash,
        uint8 token, uint256 amount, uint64 timestamp);
    event BondDeposited(address indexed proposer, uint256 amount, uint256 total);
    event BondWithdrawn(address indexed proposer, uint256 amount);
    event BatchSubmitted(uint64 indexed index, address indexed proposer, bytes32 prevRoot, bytes32 postRoot,
        bytes32 commitmentsRoot, uint32 commitmentCount, uint64 queueStart, uint64 queueEnd, uint64 postedAt);
    event ChallengeCommitted(bytes32 indexed commitment, address indexed challenger);
    event FraudProven(uint64 indexed batchIndex, uint32 position, bool signature, address challenger,
        address proposer, uint256 reward, uint256 burned);
    event BatchesReverted(uint64 fromIndex, uint64 previousCount);
    event WithdrawalClaimed(bytes32 indexed key, address indexed recipient, uint8 token, uint256 amount);

    error NotAdmin();
    error InvalidParameter(string name, uint256 value);
    error TooManyTokens();
    error NotAContract(address token);
    error UnknownToken(uint8 token);
    error ZeroAmount();
    error DepositTooSmall(uint256 amount, uint256 minimum);
    error AmountTooLarge(uint256 amount);
    error KeyNotRegistered(address owner);
    error BadPossessionProof();
    error TreeFull(uint256 capacity);
    error NotAccountOwner(uint32 account, address caller);
    error NotBonded(address proposer, uint256 bond, uint256 required);
    error ProposerNotEOA(address proposer);
    error SequencerStillActive(uint256 openAt);
    error StalePrevRoot(bytes32 actual, bytes32 expected);
    error QueueHashMismatch(bytes32 actual, bytes32 expected);
    error BatchDataMalformed(uint256 offset);
    error QueueExhausted(uint64 cursor);
    error QueueEntryOverdue(uint64 index, uint64 queuedAt);
    error UnknownBatch(uint64 index);
    error BatchNotPending(uint64 index);
    error BatchNotFinal(uint64 index, uint256 finalAt);
    error NotIncluded(uint32 position);
    error WrongCommitmentKind(uint32 position);
    error BadQueueEntry(uint64 index);
    error TransitionCorrect(uint64 batchIndex, uint32 position);
    error SignatureCorrect(uint64 batchIndex, uint32 position);
    error SenderMissing(uint256 transfer);
    error KeyMismatch(uint256 transfer);
    error ChallengeNotCommitted(bytes32 commitment);
    error ChallengeRevealTooEarly(uint256 committedInBlock);
    error NotAWithdrawal(uint32 position, uint256 index);
    error AlreadyClaimed(bytes32 key);
    error BondLocked(uint256 unlocksAt);
    error NothingToWithdraw();
    error TransferFailed(address token, address to, uint256 amount);
    error Reentrancy();

    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    /// @param commitmentSize_ k, the most transfers one commitment holds (a dispute replays one commitment:
    ///        a smaller k makes disputes cheaper and batches a little larger).
    constructor(
        address sequencer_,
        uint256 challengeWindow_,
        uint256 inclusionWindow_,
        uint256 minBond_,
        uint256 minDeposit_,
        uint256 treeDepth_,
        uint256 commitmentSize_,
        AggregateSignatures signatures_
    ) {
        if (treeDepth_ == 0 || treeDepth_ > R.MAX_TREE_DEPTH) revert InvalidParameter("treeDepth", treeDepth_);
        if (commitmentSize_ == 0 || commitmentSize_ > type(uint16).max) {
            revert InvalidParameter("commitmentSize", commitmentSize_);
        }
        admin = msg.sender;
        signatures = signatures_;
        sequencer = sequencer_;
        challengeWindow = challengeWindow_;
        inclusionWindow = inclusionWindow_;
        minBond = minBond_;
        treeDepth = treeDepth_;
        commitmentSize = commitmentSize_;
        minDeposits[0] = minDeposit_;
        domainSeparator = EIP712.domainSeparator("OptimisticRollup", "2");
        bytes32 genesis = R.emptyRoot(treeDepth_);
        genesisRoot = genesis;
        tipRoot = genesis;
        lastBatchTime = uint64(block.timestamp);
    }

    function registerToken(address token, uint256 minDeposit) external {
        if (msg.sender != admin) revert NotAdmin();
        uint8 id = tokenCount;
        if (id >= MAX_TOKENS) revert TooManyTokens();
        if (token.code.length == 0) revert NotAContract(token);
        tokens[id] = token;
        minDeposits[id] = minDeposit;
        tokenCount = id + 1;
        emit TokenRegistered(id, token, minDeposit);
    }

    // ------------------------------------------------------------------ keys and the queue

    /// @notice Register the caller's BLS key (G2, EIP-2537's 256 bytes) with a proof of possession: a
    ///         signature under the possession tag of `registrationMessage(caller, keccak(key))`. Without
    ///         it, a key made from others' keys could forge their part of an aggregate. New accounts of
    ///         the caller get this key; accounts already opened keep theirs.
    function registerKey(bytes calldata publicKey, bytes calldata proof) external {
        bytes32 keyHash = keccak256(publicKey);
        if (!signatures.verifyPossession(publicKey, registrationMessage(msg.sender, keyHash), proof)) {
            revert BadPossessionProof();
        }
        keyHashOf[msg.sender] = keyHash;
        emit KeyRegistered(msg.sender, keyHash, publicKey);
    }

    /// @notice The 32 bytes a key's proof of possession signs: EIP-712, naming this rollup, the owner and the key.
    function registrationMessage(address owner, bytes32 keyHash) public view returns (bytes32) {
        return EIP712.digest(domainSeparator, keccak256(abi.encode(R.KEY_REGISTRATION_TYPEHASH, owner, keyHash)));
    }

    function depositETH(address to) external payable {
        _deposit(to, 0, msg.value);
    }

    /// @dev Credits what arrived (balance before and after), so a fee-on-transfer token cannot make the
    ///      bridge owe more than it holds.
    function depositToken(uint8 token, uint256 amount, address to) external nonReentrant {
        if (token == 0 || token >= tokenCount) revert UnknownToken(token);
        if (amount == 0) revert ZeroAmount();
        address t = tokens[token];
        uint256 before = _tokenBalance(t);
        if (!TokenTransfer.tryTransferFrom(t, msg.sender, address(this), amount)) {
            revert TransferFailed(t, msg.sender, amount);
        }
        _deposit(to, token, _tokenBalance(t) - before);
    }

    /// @notice Withdraw `amount` from account `account` (the caller's) through the queue: batches must
    ///         consume it; it pays if the account holds the amount then (its ok bit says so).
    function requestForcedWithdrawal(uint32 account, uint256 amount) external {
        AccountInfo memory info = accounts[account];
        if (info.owner != msg.sender || account == 0) revert NotAccountOwner(account, msg.sender);
        if (amount == 0) revert ZeroAmount();
        _enqueue(R.QueueEntry(R.QUEUE_FORCED_WITHDRAWAL, account, msg.sender, bytes32(0), info.token, amount));
    }

    /// @notice The chained hash of the first `length` queue entries (0 for none), as `submitBatch` expects it.
    function queueHashAt(uint64 length) public view returns (bytes32) {
        return length == 0 ? bytes32(0) : bytes32(uint256(uint192(queue[length - 1])));
    }

    function _deposit(address to, uint8 token, uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        if (amount < minDeposits[token]) revert DepositTooSmall(amount, minDeposits[token]);
        bytes32 keyHash = keyHashOf[to];
        if (keyHash == 0) revert KeyNotRegistered(to);
        uint32 account = accountOf[to][token];
        if (account == 0) {
            account = nextAccount;
            if (account >= uint256(1) << treeDepth) revert TreeFull(uint256(1) << treeDepth);
            nextAccount = account + 1;
            accountOf[to][token] = account;
            accounts[account] = AccountInfo(to, token);
        }
        _enqueue(R.QueueEntry(R.QUEUE_DEPOSIT, account, to, keyHash, token, amount));
    }

    function _enqueue(R.QueueEntry memory e) internal {
        if (e.amount > type(uint128).max) revert AmountTooLarge(e.amount);
        uint64 k = queueLength;
        uint192 previous = k == 0 ? 0 : uint192(queue[k - 1]);
        queue[k] = (block.timestamp << 192) | R.queueHash(previous, e);
        queueLength = k + 1;
        emit QueueEntryAdded(k, e.kind, e.account, e.owner, e.keyHash, e.token, e.amount, uint64(block.timestamp));
    }

    // ------------------------------------------------------------------ bonds

    function depositBond() external payable {
        if (msg.value == 0) revert ZeroAmount();
        uint256 total = bonds[msg.sender] + msg.value;
        bonds[msg.sender] = total;
        emit BondDeposited(msg.sender, msg.value, total);
    }

    /// @dev Locked a challenge window after the caller's last post, standing or reverted.
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

    /// @notice Post a batch of commitments (see OptimisticRules). Layer 1 keeps one hash of its header.
    /// @param expectedPrevRoot The tip the batch builds on.
    /// @param expectedQueueHash `queueHashAt(queue cursor after this batch)`: binds the batch to the queue
    ///        entries it consumed, so a reorg under it fails the post instead of committing wrong roots.
    function submitBatch(bytes32 expectedPrevRoot, bytes32 expectedQueueHash, bytes calldata data) external {
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert ProposerNotEOA(msg.sender);
        uint256 bond = bonds[msg.sender];
        if (bond < minBond || bond == 0) revert NotBonded(msg.sender, bond, minBond);
        if (msg.sender != sequencer && block.timestamp <= lastBatchTime + inclusionWindow) {
            revert SequencerStillActive(lastBatchTime + inclusionWindow + 1);
        }
        bytes32 prev = tipRoot;
        if (prev != expectedPrevRoot) revert StalePrevRoot(prev, expectedPrevRoot);

        // Every commitment is at least QUEUE_HEADER + 1 bytes: that bounds how many leaves there can be.
        bytes32[] memory leaves = new bytes32[](data.length / (R.QUEUE_HEADER + 1) + 1);
        uint256 n;
        uint256 at;
        uint64 start = queueHead;
        uint64 cursor = start;
        bytes32 postRoot;
        while (at < data.length) {
            uint256 len = R.commitmentLength(data, at, commitmentSize);
            if (len == 0 || at + len > data.length) revert BatchDataMalformed(at);
            bytes calldata c = data[at:at + len];
            if (uint8(c[0]) == R.COMMIT_QUEUE) {
                uint256 count = uint8(c[33]);
                if (count % 8 != 0 && uint8(c[len - 1]) >> (count % 8) != 0) revert BatchDataMalformed(at);
                if (cursor + count > queueLength) revert QueueExhausted(cursor);
                leaves[n] = keccak256(abi.encodePacked(bytes32(c[1:33]), R.bodyHash(c, cursor)));
                cursor += uint64(count);
            } else {
                leaves[n] = keccak256(abi.encodePacked(bytes32(c[1:33]), R.bodyHash(c, 0)));
            }
            postRoot = bytes32(c[1:33]);
            ++n;
            at += len;
        }
        if (n == 0) revert BatchDataMalformed(0);
        assembly {
            mstore(leaves, n)
        }
        bytes32 queueHash = queueHashAt(cursor);
        if (queueHash != expectedQueueHash) revert QueueHashMismatch(queueHash, expectedQueueHash);
        if (cursor < queueLength && cursor - start < R.MAX_QUEUE_COUNT) {
            uint64 queuedAt = uint64(queue[cursor] >> 192);
            if (queuedAt + inclusionWindow < block.timestamp) revert QueueEntryOverdue(cursor, queuedAt);
        }
        BatchHeader memory h = BatchHeader({
            index: batchCount,
            prevRoot: prev,
            commitmentsRoot: MerkleTree.root(leaves),
            commitmentCount: uint32(n),
            queueStart: start,
            queueEnd: cursor,
            proposer: msg.sender,
            postedAt: uint64(block.timestamp)
        });
        batchHashes[h.index] = keccak256(abi.encode(h));
        tipRoot = postRoot;
        batchCount = h.index + 1;
        queueHead = cursor;
        lastBatchTime = uint64(block.timestamp);
        lastPostedAt[msg.sender] = block.timestamp;
        emit BatchSubmitted(h.index, msg.sender, prev, postRoot, h.commitmentsRoot, h.commitmentCount, start, cursor,
            h.postedAt);
    }

    function isFinal(BatchHeader calldata h) external view returns (bool) {
        return _standing(h) && block.timestamp >= h.postedAt + challengeWindow;
    }

    // ------------------------------------------------------------------ fraud proofs

    /// @notice First half of either fraud proof: commit to `transitionCommitmentOf` or `signatureCommitmentOf`
    ///         of the proof and the caller, reveal it in a later block (a copier of the revealed proof
    ///         cannot take the reward: the commitment names its challenger).
    function commitChallenge(bytes32 commitment) external {
        if (challengeCommitments[commitment] == 0) challengeCommitments[commitment] = block.number;
        emit ChallengeCommitted(commitment, msg.sender);
    }

    /// @dev The reveal hashes its own calldata (`msg.data` after the selector), which is `abi.encode(p)` for
    ///      a canonical encoding such as web3's: re-encoding a proof of 128 witnesses would cost far more.
    function transitionCommitmentOf(TransitionProof calldata p, address challenger) public pure returns (bytes32) {
        return _commitment(keccak256(abi.encode(p)), challenger, "transition");
    }

    function signatureCommitmentOf(SignatureProof calldata p, address challenger) public pure returns (bytes32) {
        return _commitment(keccak256(abi.encode(p)), challenger, "signature");
    }

    function _commitment(bytes32 proofHash, address challenger, string memory kind) internal pure returns (bytes32) {
        return keccak256(abi.encode(proofHash, challenger, kind));
    }

    /// @notice Prove a commitment's state transition wrong: its transfers (or queue entries) are replayed
    ///         from the pre-state opened by the witnesses. Fraud if a transfer is invalid (an account that
    ///         does not exist, tokens that differ between sender, recipient and fee receiver, a transfer
    ///         to oneself, a balance below amount + fee, a nonce at its maximum), if an ok bit disagrees
    ///         with its entry's outcome, or if the committed root is not the replayed one. A forged witness
    ///         reverts (WitnessMismatch); a correct commitment reverts TransitionCorrect.
    function challengeTransition(TransitionProof calldata p) external nonReentrant {
        (bytes32 preRoot, bytes32 claimedRoot) = _open(p.header, p.previous, p.target);
        (bool valid, bytes32 computed) = uint8(p.target.commitment[0]) == R.COMMIT_TRANSFERS
            ? _replayTransfers(p, preRoot)
            : _replayQueue(p, preRoot);
        if (valid && computed == claimedRoot) revert TransitionCorrect(p.header.index, p.target.position);
        _reveal(_commitment(keccak256(msg.data[4:]), msg.sender, "transition"));
        _slashAndRevert(p.header, p.target.position, false);
    }

    /// @notice Prove a transfer commitment's aggregate signature wrong: each transfer's message is rebuilt
    ///         from its sender's nonce in the pre-state (plus the sender's earlier transfers in the same
    ///         commitment) and checked with the senders' registered keys in one pairing. A signature that is
    ///         no point is fraud too. Witnesses or keys that do not open revert; so does a missing sender
    ///         (that is the transition proof's case).
    function challengeSignature(SignatureProof calldata p) external nonReentrant {
        (bytes32 preRoot,) = _open(p.header, p.previous, p.target);
        bytes calldata c = p.target.commitment;
        if (uint8(c[0]) != R.COMMIT_TRANSFERS) revert WrongCommitmentKind(p.target.position);
        if (_signatureValid(p, preRoot)) revert SignatureCorrect(p.header.index, p.target.position);
        _reveal(_commitment(keccak256(msg.data[4:]), msg.sender, "signature"));
        _slashAndRevert(p.header, p.target.position, true);
    }

    function _signatureValid(SignatureProof calldata p, bytes32 preRoot) internal view returns (bool) {
        uint256 n = (p.target.commitment.length - R.TRANSFER_HEADER) / 8;
        if (p.senders.length != n * R.packedLength(treeDepth) || p.publicKeys.length != 256 * n) revert SenderMissing(n);
        bytes32[] memory messages = new bytes32[](n);
        uint256[] memory seen = new uint256[](_tableSize(n));
        for (uint256 i; i < n; ++i) {
            messages[i] = _signedMessage(p, i, preRoot, seen);
        }
        return signatures.verify(p.target.commitment[33:81], p.publicKeys, messages);
    }

    function _tableSize(uint256 n) internal pure returns (uint256 size) {
        size = 1;
        while (size < 2 * n) size <<= 1;
    }

    /// @dev The message transfer `i` signs: its sender's pre-state nonce plus its earlier transfers in this
    ///      commitment, counted in `seen`, a hash table of (sender + 1) << 32 | count with linear probing
    ///      (half empty at most, so a lookup is a step or two; scanning every earlier transfer would cost
    ///      k^2 / 2 steps). Its key must be the sender's.
    function _signedMessage(SignatureProof calldata p, uint256 i, bytes32 preRoot, uint256[] memory seen)
        internal
        view
        returns (bytes32)
    {
        R.Transfer memory t = R.decodeTransfer(p.target.commitment, R.TRANSFER_HEADER + 8 * i);
        uint256 size = R.packedLength(treeDepth);
        R.Leaf memory s = R.openPacked(p.senders[size * i:size * (i + 1)], t.from, preRoot, treeDepth);
        if (s.owner == address(0)) revert SenderMissing(i);
        if (keccak256(p.publicKeys[256 * i:256 * i + 256]) != s.keyHash) revert KeyMismatch(i);
        uint256 mask = seen.length - 1;
        uint256 slot = uint256(keccak256(abi.encode(t.from))) & mask;
        uint256 earlier;
        while (true) {
            uint256 entry = seen[slot];
            if (entry == 0) {
                seen[slot] = (uint256(t.from) + 1) << 32 | 1;
                break;
            }
            if (entry >> 32 == uint256(t.from) + 1) {
                earlier = entry & 0xFFFFFFFF;
                seen[slot] = entry + 1;
                break;
            }
            slot = (slot + 1) & mask;
        }
        // Past the last nonce the transfer is invalid: the transition proof's case, not this one's.
        if (s.nonce + earlier > R.MAX_NONCE) revert SenderMissing(i);
        return R.message(domainSeparator, t, uint32(s.nonce + earlier));
    }

    /// @dev The pre-state root and the claimed post-state root of a pending batch's commitment.
    function _open(BatchHeader calldata h, CommitmentRef calldata previous, Target calldata target)
        internal
        view
        returns (bytes32 preRoot, bytes32 claimedRoot)
    {
        if (!_standing(h)) revert UnknownBatch(h.index);
        if (block.timestamp >= h.postedAt + challengeWindow) revert BatchNotPending(h.index);
        bytes calldata c = target.commitment;
        if (c.length == 0 || R.commitmentLength(c, 0, commitmentSize) != c.length) revert NotIncluded(target.position);
        claimedRoot = bytes32(c[1:33]);
        _requireIncluded(h, target.position, keccak256(abi.encodePacked(claimedRoot, R.bodyHash(c, target.queueStart))),
            target.path);
        preRoot = h.prevRoot;
        if (target.position > 0) {
            if (previous.position != target.position - 1) revert NotIncluded(previous.position);
            _requireIncluded(h, previous.position, keccak256(abi.encodePacked(previous.postRoot, previous.bodyHash)),
                previous.path);
            preRoot = previous.postRoot;
        }
    }

    function _reveal(bytes32 commitment) internal {
        uint256 committedIn = challengeCommitments[commitment];
        if (committedIn == 0) revert ChallengeNotCommitted(commitment);
        if (committedIn >= block.number) revert ChallengeRevealTooEarly(committedIn);
        delete challengeCommitments[commitment];
    }

    function _slashAndRevert(BatchHeader calldata h, uint32 position, bool signature) internal {
        uint64 previousCount = batchCount;
        uint256 bond = bonds[h.proposer];
        uint256 reward = bond / 2;
        bonds[h.proposer] = 0;
        totalBurned += bond - reward;
        tipRoot = h.prevRoot;
        batchCount = h.index;
        queueHead = h.queueStart;
        emit BatchesReverted(h.index, previousCount);
        emit FraudProven(h.index, position, signature, msg.sender, h.proposer, reward, bond - reward);
        if (reward > 0) _pay(0, msg.sender, reward);
    }

    /// @dev Replays a transfer commitment; (false, 0) at the first invalid transfer. Witnesses, in order:
    ///      the fee receiver (pre-state), then per transfer the sender and (unless a withdrawal) the
    ///      recipient, each against the root left by the previous step, then the fee receiver again.
    function _replayTransfers(TransitionProof calldata p, bytes32 root) internal view returns (bool, bytes32) {
        uint32 feeReceiver = uint32(bytes4(p.target.commitment[81:85]));
        R.Leaf memory receiver = _next(p, 0, feeReceiver, root);
        if (receiver.owner == address(0)) return (false, 0);
        Replay memory r = Replay(root, 1, 0, receiver.token);
        uint256 n = (p.target.commitment.length - R.TRANSFER_HEADER) / 8;
        for (uint256 i; i < n; ++i) {
            if (!_replayTransfer(p, r, R.decodeTransfer(p.target.commitment, R.TRANSFER_HEADER + 8 * i))) {
                return (false, 0);
            }
        }
        R.Leaf memory f = _next(p, r.w, feeReceiver, r.root);
        f.balance += r.fees;
        return (true, R.rootWith(f, feeReceiver, p.witnesses[r.w].siblings));
    }

    /// @dev Where a replay stands: the root so far, the next witness, the fees so far, the commitment's token.
    struct Replay {
        bytes32 root;
        uint256 w;
        uint256 fees;
        uint8 token;
    }

    function _replayTransfer(TransitionProof calldata p, Replay memory r, R.Transfer memory t) internal view returns (bool) {
        R.Leaf memory s = _next(p, r.w, t.from, r.root);
        if (s.owner == address(0) || s.token != r.token || s.nonce == R.MAX_NONCE || s.balance < t.amount + t.fee) {
            return false;
        }
        s.balance -= t.amount + t.fee;
        s.nonce += 1;
        r.root = R.rootWith(s, t.from, p.witnesses[r.w++].siblings);
        r.fees += t.fee;
        if (t.to == 0) return true;
        if (t.to == t.from) return false;
        R.Leaf memory q = _next(p, r.w, t.to, r.root);
        if (q.owner == address(0) || q.token != s.token) return false;
        q.balance += t.amount;
        r.root = R.rootWith(q, t.to, p.witnesses[r.w++].siblings);
        return true;
    }

    /// @dev Replays a queue commitment: its entries must be the stored ones from its queue start; one
    ///      witness per entry. (false, 0) if an ok bit disagrees with the entry's outcome.
    function _replayQueue(TransitionProof calldata p, bytes32 root) internal view returns (bool, bytes32) {
        bytes calldata c = p.target.commitment;
        uint256 count = uint8(c[33]);
        if (p.entries.length != count) revert BadQueueEntry(p.target.queueStart);
        uint64 start = p.target.queueStart;
        uint192 chained = start == 0 ? 0 : uint192(queue[start - 1]);
        for (uint256 i; i < count; ++i) {
            R.QueueEntry calldata e = p.entries[i];
            chained = R.queueHash(chained, e);
            if (uint192(queue[start + uint64(i)]) != chained) revert BadQueueEntry(start + uint64(i));
            R.Leaf memory a = _next(p, i, e.account, root);
            bool ok;
            if (e.kind == R.QUEUE_DEPOSIT) {
                if (a.owner == address(0)) {
                    a.owner = e.owner;
                    a.keyHash = e.keyHash;
                    a.token = e.token;
                }
                // Layer 1 assigned the index to this owner and token: any other leaf there is impossible
                // in a state built by these rules, so it is fraud, not a reason to skip.
                if (a.owner != e.owner || a.token != e.token) return (false, 0);
                a.balance += e.amount;
                ok = true;
            } else {
                ok = a.owner == e.owner && a.owner != address(0) && a.token == e.token && a.balance >= e.amount;
                if (ok) a.balance -= e.amount;
            }
            if (ok != R.okBit(c, i)) return (false, 0);
            root = R.rootWith(a, e.account, p.witnesses[i].siblings);
        }
        return (true, root);
    }

    function _next(TransitionProof calldata p, uint256 i, uint256 index, bytes32 root)
        internal
        view
        returns (R.Leaf memory)
    {
        if (i >= p.witnesses.length) revert R.WitnessMissing(i);
        if (index >= uint256(1) << treeDepth) return R.Leaf(address(0), 0, 0, 0, 0);
        return R.open(p.witnesses[i], index, root, treeDepth);
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Pay a withdrawal (a transfer to account 0) of a final batch to the sender account's owner.
    function claimWithdrawal(BatchHeader calldata h, Target calldata target, uint256 index) external nonReentrant {
        bytes32 key = _claimable(h, target);
        bytes calldata c = target.commitment;
        if (uint8(c[0]) != R.COMMIT_TRANSFERS || index >= (c.length - R.TRANSFER_HEADER) / 8) {
            revert NotAWithdrawal(target.position, index);
        }
        R.Transfer memory t = R.decodeTransfer(c, R.TRANSFER_HEADER + 8 * index);
        if (t.to != 0) revert NotAWithdrawal(target.position, index);
        key = keccak256(abi.encode(key, index));
        if (claimed[key]) revert AlreadyClaimed(key);
        claimed[key] = true;
        AccountInfo memory info = accounts[t.from];
        emit WithdrawalClaimed(key, info.owner, info.token, t.amount);
        _pay(info.token, info.owner, t.amount);
    }

    /// @notice Pay a forced withdrawal whose ok bit is set in a final batch.
    function claimForcedWithdrawal(BatchHeader calldata h, Target calldata target, uint256 offset,
        R.QueueEntry calldata e) external nonReentrant
    {
        bytes32 key = _claimable(h, target);
        bytes calldata c = target.commitment;
        if (uint8(c[0]) != R.COMMIT_QUEUE || offset >= uint8(c[33]) || !R.okBit(c, offset)
            || e.kind != R.QUEUE_FORCED_WITHDRAWAL) revert NotAWithdrawal(target.position, offset);
        uint64 at = target.queueStart + uint64(offset);
        uint192 previous = at == 0 ? 0 : uint192(queue[at - 1]);
        if (R.queueHash(previous, e) != uint192(queue[at])) revert BadQueueEntry(at);
        key = keccak256(abi.encode(key, offset));
        if (claimed[key]) revert AlreadyClaimed(key);
        claimed[key] = true;
        emit WithdrawalClaimed(key, e.owner, e.token, e.amount);
        _pay(e.token, e.owner, e.amount);
    }

    function _claimable(BatchHeader calldata h, Target calldata target) internal view returns (bytes32) {
        if (!_standing(h)) revert UnknownBatch(h.index);
        uint256 finalAt = h.postedAt + challengeWindow;
        if (block.timestamp < finalAt) revert BatchNotFinal(h.index, finalAt);
        bytes calldata c = target.commitment;
        if (c.length == 0 || R.commitmentLength(c, 0, commitmentSize) != c.length) revert NotIncluded(target.position);
        _requireIncluded(h, target.position, keccak256(abi.encodePacked(bytes32(c[1:33]), R.bodyHash(c,
            target.queueStart))), target.path);
        return keccak256(abi.encode(batchHashes[h.index], target.position));
    }

    // ------------------------------------------------------------------ internals

    function _standing(BatchHeader calldata h) internal view returns (bool) {
        return h.index < batchCount && batchHashes[h.index] == keccak256(abi.encode(h));
    }

    function _requireIncluded(BatchHeader calldata h, uint32 position, bytes32 leaf, bytes32[] calldata path)
        internal
        pure
    {
        if (position >= h.commitmentCount || path.length != MerkleTree.depth(h.commitmentCount)) {
            revert NotIncluded(position);
        }
        if (MerkleTree.rootFrom(leaf, position, path) != h.commitmentsRoot) revert NotIncluded(position);
    }

    function _tokenBalance(address token) internal view returns (uint256) {
        (bool ok, uint256 balance) = TokenTransfer.tryBalanceOf(token, address(this));
        if (!ok) revert TransferFailed(token, address(this), 0);
        return balance;
    }

    function _pay(uint8 token, address to, uint256 amount) internal {
        if (token == 0) {
            (bool ok,) = payable(to).call{value: amount}("");
            if (!ok) revert TransferFailed(address(0), to, amount);
        } else if (!TokenTransfer.tryTransfer(tokens[token], to, amount)) {
            revert TransferFailed(tokens[token], to, amount);
        }
    }
}
