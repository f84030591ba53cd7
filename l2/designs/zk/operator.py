"""The zk-rollup's operator, a service: collects signed transfers, consumes the Layer-1 queue in order,
builds the witness, proves, and submits.

Every batch applies queue entries before its transfers, so the operator accepts a transfer on top of the
entries still queued on Layer 1 (a payment from an account whose registration waits in the queue is valid
now and is proven in the batch that consumes that registration, or a later one): queue entries only fill
fresh accounts or add to balances, so no accepted transfer becomes invalid when they are applied first.

Durability: a transfer is acknowledged only once it is in the operator's SQLite file (WAL, synchronous=FULL).
Nothing else is kept: on start the state is rebuilt from Layer 1 (`l1.rebuild_state`), and a stored transfer
whose nonce the rebuilt state has passed was in a verified batch. So a SIGKILL at any point loses no
acknowledged transfer, and cannot post a batch twice: a batch is bound to the root it starts from, so a
second copy of it fails on Layer 1 (InvalidProof) and the operator rebuilds instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from eth_account.signers.local import LocalAccount

from l2.designs.zk import babyjub
from l2.designs.zk.batch import Batch, build
from l2.designs.zk.circuit import Prover
from l2.designs.zk.errors import TxRejected
from l2.designs.zk.l1 import ZkRollupClient, rebuild_state, without_zero_bytes
from l2.designs.zk.state import State, Transfer, apply_entry, apply_transfer
from l2.errors import StorageError, TransactionReverted
from l2.runtime.service import Event
from l2.runtime.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    sender INTEGER NOT NULL, nonce INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (sender, nonce));
"""


def encode_transfer(tx: Transfer) -> str:
    return json.dumps([tx.from_, tx.to, tx.amount_f, tx.fee_f, tx.nonce, [str(c) for c in tx.pub],
                       [str(c) for c in tx.sig.r8], str(tx.sig.s)])


def decode_transfer(body: str) -> Transfer:
    f, t, a, fee, n, pub, r8, s = json.loads(body)
    return Transfer(f, t, a, fee, n, (int(pub[0]), int(pub[1])),
                    babyjub.Signature((int(r8[0]), int(r8[1])), int(s)))


