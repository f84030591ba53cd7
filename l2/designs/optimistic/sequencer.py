"""The sequencer: mempool, ordering, batches by size or age, posting, bond management.

Storage is a write-ahead log in SQLite (as raiden does): an accepted transaction is committed to
the `log` table before `submit` returns, so a crash never loses it; a batch is committed as
`built` before its L1 transaction is sent and marked `posted` after, and on restart a `built`
batch is re-sent only if Layer 1's tip is still its previous root (the contract's
`expectedPrevRoot` check refuses a double post anyway). Recovery is replay of the log through
the same `apply` as everyone else.

When Layer 1 stops matching the log (a fraud proof reverted our batches, or another proposer
posted after the inclusion window), `resync` rebuilds the standing state with the challenger's own
code, adopts the other proposers' batches into the log, and puts our unposted transactions back in
the mempool (dropping, with the reason recorded, those that are no longer valid). The whole
rewrite is one SQLite transaction, so a crash mid-recovery leaves the old log and the next start
simply recovers again; reverted batches are marked `reverted` and never re-sent.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from eth_account.signers.local import LocalAccount

from l2.designs.optimistic import batch as batch_mod
from l2.designs.optimistic import faults as faults_mod
from l2.designs.optimistic import txs
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.errors import (
    BatchStateMismatch,
    InvalidTransaction,
    MalformedTransaction,
    UndecodableTransaction,
    UnknownAccount,
)
from l2.designs.optimistic.l1 import PostedBatch, RollupClient
from l2.designs.optimistic.state import State, apply, queue_op_for
from l2.designs.optimistic.txs import CollectFees, QueueEntry, QueueOp, Transfer, Withdrawal
from l2.errors import TransactionReverted
from l2.output import gas
from l2.runtime.service import Event
from l2.runtime.store import Store

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (idx INTEGER PRIMARY KEY, kind INTEGER, addr TEXT, account_index INTEGER,
                                  token INTEGER, amount TEXT, timestamp INTEGER);
CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body BLOB, nonce INTEGER, queue_index INTEGER,
                                accepted_at REAL NOT NULL, batch INTEGER);
CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, prev_root BLOB, post_root BLOB, tx_count INTEGER,
                                    data BLOB, status TEXT NOT NULL, l1_tx BLOB, proposer TEXT, queue_hash BLOB);
CREATE TABLE IF NOT EXISTS recoveries (id INTEGER PRIMARY KEY, at REAL NOT NULL, l1_tip BLOB, reverted TEXT,
                                       adopted TEXT, requeued INTEGER, dropped INTEGER);
CREATE TABLE IF NOT EXISTS dropped (recovery INTEGER, body BLOB, nonce INTEGER, reason TEXT NOT NULL);
"""
# batches.status: 'built' (committed locally, maybe not on L1), 'posted' (ours, on L1), 'adopted'
# (another proposer's, on L1, its transactions in our log), 'reverted' (not on L1 and never re-sent).
_ON_L1 = "('posted', 'adopted')"
# An entry this close to overdue when a batch is built may be overdue when the batch lands.
OVERDUE_MARGIN = 60


class Accepted(int):
    """A submission's position in the sequencer's log (an int), with a repr that says what it means."""

    def __repr__(self) -> str:
        return f"<accepted by the sequencer as #{int(self)}: in its next batch>"


def encode_submission(tx: Transfer | Withdrawal) -> bytes:
    """Wire format a wallet sends to the sequencer: the calldata encoding plus the signed nonce (u32)."""
    return tx.encode() + int(tx.nonce).to_bytes(4, "big")


def decode_submission(raw: bytes) -> Transfer | Withdrawal:
    if not isinstance(raw, (bytes, bytearray)):
        raise MalformedTransaction(f"a submission is bytes, got {type(raw).__name__}")
    if len(raw) < 5:
        raise UndecodableTransaction(f"a submission is a transaction plus a 4-byte nonce; got {len(raw)} bytes")
    tx = txs.decode(raw[:-4])
    if isinstance(tx, (QueueOp, CollectFees)):
        raise UndecodableTransaction("QueueOps come from the L1 queue and CollectFees from the proposer, "
                                     "not from users")
    return txs.attach(tx, int.from_bytes(raw[-4:], "big"))


