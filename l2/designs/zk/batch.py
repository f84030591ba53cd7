"""A batch: the queue entries and transfers it applies, its public data, and the circuit's witness inputs.

`build(state, entries, txs, ...)` applies the rules (state.py) step by step, recording each leaf and
Merkle path the circuit needs. The public data is what ZkRollup.sol hashes (all big-endian):
    oldRoot(32) newRoot(32) domain(8) feeIndex(3) | entries: index(3) pkHash(32) amount(5) | txs: 13 bytes
and the one public input is sha256(public data) mod r.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from l2.designs.zk.errors import MalformedTx
from l2.designs.zk.poseidon import P
from l2.designs.zk.state import (
    EMPTY_ENTRY,
    QueueEntry,
    State,
    Transfer,
    apply_entry,
    apply_fees,
    apply_transfer,
    empty_slot,
)


@dataclass(frozen=True)
class Shape:
    """A circuit's size: queue slots, transaction slots, tree depth."""

    n_queue: int
    n_tx: int
    depth: int

    @property
    def name(self) -> str:
        return f"batch_q{self.n_queue}_t{self.n_tx}_d{self.depth}"

    def data_length(self) -> int:
        return 75 + 40 * self.n_queue + 13 * self.n_tx


@dataclass(frozen=True)
class Batch:
    old_root: int
    new_root: int
    domain: int
    fee_index: int
    entries: tuple[QueueEntry, ...]  # the consumed ones, in queue order
    txs: tuple[Transfer, ...]         # the real ones
    shape: Shape
    new_state: State
    inputs: dict                      # the circuit's witness inputs

    def header(self) -> bytes:
        return (self.old_root.to_bytes(32, "big") + self.new_root.to_bytes(32, "big")
                + self.domain.to_bytes(8, "big") + self.fee_index.to_bytes(3, "big"))

    def tx_data(self) -> bytes:
        """What the operator posts: the transactions, then empty slots as zeros."""
        data = b"".join(tx.encode() for tx in self.txs)
        return data + b"\0" * (13 * self.shape.n_tx - len(data))

    def public_data(self) -> bytes:
        entries = b"".join(e.encode() for e in self.entries)
        entries += b"\0" * (40 * self.shape.n_queue - len(entries))
        return self.header() + entries + self.tx_data()

    @property
    def input_hash(self) -> int:
        return public_input(self.public_data())

    @property
    def withdrawals(self) -> list[tuple[int, int]]:
        return [(tx.from_, tx.amount) for tx in self.txs if tx.is_withdrawal]


def public_input(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest(), "big") % P


def build(state: State, entries: list[QueueEntry], txs: list[Transfer], *, fee_index: int, domain: int,
          shape: Shape) -> Batch:
    """Apply `entries` then `txs`, then the fees; raise the rule's error if any of them is invalid."""
    if state.depth != shape.depth:
        raise MalformedTx(f"the state has depth {state.depth}, the circuit {shape.depth}")
    if len(entries) > shape.n_queue or len(txs) > shape.n_tx:
        raise MalformedTx(f"{len(entries)} entries and {len(txs)} transactions do not fit {shape.name}")
    if not 0 <= domain < 1 << 64:
        raise MalformedTx("the domain is 64 bits")
    old_root = state.root
    q: dict[str, list] = {k: [] for k in ("qEnabled", "qIndex", "qPk", "qAmountF", "qLeafPk", "qLeafBalance",
                                          "qLeafNonce", "qChildren")}
    for slot in range(shape.n_queue):
        entry = entries[slot] if slot < len(entries) else EMPTY_ENTRY
        leaf = state.account(entry.index)
        for key, value in zip(q, (int(slot < len(entries)), entry.index, entry.pk, entry.amount_f, leaf.pk,
                                  leaf.balance, leaf.nonce, state.children(entry.index)), strict=True):
            q[key].append(value)
        if slot < len(entries):
            state = apply_entry(state, entry)
    t: dict[str, list] = {k: [] for k in ("txFrom", "txTo", "txAmountF", "txFeeF", "txNonce", "txAx", "txAy",
                                          "txS", "txR8x", "txR8y", "txFromPk", "txFromBalance", "txFromNonce",
                                          "txFromChildren", "txToPk", "txToBalance", "txToNonce",
                                          "txToChildren")}
    fees = 0
    empty = empty_slot(domain)
    for slot in range(shape.n_tx):
        tx = txs[slot] if slot < len(txs) else empty
        sender = state.account(tx.from_)
        from_children = state.children(tx.from_)
        after = apply_transfer(state, tx, domain) if slot < len(txs) else state
        if slot < len(txs):
            fees += tx.fee
        # The receiver's leaf and path are read after the sender's update, as the circuit applies them.
        mid = after if tx.is_withdrawal or slot >= len(txs) else _sender_applied(state, tx)
        receiver = mid.account(tx.to)
        values = (tx.from_, tx.to, tx.amount_f, tx.fee_f, tx.nonce, tx.pub[0], tx.pub[1], tx.sig.s, tx.sig.r8[0],
                  tx.sig.r8[1], sender.pk, sender.balance, sender.nonce, from_children, receiver.pk,
                  receiver.balance, receiver.nonce, mid.children(tx.to))
        for key, value in zip(t, values, strict=True):
            t[key].append(value)
        state = after
    fee_account = state.account(fee_index)
    fee_children = state.children(fee_index)
    state = apply_fees(state, fee_index, fees)
    inputs = {"oldRoot": old_root, "newRoot": state.root, "domain": domain, "feeIndex": fee_index, **q, **t,
              "feePk": fee_account.pk, "feeBalance": fee_account.balance, "feeNonce": fee_account.nonce,
              "feeChildren": fee_children}
    return Batch(old_root, state.root, domain, fee_index, tuple(entries), tuple(txs), shape, state, inputs)


def _sender_applied(state: State, tx: Transfer) -> State:
    from dataclasses import replace

    sender = state.account(tx.from_)
    return state.with_account(tx.from_, replace(sender, balance=sender.balance - tx.amount - tx.fee,
                                                nonce=sender.nonce + 1))
