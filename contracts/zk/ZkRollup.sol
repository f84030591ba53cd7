// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Groth16Verifier} from "./Groth16Verifier.sol";
import {PoseidonT4, PoseidonT5} from "./Poseidon.sol";

/// @title ZkRollup
/// @notice Layer-1 side of a zk-rollup. Accounts live in a 4-ary Poseidon Merkle tree whose root changes only
///         with a Groth16 proof that the batch is valid (circuits/zk/rollup.circom), so withdrawals are
///         paid as soon as their batch is verified. Registrations and deposits wait in a queue that every
///         batch consumes in order; if the head of the queue waits longer than the inclusion window,
///         anyone can freeze the rollup (exodus) and every account exits once, by Merkle proof against
///         the last verified root.
/// @dev The proof's one public input is sha256(oldRoot | newRoot | domain | feeIndex | entries | txs) mod r,
///      computed here from storage (the queue) and calldata (the transactions), so the proof is bound to
///      exactly the data this contract publishes. Python twin: l2/designs/zk/batch.py.
contract ZkRollup {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant TX_BYTES = 13;

    /// @notice One queued registration (pk != 0) or deposit (pk == 0), packed in two slots.
    struct Entry {
        uint256 pk;
        uint24 index;
        uint40 amountF;
        uint32 deadline;
        address from;
    }

    Groth16Verifier public immutable verifier;
    /// @notice Poseidon(3): an account leaf, Poseidon(pkHash, balance, nonce).
    PoseidonT4 public immutable poseidon3;
    /// @notice Poseidon(4): a node of the 4-ary tree over its four children.
    PoseidonT5 public immutable poseidon4;
    address public immutable operator;
    /// @notice Index bits: the tree holds 2^depth accounts in depth / 2 levels.
    uint8 public immutable depth;
    uint16 public immutable queueSlots;
    uint16 public immutable txSlots;
    uint32 public immutable inclusionWindow;
    uint256 public immutable minDeposit;
    /// @notice Signed into every Layer-2 transaction, so a signature is valid on this rollup only.
    uint64 public immutable domain;

    uint256 public root;
    uint256 public batchCount;
    uint256 public queueHead;
    uint256 public queueTail;
    uint256 public nextIndex = 1;
    bool public frozen;
    mapping(uint256 => Entry) public queue;
    mapping(uint256 => address) public ownerOf;
    mapping(address => uint256) public withdrawable;
    mapping(uint256 => bool) public exited;

    event Queued(uint256 indexed position, uint256 indexed account, address indexed from, uint256 pk,
                 uint256 amount, uint256 deadline);
    event BatchVerified(uint256 indexed batch, uint256 oldRoot, uint256 newRoot, uint256 consumed, uint256 input);
    event WithdrawalReady(uint256 indexed account, address indexed owner, uint256 amount);
    event Claimed(address indexed owner, uint256 amount);
    event ExodusActivated(uint256 position, uint256 deadline);
    event Exited(uint256 indexed account, address indexed owner, uint256 amount);
    event QueueRefunded(uint256 indexed position, address indexed to, uint256 amount);

    error BadDepth(uint256 depth);
    error NotOperator();
    error Frozen();
    error NotFrozen();
    error BadKey();
    error BadAmount(uint256 sent, uint256 amountF);
    error BelowMinimum(uint256 amount, uint256 minimum);
    error TreeFull();
    error UnknownAccount(uint256 account);
    error QueueTooShort(uint256 consumed, uint256 available);
    error BadTxData(uint256 length, uint256 expected);
    error InvalidProof();
    error NothingToClaim();
    error NoOverdueEntry();
    error AlreadyExited(uint256 account);
    error BadMerkleProof();
    error NotRefundable(uint256 position);
    error PaymentFailed();

    /// @param depth_ index bits, even and at most 24 (indexes are published as 3 bytes)
    /// @param genesisRoot the root of the empty tree of 2^depth_ leaves (Poseidon, empty leaf = H(0, 0, 0))
    constructor(Groth16Verifier verifier_, PoseidonT4 poseidon3_, PoseidonT5 poseidon4_, address operator_,
                uint8 depth_, uint16 queueSlots_, uint16 txSlots_, uint32 inclusionWindow_, uint256 minDeposit_,
                uint256 genesisRoot) {
        if (depth_ == 0 || depth_ % 2 != 0 || depth_ > 24) revert BadDepth(depth_);
        verifier = verifier_;
        poseidon3 = poseidon3_;
        poseidon4 = poseidon4_;
        operator = operator_;
        depth = depth_;
        queueSlots = queueSlots_;
        txSlots = txSlots_;
        inclusionWindow = inclusionWindow_;
        minDeposit = minDeposit_;
        domain = uint64(uint160(address(this)));
        root = genesisRoot;
    }

    // ------------------------------------------------------------------ the queue

    /// @notice Open account `nextIndex` for Poseidon key hash `pk` (bound to msg.sender) with msg.value.
    function register(uint256 pk, uint40 amountF) external payable returns (uint256 account) {
        if (pk == 0 || pk >= R) revert BadKey();
        if (nextIndex >= (uint256(1) << depth)) revert TreeFull();
        account = nextIndex++;
        ownerOf[account] = msg.sender;
        _enqueue(account, pk, amountF);
    }

    /// @notice Add msg.value (= the float amountF) to registered account `account`.
    function deposit(uint24 account, uint40 amountF) external payable {
        if (account == 0 || account >= nextIndex) revert UnknownAccount(account);
        _enqueue(account, 0, amountF);
    }

    function _enqueue(uint256 account, uint256 pk, uint40 amountF) private {
        if (frozen) revert Frozen();
        uint256 amount = decodeFloat(amountF);
        if (msg.value != amount) revert BadAmount(msg.value, amountF);
        if (amount < minDeposit) revert BelowMinimum(amount, minDeposit);
        uint32 deadline = uint32(block.timestamp + inclusionWindow);
        uint256 position = queueTail++;
        queue[position] = Entry(pk, uint24(account), amountF, deadline, msg.sender);
        emit Queued(position, account, msg.sender, pk, amount, deadline);
    }

    // ------------------------------------------------------------------ batches

    /// @notice Apply a batch: the next `consumed` queue entries, then `txData` (txSlots records of 13 bytes),
    ///         proven by `proof`. Withdrawals in it become claimable at once.
    function submitBatch(uint256 newRoot, uint24 feeIndex, uint256 consumed, bytes calldata txData,
                         uint256[8] calldata proof) external {
        if (msg.sender != operator) revert NotOperator();
        if (frozen) revert Frozen();
        if (consumed > queueSlots || queueHead + consumed > queueTail) {
            revert QueueTooShort(consumed, queueTail - queueHead);
        }
        if (txData.length != TX_BYTES * txSlots) revert BadTxData(txData.length, TX_BYTES * txSlots);
        uint256 input = publicInput(newRoot, feeIndex, consumed, txData);
        if (!verifier.verifyProof(proof, input)) revert InvalidProof();

        uint256 oldRoot = root;
        root = newRoot;
        for (uint256 i = 0; i < consumed; ++i) {
            delete queue[queueHead + i];
        }
        queueHead += consumed;
        uint256 batch = ++batchCount;
        // Withdrawals are the records sent to account 0. Reading each record with calldata slices cost ~880
        // gas (measured by bench.py at 1,024 transfers, most of a transfer's cost); one calldataload per record
        // reads from(3) to(3) amount(5) from the top of a word for a few dozen.
        for (uint256 at = 0; at < txData.length; at += TX_BYTES) {
            uint256 word;
            assembly ("memory-safe") {
                word := calldataload(add(txData.offset, at))
            }
            uint256 from = word >> 232;
            uint256 to = (word >> 208) & 0xffffff;
            if (from != 0 && to == 0) {
                uint256 amount = decodeFloat(uint40(word >> 168));
                address owner = ownerOf[from];
                withdrawable[owner] += amount;
                emit WithdrawalReady(from, owner, amount);
            }
        }
        emit BatchVerified(batch, oldRoot, newRoot, consumed, input);
    }

    /// @notice The proof's public input for a batch from the current root (what the circuit outputs).
    function publicInput(uint256 newRoot, uint24 feeIndex, uint256 consumed, bytes calldata txData)
        public view returns (uint256)
    {
        bytes memory entries = new bytes(40 * uint256(queueSlots));
        for (uint256 i = 0; i < consumed; ++i) {
            Entry storage e = queue[queueHead + i];
            bytes memory one = abi.encodePacked(e.index, e.pk, e.amountF);
            for (uint256 k = 0; k < 40; ++k) {
                entries[40 * i + k] = one[k];
            }
        }
        bytes memory data = abi.encodePacked(root, newRoot, domain, feeIndex, entries, txData);
        return uint256(sha256(data)) % R;
    }

    /// @notice Pay msg.sender the withdrawals verified for its accounts.
    function claim() external {
        uint256 amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToClaim();
        withdrawable[msg.sender] = 0;
        emit Claimed(msg.sender, amount);
        _pay(msg.sender, amount);
    }

    // ------------------------------------------------------------------ exodus

    /// @notice Freeze the rollup when the head of the queue has waited past its deadline.
    function activateExodus() external {
        if (frozen) revert Frozen();
        if (queueHead == queueTail || block.timestamp <= queue[queueHead].deadline) revert NoOverdueEntry();
        frozen = true;
        emit ExodusActivated(queueHead, queue[queueHead].deadline);
    }

    /// @notice After the freeze: pay account `account`'s balance in the last verified root to its owner, once.
    /// @param siblings the Merkle proof: at each level, leaves first, the three other children in order
    function exit(uint24 account, uint256 pk, uint256 balance, uint256 nonce, uint256[3][] calldata siblings)
        external
    {
        if (!frozen) revert NotFrozen();
        if (exited[account]) revert AlreadyExited(account);
        if (account == 0 || siblings.length != depth / 2) revert BadMerkleProof();
        uint256 node = poseidon3.hash([pk, balance, nonce]);
        for (uint256 level = 0; level < siblings.length; ++level) {
            uint256 position = (uint256(account) >> (2 * level)) & 3;
            uint256[4] memory children;
            for (uint256 k = 0; k < 4; ++k) {
                children[k] = k < position ? siblings[level][k] : k == position ? node : siblings[level][k - 1];
            }
            node = poseidon4.hash(children);
        }
        if (node != root) revert BadMerkleProof();
        exited[account] = true;
        address owner = ownerOf[account];
        emit Exited(account, owner, balance);
        _pay(owner, balance);
    }

    /// @notice After the freeze: refund a queued entry that no batch consumed to whoever queued it.
    function refundQueued(uint256 position) external {
        if (!frozen) revert NotFrozen();
        Entry memory e = queue[position];
        if (position < queueHead || position >= queueTail || e.from == address(0)) revert NotRefundable(position);
        delete queue[position];
        uint256 amount = decodeFloat(e.amountF);
        emit QueueRefunded(position, e.from, amount);
        _pay(e.from, amount);
    }

    // ------------------------------------------------------------------ helpers

    /// @notice mantissa * 10^exponent of a 40-bit float (mantissa << 5 | exponent).
    function decodeFloat(uint40 f) public pure returns (uint256) {
        return uint256(f >> 5) * 10 ** uint256(f & 31);
    }

    function _pay(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }
}
