// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleTree} from "../lib/MerkleTree.sol";

/// @title OptimisticRules
/// @notice The rollup's hashing scheme and its state-transition rules, as L1 re-executes them in a
///         fraud proof. The Python twin is `l2/rollup/state.py` + `l2/rollup/txs.py`; the two are tested
///         against each other (tests/rollup/test_rules_match.py).
/// @dev State root = keccak256(abi.encode(accountsRoot, accountCount, fees[0..3])).
///      accountsRoot = root of a sparse Merkle tree of depth `depth` (a deployment parameter, 20 by
///      default) over account indices; a node is keccak256(left || right); an empty leaf is bytes32(0).
///      Accounts are created in index order: account `accountCount` is the next one, so "the tree is
///      full" (accountCount == 2**depth) can be proven, and a deposit that cannot be placed is refunded.
///      Account leaf = keccak256(abi.encode(addr, nonce, balances[0..3])); token 0 is ETH.
///      An empty leaf opens only as (address 0, nonce 0, zero balances): bytes32(0) says nothing about
///      the other fields, so any other opening of it is a forged witness.
///      Transaction encodings (every chunk ends with the committed 32-byte post-state root):
///        Transfer  (113 B): 0x01 | from u32 | to u32 | token u8 | amount f40 | fee f16 | r | vs | postRoot
///        Withdrawal  (129 B): 0x02 | from u32 | recipient 20 B | token u8 | amount f40 | fee f16 | r | vs | postRoot
///        QueueOp   ( 38 B): 0x03 | account u32 | ok u8 | postRoot   (consumes the next L1 queue entry)
///        CollectFees(38 B): 0x04 | account u32 | token u8 | postRoot  (fee pool of token -> the batch proposer's account)
///      f40 = 5-bit exponent | 35-bit mantissa (value = m * 10**e); f16 = 5-bit exponent | 11-bit mantissa.
library OptimisticRules {
    uint256 internal constant MAX_TREE_DEPTH = 32;
    uint256 internal constant MAX_TOKENS = 4;

    uint8 internal constant TX_TRANSFER = 1;
    uint8 internal constant TX_WITHDRAW = 2;
    uint8 internal constant TX_QUEUE = 3;
    uint8 internal constant TX_COLLECT_FEES = 4;
    uint256 internal constant TRANSFER_LEN = 113;
    uint256 internal constant WITHDRAW_LEN = 129;
    uint256 internal constant QUEUE_LEN = 38;
    uint256 internal constant COLLECT_FEES_LEN = 38;

    uint8 internal constant QUEUE_DEPOSIT = 0;
    uint8 internal constant QUEUE_FORCED_WITHDRAWAL = 1;

    bytes32 internal constant TRANSFER_TYPEHASH =
        keccak256("Transfer(uint32 from,uint32 to,uint8 token,uint256 amount,uint256 fee,uint32 nonce)");
    bytes32 internal constant WITHDRAW_TYPEHASH =
        keccak256("Withdrawal(uint32 from,address recipient,uint8 token,uint256 amount,uint256 fee,uint32 nonce)");

    /// @dev One account leaf plus its Merkle path, as the challenger supplies it.
    struct AccountWitness {
        address addr;
        uint32 nonce;
        uint256[4] balances;
        bytes32[] siblings;
    }

    /// @dev An entry of the L1 queue (deposit or forced withdrawal), supplied in clear by the prover.
    struct QueueEntry {
        uint8 kind;
        address addr;
        uint32 accountIndex;
        uint8 token;
        uint256 amount;
    }

    /// @dev What a state root commits to besides the accounts: opened by a fraud proof.
    struct PreState {
        bytes32 accountsRoot;
        uint64 accountCount;
        uint256[4] fees;
    }

    /// @dev In-memory account during re-execution.
    struct Account {
        address addr;
        uint32 nonce;
        uint256[4] balances;
    }

    error WitnessMismatch(uint256 accountIndex);

    // ---------------------------------------------------------------- hashing

    function leafHash(Account memory a) internal pure returns (bytes32) {
        if (a.addr == address(0)) return bytes32(0);
        return keccak256(abi.encode(a.addr, a.nonce, a.balances[0], a.balances[1], a.balances[2], a.balances[3]));
    }

    function stateRoot(bytes32 accountsRoot, uint64 accountCount, uint256[4] memory fees)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(accountsRoot, accountCount, fees[0], fees[1], fees[2], fees[3]));
    }

    /// @dev Root of an account tree of `depth` levels given one leaf and its siblings (bottom-up);
    ///      `load` has checked there are exactly `depth` of them.
    function rootFrom(bytes32 leaf, uint256 index, bytes32[] calldata siblings, uint256 depth)
        internal
        pure
        returns (bytes32)
    {
        if (siblings.length != depth) revert WitnessMismatch(index);
        return MerkleTree.rootFrom(leaf, index, siblings);
    }

    /// @dev Root of the empty account tree of `depth` levels.
    function emptyAccountsRoot(uint256 depth) internal pure returns (bytes32 node) {
        for (uint256 i; i < depth; ++i) node = keccak256(abi.encodePacked(node, node));
    }

    /// @dev Load a witness into memory after checking it against `root`; reverts if it does not match.
    ///      An empty leaf hashes to 0 whatever else the witness claims, so it must open as all zeros:
    ///      otherwise a correct deposit into a new account could be "re-executed" on forged balances.
    function load(AccountWitness calldata w, uint256 index, bytes32 root, uint256 depth)
        internal
        pure
        returns (Account memory a)
    {
        if (w.siblings.length != depth) revert WitnessMismatch(index);
        if (
            w.addr == address(0)
                && (w.nonce != 0 || w.balances[0] != 0 || w.balances[1] != 0 || w.balances[2] != 0 || w.balances[3] != 0)
        ) revert WitnessMismatch(index);
        a = Account(w.addr, w.nonce, w.balances);
        if (rootFrom(leafHash(a), index, w.siblings, depth) != root) revert WitnessMismatch(index);
    }

    /// @dev Hash of a queue entry chained on the previous entry's (truncated) hash.
    function queueHash(uint192 previous, QueueEntry memory e) internal pure returns (uint192) {
        return uint192(uint256(keccak256(abi.encode(previous, e.kind, e.addr, e.accountIndex, e.token, e.amount))));
    }

    // ---------------------------------------------------------------- decoding

    function f40(bytes calldata c, uint256 at) internal pure returns (uint256) {
        uint256 raw = uint40(bytes5(c[at:at + 5]));
        return (raw & ((1 << 35) - 1)) * 10 ** (raw >> 35);
    }

    function f16(bytes calldata c, uint256 at) internal pure returns (uint256) {
        uint256 raw = uint16(bytes2(c[at:at + 2]));
        return (raw & 0x7FF) * 10 ** (raw >> 11);
    }

    function u32(bytes calldata c, uint256 at) internal pure returns (uint32) {
        return uint32(bytes4(c[at:at + 4]));
    }

    function word(bytes calldata c, uint256 at) internal pure returns (bytes32) {
        return bytes32(c[at:at + 32]);
    }

    /// @dev Length of a chunk (body and post-state root) of the given kind, 0 if the kind is unknown.
    function chunkLength(uint8 kind) internal pure returns (uint256) {
        if (kind == TX_TRANSFER) return TRANSFER_LEN;
        if (kind == TX_WITHDRAW) return WITHDRAW_LEN;
        if (kind == TX_QUEUE) return QUEUE_LEN;
        if (kind == TX_COLLECT_FEES) return COLLECT_FEES_LEN;
        return 0;
    }
}
