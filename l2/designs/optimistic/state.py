"""The optimistic rollup's state and its rules: one commitment at a time, as the fraud proofs replay them.

State root = root of a sparse Merkle tree of `depth` levels (<= 20) over account indexes (node =
keccak(left || right), empty leaf = 0). Account leaf = keccak(abi.encode(owner, keyHash, token, balance,
nonce)). An account holds one token: a transfer names no token, both ends must hold the same one.
Accounts are opened only by Layer-1 deposits, at the index Layer 1 assigned (one per owner and token,
from 1 up), so the rules never search the tree and account 0 stays empty (it is the withdrawal address).

`apply_transfers` and `apply_queue` raise an `InvalidTransaction` subclass naming the first transfer
or entry that breaks a rule (the commitment is then fraudulent); `signature_valid` says whether a
commitment's aggregate signature signs every transfer with its sender's key and nonce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from l2.core import bls
from l2.core.crypto import keccak
from l2.designs.optimistic.encoding import (
    MAX_NONCE,
    MAX_TREE_DEPTH,
    QUEUE_DEPOSIT,
    QueueCommitment,
    QueueEntry,
    Transfer,
    TransferCommitment,
)
from l2.designs.optimistic.errors import (
    InsufficientBalance,
    QueueMismatch,
    SelfTransfer,
    UnknownAccount,
    UnknownToken,
    WrongNonce,
)

ZERO_HASHES = [b"\0" * 32]  # the root of an empty subtree of each height: the empty leaf is 0
for _ in range(MAX_TREE_DEPTH):
    ZERO_HASHES.append(keccak(ZERO_HASHES[-1] * 2))


class NodeStore:
    """Content-addressed tree nodes (hash -> children) and leaves (hash -> Account); append-only, so
    every state built on it stays readable: a fraud proof needs the pre-state's paths."""

    def __init__(self, depth: int):
        self.depth = depth
        self.nodes: dict[bytes, tuple[bytes, bytes]] = {
            ZERO_HASHES[i + 1]: (ZERO_HASHES[i], ZERO_HASHES[i]) for i in range(depth)
        }
        self.leaves: dict[bytes, Account] = {}

    def path(self, root: bytes, index: int) -> tuple[bytes, list[bytes]]:
        """(leaf hash, siblings bottom-up) of `index` under `root`."""
        nodes = self.nodes
        node = root
        siblings = [b""] * self.depth
        for level in range(self.depth - 1, -1, -1):
            left, right = nodes[node]
            if (index >> level) & 1:
                siblings[level] = left
                node = right
            else:
                siblings[level] = right
                node = left
        return node, siblings

    def put(self, index: int, leaf: bytes, siblings: list[bytes]) -> bytes:
        """Write a leaf along a known path; returns the new root."""
        nodes = self.nodes
        node = leaf
        for level in range(self.depth):
            sibling = siblings[level]
            if (index >> level) & 1:
                parent = keccak(sibling + node)
                nodes[parent] = (sibling, node)
            else:
                parent = keccak(node + sibling)
                nodes[parent] = (node, sibling)
            node = parent
        return node


@dataclass(frozen=True)
class Account:
    owner: bytes  # 20 bytes
    key_hash: bytes  # keccak of the owner's BLS key (EIP-2537 encoding) when the account was opened
    token: int
    balance: int = 0
    nonce: int = 0

    def leaf(self) -> bytes:
        return keccak(self.owner.rjust(32, b"\0") + self.key_hash + self.token.to_bytes(32, "big")
                      + self.balance.to_bytes(32, "big") + self.nonce.to_bytes(32, "big"))


@dataclass(frozen=True)
class State:
    """An immutable state: the account tree's root over a shared, append-only node store."""

    root: bytes
    store: NodeStore = field(compare=False, repr=False)

    @classmethod
    def genesis(cls, depth: int) -> State:
        if not 1 <= depth <= MAX_TREE_DEPTH:
            raise ValueError(f"tree depth must be 1..{MAX_TREE_DEPTH}, got {depth}")
        return cls(ZERO_HASHES[depth], NodeStore(depth))

    @property
    def capacity(self) -> int:
        return 1 << self.store.depth

    def account(self, index: int) -> Account | None:
        if not 0 < index < self.capacity:
            return None
        leaf, _ = self.store.path(self.root, index)
        return self.store.leaves.get(leaf) if leaf != ZERO_HASHES[0] else None

    def proof(self, index: int) -> tuple[Account | None, list[bytes]]:
        """The account at `index` (None if empty) and its siblings bottom-up: a fraud proof's witness."""
        leaf, siblings = self.store.path(self.root, index)
        return (self.store.leaves.get(leaf) if leaf != ZERO_HASHES[0] else None), siblings

    def with_account(self, index: int, account: Account) -> State:
        _, siblings = self.store.path(self.root, index)
        leaf = account.leaf()
        self.store.leaves[leaf] = account
        return State(self.store.put(index, leaf, siblings), self.store)


def _existing(state: State, index: int, role: str, position: int) -> Account:
    account = state.account(index)
    if account is None:
        raise UnknownAccount(f"transfer {position}: {role} account {index} does not exist")
    return account


