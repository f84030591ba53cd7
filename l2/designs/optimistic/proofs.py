"""Witnesses and fraud proofs for `OptimisticRollup`, built from a pre-state with the same reads the
contract makes (its `_replayTransfers`, `_replayQueue` and `_signedMessage`), in the same order."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import to_checksum_address

from l2.core import bls, merkle
from l2.designs.optimistic.encoding import (
    QUEUE_DEPOSIT,
    Commitment,
    QueueCommitment,
    QueueEntry,
    TransferCommitment,
    leaf,
)
from l2.designs.optimistic.state import Account, State

ZERO_ADDRESS = "0x" + "00" * 20


def witness(state: State, index: int) -> tuple:
    """`OptimisticRules.Witness` of account `index` in `state`; a placeholder past the tree (never opened)."""
    if not 0 <= index < state.capacity:
        return (ZERO_ADDRESS, b"\0" * 32, 0, 0, 0, [])
    account, siblings = state.proof(index)
    if account is None:
        return (ZERO_ADDRESS, b"\0" * 32, 0, 0, 0, siblings)
    return (to_checksum_address(account.owner), account.key_hash, account.token, account.balance, account.nonce,
            siblings)


def packed_witness(state: State, index: int) -> bytes:
    """`OptimisticRules.openPacked`'s layout: owner 20 | keyHash 32 | token 1 | balance 32 | nonce 4 | siblings."""
    account, siblings = state.proof(index)
    if account is None:
        head = b"\0" * 89
    else:
        head = (account.owner + account.key_hash + bytes([account.token]) + account.balance.to_bytes(32, "big")
                + account.nonce.to_bytes(4, "big"))
    return head + b"".join(siblings)


def transfer_witnesses(state: State, commitment: TransferCommitment) -> list[tuple]:
    """Every witness the transition proof reads, up to the first invalid transfer (inclusive)."""
    out: list[tuple] = []

    def read(index: int) -> Account | None:
        out.append(witness(state, index))
        return state.account(index)

    receiver = read(commitment.fee_receiver)
    if receiver is None:
        return out
    fees = 0
    for tx in commitment.transfers:
        sender = read(tx.sender)
        if (sender is None or sender.token != receiver.token or sender.nonce >= 2**32 - 1
                or sender.balance < tx.amount + tx.fee):
            return out
        state = state.with_account(tx.sender, Account(sender.owner, sender.key_hash, sender.token,
                                                      sender.balance - tx.amount - tx.fee, sender.nonce + 1))
        fees += tx.fee
        if tx.is_withdrawal:
            continue
        if tx.to == tx.sender:
            return out
        recipient = read(tx.to)
        if recipient is None or recipient.token != sender.token:
            return out
        state = state.with_account(tx.to, Account(recipient.owner, recipient.key_hash, recipient.token,
                                                  recipient.balance + tx.amount, recipient.nonce))
    read(commitment.fee_receiver)
    return out


def queue_witnesses(state: State, entries: list[QueueEntry]) -> list[tuple]:
    out = []
    for entry in entries:
        out.append(witness(state, entry.account))
        account = state.account(entry.account)
        if entry.kind == QUEUE_DEPOSIT:
            if account is None:
                account = Account(entry.owner, entry.key_hash, entry.token)
            if account.owner != entry.owner or account.token != entry.token:
                return out
            state = state.with_account(entry.account, Account(account.owner, account.key_hash, account.token,
                                                              account.balance + entry.amount, account.nonce))
        elif (account is not None and account.owner == entry.owner and account.token == entry.token
              and account.balance >= entry.amount):
            state = state.with_account(entry.account, Account(account.owner, account.key_hash, account.token,
                                                              account.balance - entry.amount, account.nonce))
    return out


def entry_tuple(entry: QueueEntry) -> tuple:
    return (entry.kind, entry.account, to_checksum_address(entry.owner), entry.key_hash, entry.token, entry.amount)


@dataclass(frozen=True)
class PostedBatch:
    """A standing batch as Layer 1 knows it (its header, from `BatchSubmitted`) with its commitments
    (from the transaction's calldata) and where each started consuming the queue."""

    header: tuple  # OptimisticRollup.BatchHeader
    commitments: tuple[Commitment, ...]
    queue_starts: tuple[int, ...]
    # Where Layer 1 holds it (empty for a batch not read from Layer 1): a checker keeps a batch as checked
    # only while this block is unchanged, since a reorg below it may change the queue entries it consumed.
    block_hash: bytes = field(default=b"", compare=False)
    tx_hash: bytes = field(default=b"", compare=False)

    @property
    def leaves(self) -> list[bytes]:
        return [leaf(c, q) for c, q in zip(self.commitments, self.queue_starts, strict=True)]

    def target(self, position: int) -> tuple:
        """`OptimisticRollup.Target`: the commitment in full, its queue start and its Merkle path."""
        return (position, self.commitments[position].encode(), self.queue_starts[position],
                merkle.path(self.leaves, position))

    def reference(self, position: int) -> tuple:
        """`OptimisticRollup.CommitmentRef` of commitment `position` (a zero one for "none")."""
        if position < 0:
            return (0, b"\0" * 32, b"\0" * 32, [])
        c = self.commitments[position]
        return (position, c.post_root, c.body_hash(self.queue_starts[position]), merkle.path(self.leaves, position))


def transition_proof(batch: PostedBatch, position: int, pre: State, entries: list[QueueEntry] | None = None) -> tuple:
    c = batch.commitments[position]
    if isinstance(c, QueueCommitment):
        entries = entries or []
        witnesses = queue_witnesses(pre, entries)
    else:
        witnesses = transfer_witnesses(pre, c)
    return (batch.header, batch.reference(position - 1), batch.target(position),
            [entry_tuple(e) for e in entries or []], witnesses)


def signature_proof(batch: PostedBatch, position: int, pre: State, key_of) -> tuple:
    """`key_of(key_hash)` -> the compressed BLS key registered with that hash."""
    c = batch.commitments[position]
    assert isinstance(c, TransferCommitment)
    senders = b"".join(packed_witness(pre, tx.sender) for tx in c.transfers)
    keys = []
    for tx in c.transfers:
        account = pre.account(tx.sender)
        keys.append(bls.g2_evm(key_of(account.key_hash)) if account is not None else b"\0" * 256)
    return (batch.header, batch.reference(position - 1), batch.target(position), senders, b"".join(keys))

