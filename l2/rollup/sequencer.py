"""The sequencer: mempool, ordering, batches by size or age, posting, bond management.

Storage is a write-ahead log in SQLite (as raiden does): an accepted transaction is committed to
the `log` table before `submit` returns, so a crash never loses it; a batch is committed as
`built` before its L1 transaction is sent and marked `posted` after, and on restart a `built`
batch is re-sent only if Layer 1's tip is still its previous root (the contract's
`expectedPrevRoot` check refuses a double post anyway). Recovery is replay of the log through
the same `apply` as everyone else.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

from eth_account.signers.local import LocalAccount

from l2.errors import StorageError, TransactionReverted
from l2.rollup import batch as batch_mod
from l2.rollup import faults as faults_mod
from l2.rollup import txs
from l2.rollup.errors import BatchStateMismatch, UndecodableTransaction
from l2.rollup.l1 import RollupClient
from l2.rollup.state import State, apply, queue_op_for
from l2.rollup.txs import QueueEntry, QueueOp, Transfer, Withdraw

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queue (idx INTEGER PRIMARY KEY, kind INTEGER, addr TEXT, account_index INTEGER,
                                  token INTEGER, amount TEXT, timestamp INTEGER);
CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body BLOB, nonce INTEGER, queue_index INTEGER,
                                accepted_at REAL NOT NULL, batch INTEGER);
CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, prev_root BLOB, post_root BLOB, tx_count INTEGER,
                                    data BLOB, status TEXT NOT NULL, l1_tx BLOB);
"""


def encode_submission(tx: Transfer | Withdraw) -> bytes:
    """Wire format a wallet sends to the sequencer: the calldata encoding plus the signed nonce (u32)."""
    return tx.encode() + int(tx.nonce).to_bytes(4, "big")


def decode_submission(raw: bytes) -> Transfer | Withdraw:
    if len(raw) < 5:
        raise UndecodableTransaction(f"a submission is a transaction plus a 4-byte nonce; got {len(raw)} bytes")
    tx = txs.decode(raw[:-4])
    if isinstance(tx, QueueOp):
        raise UndecodableTransaction("QueueOps come from the L1 queue, not from users")
    return _with_nonce(tx, int.from_bytes(raw[-4:], "big"))


def _with_nonce(tx, nonce):
    return replace(tx, nonce=nonce)