class Sequencer:
    name = "sequencer"

    def __init__(self, rollup: RollupClient, proposer: LocalAccount, db_path: str | Path,
                 max_batch: int = 256, max_age: float = 30.0, fault: str | None = None, keep_bonded: bool = False):
        if fault is not None and fault not in faults_mod.FAULTS:
            raise ValueError(f"unknown fault mode {fault!r}; choose from {sorted(faults_mod.FAULTS)}")
        self.rollup = rollup
        self.proposer = proposer
        self.max_batch = max_batch
        self.max_age = max_age
        self.fault = fault
        self.keep_bonded = keep_bonded  # step() tops the bond up again after a slash
        self.store = Store(db_path, _SCHEMA, kind="optimistic sequencer")
        self.db = self.store.db
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(batches)")}
        if "proposer" not in columns:
            self.db.execute("ALTER TABLE batches ADD COLUMN proposer TEXT")  # databases from before CollectFees
        if "queue_hash" not in columns:
            self.db.execute("ALTER TABLE batches ADD COLUMN queue_hash BLOB")  # from before batches named it
        self._check_meta()
        self.genesis = State.genesis(rollup.tree_depth)
        self.state = self.genesis
        self.chained: list[int] = []  # chained hash of queue entries 0..k, as `OptimisticRollup.queue` holds them
        self.roots: dict[int, bytes] = {}  # log seq -> post root
        self.bodies: dict[int, bytes] = {}
        self._replay()

    # --- storage ----------------------------------------------------------------------------

    def _check_meta(self):
        self.store.claim("rollup", f"{self.rollup.chain.chain_id}:{self.rollup.address}")

    def _entry(self, idx: int) -> QueueEntry:
        r = self.db.execute("SELECT idx, kind, addr, account_index, token, amount, timestamp FROM queue WHERE idx=?",
                            (idx,)).fetchone()
        return QueueEntry(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6])

    def _replay(self):
        self.state, self.roots, self.bodies = self.genesis, {}, {}
        self.chained = []
        for idx in range(self.next_queue_index()):
            self._chain(self._entry(idx))
        for seq, body, nonce, queue_index, proposer in self.db.execute(
            "SELECT seq, body, nonce, queue_index, batches.proposer FROM log "
            "LEFT JOIN batches ON batches.id = log.batch "
            "ORDER BY seq"
        ).fetchall():
            # Replay the stored body, not a recomputed one: adopted batches of other proposers may
            # place accounts or encode amounts differently from what this sequencer would have.
            body = bytes(body)
            tx = self._tx(body, nonce, queue_index, proposer)
            self.state, _ = apply(self.state, tx, self.rollup.domain)
            self.roots[seq] = self.state.root
            self.bodies[seq] = body

    def _tx(self, body: bytes, nonce: int | None, queue_index: int | None, proposer: str | None = None) -> txs.Tx:
        """A logged transaction with its context; CollectFees rows are ours unless an adopted batch says otherwise."""
        entry = self._entry(queue_index) if queue_index is not None else None
        return txs.attach(txs.decode(body), nonce, entry, proposer or self.proposer.address)

    def next_queue_index(self) -> int:
        row = self.db.execute("SELECT MAX(idx) FROM queue").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def _chain(self, entry: QueueEntry) -> None:
        if entry.index != len(self.chained):
            raise BatchStateMismatch(f"queue entry {entry.index} arrived out of order (expected {len(self.chained)})")
        self.chained.append(txs.queue_hash(self.chained[-1] if self.chained else 0, entry))

    def queue_hash(self, length: int) -> bytes:
        """The chained hash of the first `length` queue entries as this sequencer applied them: a
        batch names it, so Layer 1 refuses the batch if a reorg changed any of those entries."""
        return txs.queue_hash_bytes(self.chained[length - 1] if length else 0)

    # --- mempool ----------------------------------------------------------------------------

    def submit(self, tx: Transfer | Withdrawal | bytes) -> Accepted:
        """Accept a signed transaction (object or wire bytes); returns its log sequence number.

        Raises an InvalidTransaction subclass (UndecodableTransaction, BadSignature, WrongNonce,
        InsufficientBalance, UnknownToken, UnknownAccount, ...) and stores nothing if it is refused.
        """
        if isinstance(tx, (bytes, bytearray)):
            tx = decode_submission(bytes(tx))
        txs.check_fields(tx)  # every field typed and in range before anything is applied or stored
        return Accepted(self._accept(tx, tx.nonce))

    def collect_fees(self) -> list[int]:
        """Queue a CollectFees for every token with fees in the pool, into the proposer's own L2 account
        (from where it withdraws them like any balance); returns their log sequence numbers."""
        index = self.state.index_of(self.proposer.address)
        if index is None:
            raise UnknownAccount(f"the proposer {self.proposer.address} has no L2 account to collect fees into; "
                                 "deposit to create one")
        return [self._accept(CollectFees(index, token, self.proposer.address), None)
                for token, amount in enumerate(self.state.fees) if amount]

    def _accept(self, tx: txs.Tx, nonce: int | None) -> int:
        new_state, _ = apply(self.state, tx, self.rollup.domain)
        body = tx.encode()
        seq = self._append(body, nonce, None, time.time())
        self.state = new_state
        self.roots[seq] = new_state.root
        self.bodies[seq] = body
        return seq

    def sync_queue(self) -> int:
        """Append new L1 queue entries (deposits, forced withdrawals) to the log, in queue order."""
        added = 0
        for entry in self.rollup.queue_entries(start=self.next_queue_index()):
            op = queue_op_for(self.state, entry)
            new_state, _ = apply(self.state, op, self.rollup.domain)
            with self.store.transaction():
                self.db.execute("INSERT INTO queue VALUES (?, ?, ?, ?, ?, ?, ?)", _queue_row(entry))
                seq = self._append(op.encode(), None, entry.index, time.time())
            self._chain(entry)
            self.state = new_state
            self.roots[seq] = new_state.root
            self.bodies[seq] = op.encode()
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

    # --- the service ------------------------------------------------------------------------

    def step(self, urgent: bool = False) -> list[Event]:
        """One round: pick up Layer-1 queue entries, top the bond up if it was slashed (`keep_bonded`),
        recover from Layer 1 if it moved, then post: everything pending now if `urgent`, else a batch
        once one is full or old enough (`tick`)."""
        events = []
        picked = self.sync_queue()
        if picked:
            events.append(Event(self.name, f"picked up {picked} Layer-1 queue entr{'y' if picked == 1 else 'ies'}"))
        if self.keep_bonded and self.rollup.fn.bonds(self.proposer.address).call() < self.rollup.fn.minBond().call():
            self.ensure_bond()
            events.append(Event(self.name, "bond topped up again after the slash"))
        seen = self.recoveries()[-1]["recovery"] if self.recoveries() else 0
        try:
            self.recover()
        finally:
            for r in self.recoveries(after=seen):
                gone = len(r["reverted"])
                events.append(Event(self.name,
                                    f"re-synced with Layer 1 ({gone} batch{'es' if gone != 1 else ''} of its "
                                    f"own reverted there): {r['requeued']} transaction(s) queued again, {r['dropped']} "
                                    "dropped as no longer valid"))
        while True:
            pending = self.pending_count()
            receipt = self.post_batch() if urgent else self.tick()
            if receipt is None:
                return events
            (posted,) = self.rollup.chain.events(receipt, self.rollup.contract, "BatchSubmitted")
            events.append(Event(self.name, f"posted batch #{posted.index}: {posted.txCount} transaction"
                                f"{'s' if posted.txCount != 1 else ''}, {gas(receipt.gasUsed)} gas"))
            if not urgent or self.pending_count() in (0, pending):
                return events

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

    def _batch_rows(self, queue_start: int) -> list[tuple[int, int | None]]:
        """The log rows of the next batch: `max_batch` of them, or more while queue entries are overdue.

        Layer 1 refuses a batch that leaves an overdue entry unconsumed unless it consumed at least
        `QUEUE_PROGRESS` entries, so overdue entries go in whatever `max_batch` says: the batch grows
        up to the QUEUE_PROGRESS-th queue op (or the first one not overdue). The log holds queue ops
        in queue order, so this drains any backlog, QUEUE_PROGRESS entries a batch at the least.
        """
        pending = self.db.execute("SELECT seq, queue_index FROM log WHERE batch IS NULL ORDER BY seq").fetchall()
        rows = pending[: self.max_batch]
        consumed = sum(1 for _, q in rows if q is not None)
        deadline = self.rollup.chain.now() + OVERDUE_MARGIN - self.rollup.inclusion_window
        rest = iter(pending[len(rows):])
        while consumed < self.rollup.queue_progress:
            cursor = queue_start + consumed
            if cursor >= self.next_queue_index() or self._entry(cursor).timestamp >= deadline:
                break  # the next entry is not overdue (or not known yet): no more is required
            for row in rest:
                rows.append(row)
                if row[1] is not None:
                    consumed += 1
                    break
            else:
                break
        return rows

    def post_batch(self):
        """Build the next batch from the log, commit it locally as `built`, send it, mark it `posted`."""
        self.recover()
        queue_start = self.db.execute(
            "SELECT COUNT(*) FROM log WHERE batch IS NOT NULL AND queue_index IS NOT NULL"
        ).fetchone()[0]
        rows = self._batch_rows(queue_start)
        if not rows:
            return None
        first = rows[0][0]
        prev = self.db.execute("SELECT MAX(seq) FROM log WHERE seq < ?", (first,)).fetchone()[0]
        prev_root = self.roots[prev] if prev is not None else self.genesis.root
        queue_hash = self.queue_hash(queue_start + sum(1 for _, q in rows if q is not None))
        pairs = [(self.bodies[seq], self.roots[seq]) for seq, _ in rows]
        if self.fault is not None:
            pairs = faults_mod.FAULTS[self.fault](self, prev_root, pairs)
            self.fault = None  # one faulty batch per run
        chunks = batch_mod.make_chunks(pairs, queue_start)
        data = batch_mod.encode(chunks)
        with self.store.transaction():
            cur = self.db.execute(
                "INSERT INTO batches (prev_root, post_root, tx_count, data, status, queue_hash) "
                "VALUES (?, ?, ?, ?, 'built', ?)",
                (prev_root, chunks[-1].post_root, len(chunks), data, queue_hash),
            )
            batch_id = cur.lastrowid
            self.db.execute("UPDATE log SET batch=? WHERE seq BETWEEN ? AND ?", (batch_id, first, rows[-1][0]))
        try:
            return self._send(batch_id, prev_root, len(chunks), data, queue_hash)
        except TransactionReverted:
            # Layer 1 refused it (no bond, stale tip, overdue queue entry): nothing was posted, so
            # give the transactions back to the mempool and forget the batch.
            with self.store.transaction():
                self.db.execute("UPDATE log SET batch=NULL WHERE batch=?", (batch_id,))
                self.db.execute("DELETE FROM batches WHERE id=?", (batch_id,))
            raise

    def _send(self, batch_id: int, prev_root: bytes, tx_count: int, data: bytes, queue_hash: bytes):
        receipt = self.rollup.submit_batch(self.proposer, prev_root, tx_count, data, queue_hash)
        self.db.execute("UPDATE batches SET status='posted', l1_tx=? WHERE id=?", (bytes(receipt.transactionHash),
                                                                                   batch_id))
        return receipt

    def recover(self) -> None:
        """Bring the log in line with Layer 1 before building on it.

        A batch left `built` by a crash is marked posted if L1 has it, or sent once if L1's tip is
        still its previous root. If L1 then holds other batches than the log says (ours reverted
        by a fraud proof, or another proposer posted), `resync` rebuilds from Layer 1.
        """
        for batch_id, prev_root, post_root, tx_count, data, queue_hash in self.db.execute(
            "SELECT id, prev_root, post_root, tx_count, data, queue_hash FROM batches WHERE status='built' ORDER BY id"
        ).fetchall():
            tip = self.rollup.tip_root()
            if tip == bytes(post_root):
                self.db.execute("UPDATE batches SET status='posted' WHERE id=?", (batch_id,))
            elif tip == bytes(prev_root):
                try:
                    self._send(batch_id, bytes(prev_root), tx_count, bytes(data), bytes(queue_hash))
                except TransactionReverted as exc:
                    raise BatchStateMismatch(f"re-sending batch {batch_id} failed: {exc}") from None
            else:
                break  # L1 moved on without it: resync re-queues its transactions
        if not self._in_sync():
            self.resync()

    def _in_sync(self) -> bool:
        """Cheap check (three calls) that L1 holds exactly the batches the log records as on L1 and the
        queue entries we applied, and nothing built waits."""
        count, last_root, built = self.db.execute(
            f"SELECT COUNT(*) FILTER (WHERE status IN {_ON_L1}), "
            f"(SELECT post_root FROM batches WHERE status IN {_ON_L1} ORDER BY id DESC LIMIT 1), "
            "COUNT(*) FILTER (WHERE status='built') FROM batches"
        ).fetchone()
        known = self.next_queue_index()
        return (not built and count == self.rollup.batch_count()
                and self.rollup.tip_root() == (self.genesis.root if last_root is None else bytes(last_root))
                and bytes(self.rollup.fn.queueHashAt(known).call()) == self.queue_hash(known))

    def resync(self) -> dict:
        """Rebuild the log from Layer 1 after a revert or another proposer's batch; returns a summary.

        The standing batches are re-executed by a `Challenger` (the same code that challenges fraud);
        ours that are no longer standing become `reverted`, other proposers' become `adopted` with
        their transactions in the log, every queue entry not consumed on L1 is queued again, and our
        unposted transactions go back to the mempool in their order if `apply` still accepts them.
        Raises BatchStateMismatch, changing nothing, while L1 holds an unchallenged fraudulent batch:
        no honest batch can be built on it.
        """
        challenger = Challenger(self.rollup)  # no account: it only rebuilds, never challenges
        challenger.sync()
        if challenger.frauds:
            fraud = challenger.frauds[0]
            raise BatchStateMismatch(f"Layer 1 batch {fraud.batch_index} is fraudulent ({fraud.reason}); "
                                     "wait until it is challenged and reverted")
        standing = [v.posted for v in challenger.verified]
        ours = self.db.execute(
            f"SELECT id, prev_root, post_root, l1_tx FROM batches WHERE status IN {_ON_L1} OR status='built' "
            "ORDER BY id"
        ).fetchall()
        keep = 0
        while keep < min(len(ours), len(standing)) and _same_batch(ours[keep], standing[keep]):
            keep += 1
        cut = self.db.execute(f"SELECT MAX(seq) FROM log WHERE batch IN ({','.join('?' * keep)})",
                              [r[0] for r in ours[:keep]]).fetchone()[0] or 0
        pending = self.db.execute("SELECT body, nonce, queue_index, accepted_at FROM log WHERE seq > ? ORDER BY seq",
                                  (cut,)).fetchall()
        reverted = [r[0] for r in ours[keep:]]
        now = time.time()
        # One transaction: a crash mid-recovery leaves the old log, and the next start recovers again.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for (batch_id, *_), posted in zip(ours[:keep], standing, strict=False):  # standing may be longer
                self.db.execute("UPDATE batches SET status='posted', l1_tx=? WHERE id=? AND status='built'",
                                (posted.tx_hash, batch_id))
            self.db.execute(f"UPDATE batches SET status='reverted' WHERE id IN ({','.join('?' * len(reverted))})",
                            reverted)
            self.db.execute("DELETE FROM log WHERE seq > ?", (cut,))
            # The queue as Layer 1 holds it now: a reorg may have changed or dropped entries we had.
            self.db.execute("DELETE FROM queue")
            for entry in challenger.entries.values():
                self.db.execute("INSERT INTO queue VALUES (?, ?, ?, ?, ?, ?, ?)", _queue_row(entry))
            adopted = [self._adopt(posted, now) for posted in standing[keep:]]
            state = challenger.state
            # Queue entries first: L1 queued them before, and some may already be near their deadline.
            head = standing[-1].header.queue_end if standing else 0
            for index in sorted(i for i in challenger.entries if i >= head):
                op = queue_op_for(state, challenger.entries[index])
                state, _ = apply(state, op, self.rollup.domain)
                self._append(op.encode(), None, index, now)
            cur = self.db.execute("INSERT INTO recoveries (at, l1_tip, reverted, adopted) VALUES (?, ?, ?, ?)",
                                  (now, self.rollup.tip_root(), ",".join(map(str, reverted)),
                                   ",".join(map(str, adopted))))
            recovery, requeued, dropped = cur.lastrowid, 0, 0
            for body, nonce, queue_index, accepted_at in pending:
                if queue_index is not None:
                    continue  # re-queued above from L1's own queue
                tx = self._tx(bytes(body), nonce, None)
                try:
                    state, _ = apply(state, tx, self.rollup.domain)
                except InvalidTransaction as exc:
                    log.warning("recovery %d drops transaction (nonce %s): %s", recovery, nonce, exc)
                    self.db.execute("INSERT INTO dropped VALUES (?, ?, ?, ?)", (recovery, body, nonce, str(exc)))
                    dropped += 1
                    continue
                self._append(bytes(body), nonce, None, accepted_at)  # keeps its age for max_age batching
                requeued += 1
            self.db.execute("UPDATE recoveries SET requeued=?, dropped=? WHERE id=?", (requeued, dropped, recovery))
            self._replay()
            batched = self.db.execute("SELECT MAX(seq) FROM log WHERE batch IS NOT NULL").fetchone()[0]
            if (self.roots[batched] if batched is not None else self.genesis.root) != challenger.state.root:
                raise BatchStateMismatch("the rebuilt log does not reproduce Layer 1's standing root")
        except Exception:
            self.db.execute("ROLLBACK")
            self._replay()
            raise
        self.db.execute("COMMIT")
        summary = {"recovery": recovery, "reverted": reverted, "adopted": adopted, "requeued": requeued,
                   "dropped": dropped}
        log.info("sequencer resynced with Layer 1: %s", summary)
        return summary

    def _adopt(self, posted: PostedBatch, now: float) -> int:
        """Record another proposer's standing batch and its transactions (as posted) in the log."""
        header = posted.header
        batch_id = self.db.execute(
            "INSERT INTO batches (prev_root, post_root, tx_count, data, status, l1_tx, proposer) "
            "VALUES (?, ?, ?, ?, 'adopted', ?, ?)",
            (header.prev_root, posted.post_root, header.tx_count, posted.data, posted.tx_hash, header.proposer),
        ).lastrowid
        for chunk in batch_mod.split(posted.data, header.queue_start):
            queue_index = chunk.queue_index if chunk.body[0] == txs.TX_QUEUE else None
            self._append(chunk.body, None, queue_index, now, batch_id)
        return batch_id

    def _append(self, body: bytes, nonce: int | None, queue_index: int | None, accepted_at: float,
                batch: int | None = None) -> int:
        return self.db.execute("INSERT INTO log (body, nonce, queue_index, accepted_at, batch) VALUES (?, ?, ?, ?, ?)",
                               (body, nonce, queue_index, accepted_at, batch)).lastrowid

    def recoveries(self, after: int = 0) -> list[dict]:
        """The resyncs with Layer 1 recorded after recovery id `after`, oldest first (see `resync`)."""
        return [
            {"recovery": rid, "reverted": [int(b) for b in reverted.split(",") if b],
             "adopted": [int(b) for b in adopted.split(",") if b], "requeued": requeued, "dropped": dropped}
            for rid, reverted, adopted, requeued, dropped in self.db.execute(
                "SELECT id, reverted, adopted, requeued, dropped FROM recoveries WHERE id > ? ORDER BY id", (after,))
        ]

    def posted_batches(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM batches WHERE status='posted'").fetchone()[0]

    def close(self):
        self.store.close()


def _same_batch(row, posted: PostedBatch) -> bool:
    """Whether our batch row is the standing batch `posted` (by L1 transaction, or by roots if the
    row was never marked posted because of a crash)."""
    _, prev_root, post_root, l1_tx = row
    if l1_tx is not None:
        return bytes(l1_tx) == posted.tx_hash
    return bytes(prev_root) == posted.header.prev_root and bytes(post_root) == posted.post_root


def _queue_row(entry: QueueEntry) -> tuple:
    return (entry.index, entry.kind, entry.addr, entry.account_index, entry.token, str(entry.amount), entry.timestamp)