def apply_transfer(state: State, tx: Transfer, token: int, position: int = 0) -> tuple[State, tuple | None]:
    """One transfer of a commitment whose fee receiver holds `token`, its fee not yet paid (a commitment
    pays its fees at its end). Returns the new state and the withdrawal it makes, (owner, token, amount)."""
    sender = _existing(state, tx.sender, "sender", position)
    if sender.token != token:
        raise UnknownToken(f"transfer {position}: account {tx.sender} holds token {sender.token}, the fee "
                           f"receiver token {token}")
    if sender.nonce >= MAX_NONCE:
        raise WrongNonce(f"transfer {position}: account {tx.sender} has used all its nonces")
    if sender.balance < tx.amount + tx.fee:
        raise InsufficientBalance(f"transfer {position}: account {tx.sender} has {sender.balance}, needs "
                                  f"{tx.amount + tx.fee}")
    state = state.with_account(tx.sender, Account(sender.owner, sender.key_hash, sender.token,
                                                  sender.balance - tx.amount - tx.fee, sender.nonce + 1))
    if tx.is_withdrawal:
        return state, (sender.owner, sender.token, tx.amount)
    if tx.to == tx.sender:
        raise SelfTransfer(f"transfer {position}: account {tx.sender} pays itself")
    recipient = _existing(state, tx.to, "recipient", position)
    if recipient.token != sender.token:
        raise UnknownToken(f"transfer {position}: account {tx.to} holds token {recipient.token}, not "
                           f"{sender.token}")
    return state.with_account(tx.to, Account(recipient.owner, recipient.key_hash, recipient.token,
                                             recipient.balance + tx.amount, recipient.nonce)), None


def pay_fees(state: State, fee_receiver: int, fees: int) -> State:
    receiver = _existing(state, fee_receiver, "fee receiver", -1)
    return state.with_account(fee_receiver, Account(receiver.owner, receiver.key_hash, receiver.token,
                                                    receiver.balance + fees, receiver.nonce))


def apply_transfers(state: State, commitment: TransferCommitment) -> tuple[State, list[tuple[bytes, int, int]]]:
    """Apply a commitment's transfers, then pay its fees to the fee receiver. Returns the new state and
    the withdrawals it makes, (owner, token, amount) each."""
    receiver = _existing(state, commitment.fee_receiver, "fee receiver", -1)
    withdrawals = []
    for position, tx in enumerate(commitment.transfers):
        state, withdrawal = apply_transfer(state, tx, receiver.token, position)
        if withdrawal is not None:
            withdrawals.append(withdrawal)
    return pay_fees(state, commitment.fee_receiver, sum(tx.fee for tx in commitment.transfers)), withdrawals


def queue_outcomes(state: State, entries: list[QueueEntry]) -> tuple[State, tuple[bool, ...]]:
    """Apply Layer-1 queue entries in order; returns the new state and each entry's ok flag (a deposit is
    always ok; a forced withdrawal is ok when its account is the requester's and holds the amount)."""
    ok = []
    for entry in entries:
        account = state.account(entry.account)
        if entry.kind == QUEUE_DEPOSIT:
            if account is None:
                account = Account(entry.owner, entry.key_hash, entry.token)
            elif account.owner != entry.owner or account.token != entry.token:
                raise QueueMismatch(f"entry {entry.index}: account {entry.account} is not {entry.owner.hex()}'s "
                                    f"token {entry.token} (Layer 1 assigned it; the state disagrees)")
            state = state.with_account(entry.account, Account(account.owner, account.key_hash, account.token,
                                                              account.balance + entry.amount, account.nonce))
            ok.append(True)
        else:
            paid = (account is not None and account.owner == entry.owner and account.token == entry.token
                    and account.balance >= entry.amount)
            if paid and account is not None:
                state = state.with_account(entry.account, Account(account.owner, account.key_hash, account.token,
                                                                  account.balance - entry.amount, account.nonce))
            ok.append(paid)
    return state, tuple(ok)


def apply_queue(state: State, commitment: QueueCommitment, entries: list[QueueEntry]) -> State:
    if len(entries) != commitment.count:
        raise QueueMismatch(f"the commitment consumes {commitment.count} entries, {len(entries)} given")
    new, ok = queue_outcomes(state, entries)
    if ok != commitment.ok:
        raise QueueMismatch(f"ok flags {commitment.ok} are not the entries' outcomes {ok}")
    return new


def signed_messages(state: State, commitment: TransferCommitment, domain_sep: bytes) -> list[tuple[bytes, bytes]]:
    """(key hash, message) per transfer: each signs with the nonce its sender has when it runs, i.e. the
    pre-state nonce plus the sender's earlier transfers in the commitment (a sender may appear twice)."""
    seen: dict[int, int] = {}
    out = []
    for position, tx in enumerate(commitment.transfers):
        sender = _existing(state, tx.sender, "sender", position)
        nonce = sender.nonce + seen.get(tx.sender, 0)
        seen[tx.sender] = seen.get(tx.sender, 0) + 1
        out.append((sender.key_hash, tx.message(domain_sep, nonce)))
    return out


def signature_valid(state: State, commitment: TransferCommitment, domain_sep: bytes,
                    key_of: Callable[[bytes], bytes]) -> bool:
    """Whether the aggregate signs every transfer; `key_of(key_hash)` gives the compressed BLS key."""
    pairs = signed_messages(state, commitment, domain_sep)
    return bls.verify_aggregate([key_of(h) for h, _ in pairs], [m for _, m in pairs], commitment.signature)


def sign_transfer(key: bls.BlsKey, tx: Transfer, domain_sep: bytes, nonce: int) -> bytes:
    return key.sign(tx.message(domain_sep, nonce))


def key_hash(public_key: bytes) -> bytes:
    """What an account stores of its key: keccak of the EIP-2537 encoding the contract hashes."""
    return keccak(bls.g2_evm(public_key))