class Sequencer:
    def __init__(self, rollup: RollupClient, proposer: LocalAccount, db_path: str | Path,
                 max_batch: int = 256, max_age: float = 30.0, fault: str | None = None):
        if fault is not None and fault not in faults_mod.FAULTS:
            raise ValueError(f"unknown fault mode {fault!r}; choose from {sorted(faults_mod.FAULTS)}")
        self.rollup = rollup
        self.proposer = proposer
        self.max_batch = max_batch
        self.max_age = max_age
        self.fault = fault
        self.db = sqlite3.connect(str(db_path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self._check_meta()
        self.state = State()
        self.roots: dict[int, bytes] = {}  # log seq -> post root
        self.bodies: dict[int, bytes] = {}
        self._replay()

    # --- storage ----------------------------------------------------------------------------

    def _check_meta(self):
        identity = f"{self.rollup.chain.chain_id}:{self.rollup.address}"
        row = self.db.execute("SELECT value FROM meta WHERE key='rollup'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('rollup', ?)", (identity,))
        elif row[0] != identity:
            raise StorageError(f"sequencer database belongs to rollup {row[0]}, not {identity}; use another file")

    def _entry(self, idx: int) -> QueueEntry:
        r = self.db.execute("SELECT idx, kind, addr, account_index, token, amount, timestamp FROM queue WHERE idx=?",
                            (idx,)).fetchone()
        return QueueEntry(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6])

    def _replay(self):
        for seq, body, nonce, queue_index in self.db.execute(
            "SELECT seq, body, nonce, queue_index FROM log ORDER BY seq"
        ).fetchall():
            if queue_index is not None:
                tx = queue_op_for(self.state, self._entry(queue_index))
            else:
                tx = _with_nonce(txs.decode(body), nonce)
            self.state, _ = apply(self.state, tx, self.rollup.domain)
            self.roots[seq] = self.state.root
            self.bodies[seq] = tx.encode()

    def next_queue_index(self) -> int:
        row = self.db.execute("SELECT MAX(idx) FROM queue").fetchone()
        return 0 if row[0] is None else row[0] + 1

    # --- mempool ----------------------------------------------------------------------------

    def submit(self, tx: Transfer | Withdraw | bytes) -> int:
        """Accept a signed transaction (object or wire bytes); returns its log sequence number.

        Raises an InvalidTransaction subclass (UndecodableTransaction, BadSignature, WrongNonce,
        InsufficientBalance, UnknownToken, UnknownAccount, ...) and stores nothing if it is refused.
        """
        if isinstance(tx, (bytes, bytearray)):
            tx = decode_submission(bytes(tx))
        if tx.nonce is None:
            raise UndecodableTransaction("a submitted transaction must carry the nonce it was signed for")
        new_state, _ = apply(self.state, tx, self.rollup.domain)
        body = tx.encode()
        cur = self.db.execute("INSERT INTO log (body, nonce, accepted_at) VALUES (?, ?, ?)",
                              (body, tx.nonce, time.time()))
        self.state = new_state
        self.roots[cur.lastrowid] = new_state.root
        self.bodies[cur.lastrowid] = body
        return cur.lastrowid

    def sync_queue(self) -> int:
        """Append new L1 queue entries (deposits, forced withdrawals) to the log, in queue order."""
        added = 0
        for entry in self.rollup.queue_entries(start=self.next_queue_index()):
            op = queue_op_for(self.state, entry)
            new_state, _ = apply(self.state, op, self.rollup.domain)
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO queue VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (entry.index, entry.kind, entry.addr, entry.account_index, entry.token, str(entry.amount),
                             entry.timestamp))
            cur = self.db.execute("INSERT INTO log (body, queue_index, accepted_at) VALUES (?, ?, ?)",
                                  (op.encode(), entry.index, time.time()))
            self.db.execute("COMMIT")
            self.state = new_state
            self.roots[cur.lastrowid] = new_state.root
            self.bodies[cur.lastrowid] = op.encode()
            added += 1
        return added

    def pending_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM log WHERE batch IS NULL").fetchone()[0]

    # --- bonds ------------------------------------------------------------------------------

    def ensure_bond(self) -> None:
        """Top the proposer's bond up to the contract's minimum."""
        fn = self.rollup.fn
        missing = fn.minBond().call() - fn.bonds(self.proposer.address).call()
        if missing > 0:
            self.rollup.deposit_bond(self.proposer, missing)

    def withdraw_bond(self):
        return self.rollup.withdraw_bond(self.proposer)

    # --- batches ----------------------------------------------------------------------------

    def tick(self, now: float | None = None):
        """Sync the queue, then post a batch if one is full or its oldest entry is older than max_age."""
        self.sync_queue()
        self.recover()
        row = self.db.execute("SELECT COUNT(*), MIN(accepted_at) FROM log WHERE batch IS NULL").fetchone()
        count, oldest = row
        now = time.time() if now is None else now
        if count and (count >= self.max_batch or now - oldest >= self.max_age):
            return self.post_batch()
        return None

    def post_batch(self):
        """Build the next batch from the log, commit it locally as `built`, send it, mark it `posted`."""
        self.recover()
        rows = self.db.execute(
            "SELECT seq, queue_index FROM log WHERE batch IS NULL ORDER BY seq LIMIT ?", (self.max_batch,)
        ).fetchall()
        if not rows:
            return None
        first = rows[0][0]
        prev = self.db.execute("SELECT MAX(seq) FROM log WHERE seq < ?", (first,)).fetchone()[0]
        prev_root = self.roots[prev] if prev is not None else State().root
        queue_start = self.db.execute(
            "SELECT COUNT(*) FROM log WHERE batch IS NOT NULL AND queue_index IS NOT NULL"
        ).fetchone()[0]
        pairs = [(self.bodies[seq], self.roots[seq]) for seq, _ in rows]
        if self.fault is not None:
            pairs = faults_mod.FAULTS[self.fault](self, prev_root, pairs)
            self.fault = None  # one faulty batch per run
        chunks = batch_mod.make_chunks(pairs, queue_start)
        data = batch_mod.encode(chunks)
        self.db.execute("BEGIN")
        cur = self.db.execute(
            "INSERT INTO batches (prev_root, post_root, tx_count, data, status) VALUES (?, ?, ?, ?, 'built')",
            (prev_root, chunks[-1].post_root, len(chunks), data),
        )
        batch_id = cur.lastrowid
        self.db.execute("UPDATE log SET batch=? WHERE seq BETWEEN ? AND ?", (batch_id, first, rows[-1][0]))
        self.db.execute("COMMIT")
        try:
            return self._send(batch_id, prev_root, len(chunks), data)
        except TransactionReverted:
            # Layer 1 refused it (no bond, stale tip, overdue queue entry): nothing was posted, so
            # give the transactions back to the mempool and forget the batch.
            self.db.execute("BEGIN")
            self.db.execute("UPDATE log SET batch=NULL WHERE batch=?", (batch_id,))
            self.db.execute("DELETE FROM batches WHERE id=?", (batch_id,))
            self.db.execute("COMMIT")
            raise

    def _send(self, batch_id: int, prev_root: bytes, tx_count: int, data: bytes):
        receipt = self.rollup.submit_batch(self.proposer, prev_root, tx_count, data)
        self.db.execute("UPDATE batches SET status='posted', l1_tx=? WHERE id=?", (bytes(receipt.transactionHash), batch_id))
        return receipt

    def recover(self) -> None:
        """Finish a batch left `built` by a crash: mark it posted if L1 has it, else send it once."""
        for batch_id, prev_root, post_root, tx_count, data in self.db.execute(
            "SELECT id, prev_root, post_root, tx_count, data FROM batches WHERE status='built' ORDER BY id"
        ).fetchall():
            tip = self.rollup.tip_root()
            if tip == bytes(post_root):
                self.db.execute("UPDATE batches SET status='posted' WHERE id=?", (batch_id,))
            elif tip == bytes(prev_root):
                try:
                    self._send(batch_id, bytes(prev_root), tx_count, bytes(data))
                except TransactionReverted as exc:
                    raise BatchStateMismatch(f"re-sending batch {batch_id} failed: {exc}") from None
            else:
                raise BatchStateMismatch(
                    f"batch {batch_id} is built locally but L1's tip {tip.hex()} is neither its previous nor its "
                    "post root; another proposer posted or the batch was reverted"
                )

    def posted_batches(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM batches WHERE status='posted'").fetchone()[0]

    def close(self):
        self.db.close()