class Operator:
    name = "zk_operator"  # as the sandbox names it: its events read [zk_operator] beside the other designs'

    def __init__(self, rollup: ZkRollupClient, account: LocalAccount, prover: Prover, db_path: str | Path, *,
                 fee_index: int = 0, max_age: float = 0.0):
        if prover.build.shape != rollup.shape:
            raise StorageError(f"the prover's circuit is {prover.build.shape.name}, the rollup's "
                               f"{rollup.shape.name}")
        self.rollup = rollup
        self.account = account
        self.prover = prover
        self.fee_index = fee_index
        self.max_age = max_age
        self.store = Store(db_path, SCHEMA, kind="zk-operator")
        self.store.claim("rollup", f"{rollup.chain.chain_id}:{rollup.address}")
        self.state: State = rebuild_state(rollup)
        self.pending: list[Transfer] = []
        self._projected = self.state  # state + the queued entries up to _queue_tail + pending transfers
        self._queue_tail = 0
        self._oldest: float | None = None
        self.last_batch: Batch | None = None
        self.last_proof: bytes = b""
        self.last_prove_s = 0.0  # the witness and the proof of the last batch
        self._reload()

    def _with_queue(self, state: State) -> State:
        """`state` with every entry still queued on Layer 1 applied, in order."""
        queued = self.rollup.queued()
        for _, entry in queued:
            state = apply_entry(state, entry)
        self._queue_tail = queued[-1][0] + 1 if queued else self.rollup.queue_bounds()[1]
        return state

    def _follow_queue(self) -> None:
        """Add the entries queued on Layer 1 since the last look to the projection (they apply first)."""
        _head, tail = self.rollup.queue_bounds()
        for _, entry in self.rollup.queued(start=self._queue_tail) if tail > self._queue_tail else []:
            self._projected = apply_entry(self._projected, entry)
        self._queue_tail = max(self._queue_tail, tail)

    def _reload(self) -> None:
        """Pending = stored transfers the verified state has not consumed, re-checked in nonce order."""
        rows = self.store.db.execute("SELECT body FROM transfers ORDER BY rowid").fetchall()
        self.pending, self._projected = [], self._with_queue(self.state)
        stale = []
        for (body,) in rows:
            tx = decode_transfer(body)
            if tx.nonce < self.state.account(tx.from_).nonce:
                stale.append((tx.from_, tx.nonce))
                continue
            try:
                self._projected = apply_transfer(self._projected, tx, self.rollup.domain)
                self.pending.append(tx)
            except TxRejected:
                stale.append((tx.from_, tx.nonce))
        with self.store.transaction() as db:
            db.executemany("DELETE FROM transfers WHERE sender = ? AND nonce = ?", stale)
        self._oldest = time.monotonic() if self.pending else None

    # --- the users' side ----------------------------------------------------------------------------

    def submit(self, tx: Transfer) -> None:
        """Accept a signed transfer once it is valid after everything pending (queue entries included), and
        durable. An overspend, a bad nonce or a forged signature is refused here (TxRejected, BadSignature):
        no proof could exist."""
        self._follow_queue()
        projected = apply_transfer(self._projected, tx, self.rollup.domain)
        with self.store.transaction() as db:
            db.execute("INSERT INTO transfers VALUES (?, ?, ?)", (tx.from_, tx.nonce, encode_transfer(tx)))
        self._projected = projected
        self.pending.append(tx)
        if self._oldest is None:
            self._oldest = time.monotonic()

    def nonce(self, index: int) -> int:
        self._follow_queue()
        return self._projected.account(index).nonce

    def balance(self, index: int) -> int:
        """The balance once everything accepted is proven: queued deposits and pending transfers included."""
        self._follow_queue()
        return self._projected.account(index).balance

    def pending_count(self) -> int:
        return len(self.pending) + len(self.rollup.queued())

    # --- the service ------------------------------------------------------------------------------

    def step(self, urgent: bool = False) -> list[Event]:
        """Post one batch if anything waits (now if urgent, a full batch, or one older than max_age)."""
        if self.rollup.frozen():
            return []
        queued = self.rollup.queued()
        shape = self.rollup.shape
        if not queued and not self.pending:
            return []
        full = len(queued) >= shape.n_queue or len(self.pending) >= shape.n_tx
        old = self._oldest is not None and time.monotonic() - self._oldest >= self.max_age
        if not (urgent or full or old or queued):
            return []
        return self.post_batch()

    def post_batch(self) -> list[Event]:
        shape = self.rollup.shape
        entries = [entry for _, entry in self.rollup.queued()[:shape.n_queue]]
        txs = self.pending[:shape.n_tx] if not entries else []
        if entries:
            # The batch's entries first, then the pending transfers valid after them, in order: one that
            # needs an entry queued behind this batch's stops the rest (nonces keep their order) until a later one;
            # so does a fee while the fee account's own registration is still behind them.
            fit: list[Transfer] = []
            trial = self.state
            for entry in entries:
                trial = apply_entry(trial, entry)
            for tx in self.pending[:shape.n_tx]:
                if tx.fee and not trial.account(self.fee_index).pk:
                    break
                try:
                    trial = apply_transfer(trial, tx, self.rollup.domain)
                except TxRejected:
                    break
                fit.append(tx)
            txs = fit
        batch = build(self.state, entries, txs, fee_index=self.fee_index, domain=self.rollup.domain, shape=shape)
        load_s = self.prover.start()  # the first proof of a process loads the proving key: not the proof's time
        started = time.perf_counter()
        proof = self.prover.prove(batch.inputs)
        prove_s = self.last_prove_s = time.perf_counter() - started
        proof = without_zero_bytes(proof, self.prover.verifying_key())  # the same gas for the same batch
        try:
            receipt = self.rollup.submit(self.account, batch, proof)
        except TransactionReverted as exc:
            # The root moved under us (another copy of this operator posted first): start over from Layer 1.
            self.state = rebuild_state(self.rollup)
            self._reload()
            return [Event(self.name, f"batch refused by Layer 1 ({exc.error_name}); state rebuilt from Layer 1")]
        self.state = batch.new_state
        self.last_batch, self.last_proof = batch, proof
        done = {(tx.from_, tx.nonce) for tx in txs}
        with self.store.transaction() as db:
            db.executemany("DELETE FROM transfers WHERE sender = ? AND nonce = ?", sorted(done))
        self.pending = [tx for tx in self.pending if (tx.from_, tx.nonce) not in done]
        self._projected = self._with_queue(self.state)
        for tx in self.pending:  # still valid: they were checked in this order on top of what was proven
            self._projected = apply_transfer(self._projected, tx, self.rollup.domain)
        self._oldest = time.monotonic() if self.pending else None
        withdrawals = sum(1 for tx in txs if tx.is_withdrawal)
        loaded = f" (after loading the proving key: {load_s:.1f} s)" if load_s else ""
        return [Event(self.name, f"batch #{self.rollup.batch_count()} proven in {prove_s:.1f} s{loaded} and verified "
                                 f"on Layer 1: {len(entries)} queue entr{'y' if len(entries) == 1 else 'ies'}, "
                                 f"{len(txs)} transaction(s) ({withdrawals} withdrawal(s)), gas {receipt.gasUsed:,}")]

    def close(self) -> None:
        self.store.close()
