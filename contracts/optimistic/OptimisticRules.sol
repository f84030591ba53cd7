// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../lib/MerkleTree.sol";

/// @title OptimisticRules
/// @notice The optimistic rollup's encodings and state rules as Layer 1 replays them in a fraud proof. The
///         Python twin is `l2/designs/optimistic/` (encoding.py, state.py); tests check the two against
///         each other.
/// @dev State root = root of a sparse Merkle tree of `depth` (<= 20) levels over account indexes;
///      node = keccak(left || right); empty leaf = 0, which opens only as all zeros.
///      Account leaf = keccak(abi.encode(owner, keyHash, token, balance, nonce)).
///      Transfer (8 bytes): from u20 | to u20 | amount f16 | fee f8; to == 0 is a withdrawal.
///      f16 = 5-bit exponent | 11-bit mantissa; f8 = 4-bit exponent | 4-bit mantissa; value = m * 10**e.
///      Commitments: 0x01 | postRoot | signature 48 | feeReceiver u32 | n u16 | n x 8 bytes
///                   0x02 | postRoot | count u8 | ok bits (little-endian, ceil(count / 8) bytes)
///      Leaf of a commitment = keccak(postRoot || bodyHash), bodyHash = keccak(kind || body) for transfers,
///      keccak(0x02 || count || ok bits || queueStart u64) for the queue.
library OptimisticRules {
    uint256 internal constant MAX_TREE_DEPTH = 20;
    uint8 internal constant COMMIT_TRANSFERS = 1;
    uint8 internal constant COMMIT_QUEUE = 2;
    uint256 internal constant TRANSFER_HEADER = 87; // kind, root, signature, fee receiver, count
    uint256 internal constant QUEUE_HEADER = 34; // kind, root, count
    uint256 internal constant MAX_QUEUE_COUNT = 64;
    uint8 internal constant QUEUE_DEPOSIT = 0;
    uint8 internal constant QUEUE_FORCED_WITHDRAWAL = 1;
    uint32 internal constant MAX_NONCE = type(uint32).max;

    bytes32 internal constant TRANSFER_TYPEHASH =
        keccak256("Transfer(uint32 from,uint32 to,uint256 amount,uint256 fee,uint32 nonce)");
    bytes32 internal constant WITHDRAWAL_TYPEHASH =
        keccak256("Withdrawal(uint32 from,uint256 amount,uint256 fee,uint32 nonce)");
    bytes32 internal constant KEY_REGISTRATION_TYPEHASH = keccak256("KeyRegistration(address owner,bytes32 keyHash)");

    /// @dev One account leaf and its siblings (bottom-up), as a prover supplies it.
    struct Witness {
        address owner;
        bytes32 keyHash;
        uint8 token;
        uint256 balance;
        uint32 nonce;
        bytes32[] siblings;
    }

    /// @dev An entry of the Layer-1 queue, supplied in clear and checked against the stored chain of hashes.
    struct QueueEntry {
        uint8 kind;
        uint32 account;
        address owner;
        bytes32 keyHash;
        uint8 token;
        uint256 amount;
    }

    /// @dev An opened account in memory (its siblings stay in calldata).
    struct Leaf {
        address owner;
        bytes32 keyHash;
        uint8 token;
        uint256 balance;
        uint32 nonce;
    }

    struct Transfer {
        uint32 from;
        uint32 to;
        uint256 amount;
        uint256 fee;
    }

    error WitnessMismatch(uint256 account);
    error WitnessMissing(uint256 needed);

    /// @dev keccak256(abi.encode(owner, keyHash, token, balance, nonce)), written past the free-memory
    ///      pointer without moving it (see MerkleTree.hashPair: proofs hash thousands of leaves).
    function leafHash(Leaf memory a) internal pure returns (bytes32 h) {
        if (a.owner == address(0)) return bytes32(0);
        address owner = a.owner;
        bytes32 keyHash = a.keyHash;
        uint8 token = a.token;
        uint256 amount = a.balance;
        uint32 nonce = a.nonce;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, owner)
            mstore(add(m, 0x20), keyHash)
            mstore(add(m, 0x40), token)
            mstore(add(m, 0x60), amount)
            mstore(add(m, 0x80), nonce)
            h := keccak256(m, 0xa0)
        }
    }

    function emptyRoot(uint256 depth) internal pure returns (bytes32 node) {
        for (uint256 i; i < depth; ++i) node = keccak256(abi.encodePacked(node, node));
    }

    /// @dev `w` opened at `index` under `root`; reverts (a forged witness, never fraud) if it does not open.
    ///      An empty leaf hashes to 0 whatever else it claims, so it must claim all zeros.
    function open(Witness calldata w, uint256 index, bytes32 root, uint256 depth) internal pure returns (Leaf memory a) {
        if (w.siblings.length != depth) revert WitnessMismatch(index);
        if (w.owner == address(0) && (w.keyHash != 0 || w.token != 0 || w.balance != 0 || w.nonce != 0)) {
            revert WitnessMismatch(index);
        }
        a = Leaf(w.owner, w.keyHash, w.token, w.balance, w.nonce);
        if (MerkleTree.rootFrom(leafHash(a), index, w.siblings) != root) revert WitnessMismatch(index);
    }

    /// @dev Bytes of one packed witness: owner 20 | keyHash 32 | token 1 | balance 32 | nonce 4 | siblings.
    function packedLength(uint256 depth) internal pure returns (uint256) {
        return 89 + 32 * depth;
    }

    /// @dev `open` for a packed witness (the signature proof's senders: ABI structs would add a third to
    ///      the bytes, and 128 of them are most of the proof's calldata).
    function openPacked(bytes calldata w, uint256 index, bytes32 root, uint256 depth) internal pure returns (Leaf memory a) {
        if (w.length != packedLength(depth)) revert WitnessMismatch(index);
        address owner;
        bytes32 keyHash;
        uint256 token;
        uint256 amount;
        uint256 nonce;
        assembly {
            let o := w.offset
            owner := shr(96, calldataload(o))
            keyHash := calldataload(add(o, 20))
            token := shr(248, calldataload(add(o, 52)))
            amount := calldataload(add(o, 53))
            nonce := shr(224, calldataload(add(o, 85)))
        }
        a = Leaf(owner, keyHash, uint8(token), amount, uint32(nonce));
        if (owner == address(0) && (keyHash != 0 || token != 0 || amount != 0 || nonce != 0)) {
            revert WitnessMismatch(index);
        }
        bytes32 node = leafHash(a);
        // The siblings, bottom-up, read straight from calldata and hashed in the scratch space.
        assembly ("memory-safe") {
            let siblings := add(w.offset, 89)
            for { let i := 0 } lt(i, depth) { i := add(i, 1) } {
                let sibling := calldataload(add(siblings, mul(32, i)))
                switch and(shr(i, index), 1)
                case 0 {
                    mstore(0x00, node)
                    mstore(0x20, sibling)
                }
                default {
                    mstore(0x00, sibling)
                    mstore(0x20, node)
                }
                node := keccak256(0x00, 0x40)
            }
        }
        if (node != root) revert WitnessMismatch(index);
    }

    /// @dev The root after writing `a` where its witness was (same siblings).
    function rootWith(Leaf memory a, uint256 index, bytes32[] calldata siblings) internal pure returns (bytes32) {
        return MerkleTree.rootFrom(leafHash(a), index, siblings);
    }

    function queueHash(uint192 previous, QueueEntry memory e) internal pure returns (uint192) {
        return uint192(uint256(keccak256(abi.encode(previous, e.kind, e.account, e.owner, e.keyHash, e.token, e.amount))));
    }

    function decodeTransfer(bytes calldata c, uint256 at) internal pure returns (Transfer memory t) {
        uint64 word = uint64(bytes8(c[at:at + 8]));
        t.from = uint32(word >> 44);
        t.to = uint32((word >> 24) & 0xFFFFF);
        uint256 a = (word >> 8) & 0xFFFF;
        t.amount = (a & 0x7FF) * 10 ** (a >> 11);
        uint256 f = word & 0xFF;
        t.fee = (f & 0xF) * 10 ** (f >> 4);
    }

    /// @dev The EIP-712 digest a transfer's sender signs (with its BLS key) for `nonce`.
    function message(bytes32 domainSeparator, Transfer memory t, uint32 nonce) internal pure returns (bytes32) {
        bytes32 structHash = t.to == 0
            ? keccak256(abi.encode(WITHDRAWAL_TYPEHASH, t.from, t.amount, t.fee, nonce))
            : keccak256(abi.encode(TRANSFER_TYPEHASH, t.from, t.to, t.amount, t.fee, nonce));
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev Length of the commitment starting at `at`, 0 if its header is malformed or truncated.
    function commitmentLength(bytes calldata data, uint256 at, uint256 maxTransfers) internal pure returns (uint256) {
        uint8 kind = uint8(data[at]);
        if (kind == COMMIT_TRANSFERS) {
            if (at + TRANSFER_HEADER > data.length) return 0;
            uint256 n = uint16(bytes2(data[at + 85:at + 87]));
            if (n == 0 || n > maxTransfers) return 0;
            return TRANSFER_HEADER + 8 * n;
        }
        if (kind == COMMIT_QUEUE) {
            if (at + QUEUE_HEADER > data.length) return 0;
            uint256 count = uint8(data[at + 33]);
            if (count == 0 || count > MAX_QUEUE_COUNT) return 0;
            return QUEUE_HEADER + (count + 7) / 8;
        }
        return 0;
    }

    /// @dev bodyHash of a whole commitment `c` (as posted), given where a queue commitment starts.
    function bodyHash(bytes calldata c, uint64 queueStart) internal pure returns (bytes32) {
        if (uint8(c[0]) == COMMIT_TRANSFERS) return keccak256(abi.encodePacked(c[0:1], c[33:]));
        return keccak256(abi.encodePacked(c[0:1], c[33:], queueStart));
    }

    function okBit(bytes calldata c, uint256 i) internal pure returns (bool) {
        return (uint8(c[QUEUE_HEADER + i / 8]) >> (i % 8)) & 1 == 1;
    }
}
