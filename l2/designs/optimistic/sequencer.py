"""The optimistic rollup's sequencer: takes signed transfers, checks each signature with its sender's
registered key and each transfer with the rules, groups them into commitments of at most k with one
aggregate signature and one root each, and posts batches (queue commitments first, for the entries
Layer 1 queued since the last batch).

Signatures are checked per commitment, not per transfer: one aggregate check over k transfers (one
Miller loop per distinct key, one final exponentiation) costs ~0.13 ms a transfer against ~0.9 ms for
checking each alone. If the aggregate fails, each signature is checked alone and the bad ones are
dropped with every later transfer of the same sender (their nonces followed the dropped one), so a bad
signature never reaches Layer 1 and never spoils anyone else's transfer.

A transfer is acknowledged once it is in the journal (SQLite, fsynced): `submit` returns after the
commit. Nothing else needs storing: the state is rebuilt from Layer 1 the way the challenger rebuilds
it (`check_batch`), and the journal's transfers are then admitted again in order, except those whose
nonce Layer 1's state has passed (they are there). So a SIGKILL at any point loses no acknowledged
transfer and cannot post one twice: a batch names the root it builds on (`expectedPrevRoot`), and a
second post of the same transfers on a newer root would need their old nonces. The same rebuild
follows a fraud proof that reverted batches: their transfers are admitted again if they still apply
(a transfer's signature binds its nonce, not its batch), the others dropped with the reason.

`fault` makes it cheat in its next transfer commitment, for tests, the demo and the gas report (see
`FAULTS`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from l2.core import bls
from l2.core.crypto import keccak
from l2.designs.optimistic.challenger import Challenger, check_batch
from l2.designs.optimistic.encoding import (
    MAX_QUEUE_COUNT,
    QueueCommitment,
    Transfer,
    TransferCommitment,
)
from l2.designs.optimistic.errors import (
    BadSignature,
    InvalidTransaction,
    MalformedTransaction,
    SequencerStorageError,
    UnknownAccount,
    UnknownToken,
    WrongNonce,
)
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.state import State, apply_transfer, apply_transfers, pay_fees, queue_outcomes
from l2.runtime.service import Event
from l2.runtime.store import Store

# What `fault` can make it do in its next transfer commitment (tests, the demo, the gas report):
FAULTS = {
    "print_money": "its root credits its own fee account 1 ETH more than the fees: the transition proof",
    "wrong_root": "its root is no state at all: the transition proof",
    "bad_signature": "its aggregate signature misses its signers: the signature proof",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    seq INTEGER PRIMARY KEY,               -- acceptance order
    body BLOB NOT NULL,                    -- the 8-byte transfer
    nonce INTEGER NOT NULL,
    signature BLOB NOT NULL,               -- 48 bytes, compressed G1
    accepted_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'posted', 'dropped')),
    batch INTEGER,                         -- the batch that posted it (NULL if a crash hid which one)
    reason TEXT                            -- why it was dropped
);
CREATE INDEX IF NOT EXISTS transfers_by_status ON transfers (status, seq);
CREATE TABLE IF NOT EXISTS resyncs (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    tip BLOB NOT NULL,                     -- the Layer-1 tip it rebuilt to
    readmitted INTEGER NOT NULL,
    dropped INTEGER NOT NULL
);
"""


class Accepted(int):
    """What `submit` returns: the transfer's place in the journal (an int), shown as what it means."""

    def __repr__(self) -> str:
        return f"<accepted by the sequencer as #{int(self)}: in its next batch>"


@dataclass(frozen=True)
class Pending:
    """A transfer the sequencer accepted and journaled, waiting for a batch."""

    transfer: Transfer
    nonce: int
    signature: bytes
    seq: int = 0  # its journal row
    accepted_at: float = 0.0
    token: int = 0  # its sender's account's: the token of the commitment it goes in


@dataclass(frozen=True)
class Posted:
    """What the sequencer's last batch held."""

    index: int
    queue_entries: int
    transfers: int
    commitments: int
    receipt: object

    def summary(self) -> str:
        parts = []
        if self.queue_entries:
            parts.append(f"{self.queue_entries} queue entr{'y' if self.queue_entries == 1 else 'ies'}")
        if self.transfers:
            parts.append(f"{self.transfers} transfer{'s' if self.transfers != 1 else ''} in {self.commitments} "
                         f"commitment{'s' if self.commitments != 1 else ''}")
        return " and ".join(parts)


class Sequencer:
    """A `Service`: `submit` takes transfers; `step` posts what is pending as one batch once `max_batch`
    transfers wait or the oldest has waited `max_age` seconds (at once if urgent)."""

    def __init__(self, client: RollupClient, proposer: LocalAccount, fee_receiver: int | dict[int, int],
                 db_path: str | Path,
                 name: str = "sequencer", *, max_batch: int = 1024, max_age: float = 0.0,
                 fault: str | None = None):
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: choose one of {', '.join(sorted(FAULTS))}")
        self.client, self.proposer, self.name = client, proposer, name
        # A commitment pays its fees to one account, so all its transfers are in that account's token: one
        # fee account per token the sequencer takes (an int: ETH only).
        self.fee_receivers = fee_receiver if isinstance(fee_receiver, dict) else {0: fee_receiver}
        self.max_batch, self.max_age, self.fault = max_batch, max_age, fault
        self.store = Store(db_path, _SCHEMA, kind="optimistic sequencer", version=2, error=SequencerStorageError)
        self.store.claim("rollup", f"{client.chain.chain_id}:{client.address}")
        self.db = self.store.db
        self.replica = Challenger(client, proposer, name)  # its sync and replay, never its proofs
        self.keys: dict[bytes, bytes] = {}
        self.last_resync: dict[str, int] = {}
        self.last_posted: Posted | None = None
        self.resync()

    def close(self) -> None:
        self.store.close()

    # --- state ----------------------------------------------------------------------------------

    def resync(self) -> dict[str, int]:
        """Start again from what Layer 1 holds (the tip state, the queue head), then admit the journal's
        transfers again in order: those Layer 1 already has are marked posted, those that no longer apply
        dropped with the reason. Returns the counts (also kept in `resyncs`)."""
        queue = self.client.queue_entries()
        state = self.replica.genesis
        self.keys = self.client.keys()
        # (sender, nonce) -> the transfer Layer 1 holds with that nonce: a journaled transfer whose nonce
        # Layer 1 has used was posted only if it is that very transfer (another proposer may have posted
        # another one its sender signed with the same nonce).
        held: dict[tuple[int, int], bytes] = {}
        nonces: dict[int, int] = {}
        for batch in self.replica.standing():
            state, fraud = check_batch(batch, state, queue, self.client.domain, self.keys.__getitem__)
            if fraud is not None:  # its own cheating, not yet proven: build on the last honest state
                break
            for commitment in batch.commitments:
                for tx in getattr(commitment, "transfers", ()):  # a queue commitment moves no nonce
                    if tx.sender not in nonces:
                        genesis = self.replica.genesis.account(tx.sender)
                        nonces[tx.sender] = genesis.nonce if genesis is not None else 0
                    held[(tx.sender, nonces[tx.sender])] = tx.encode()
                    nonces[tx.sender] += 1
        self.tip = state
        self.queue_head = self.client.queue_head()
        self.posted_tip = self.client.tip_root()
        # Open commitments, one per token: transfers of different tokens touch different accounts, so each
        # can close on its own, on top of those closed before it, and replay as it was checked.
        self.open: dict[int, list[Pending]] = {}
        self.closed_state = self.open_state = self.tip  # after the closed commitments; and the open transfers
        self.dropped: list[tuple[Pending, str]] = []
        self.closed: list[tuple[TransferCommitment, State, list[Pending]]] = []
        counts = {"readmitted": 0, "dropped": 0, "on_layer_1": 0}
        rows = self.db.execute("SELECT seq, body, nonce, signature, accepted_at, status FROM transfers "
                               "WHERE status != 'dropped' ORDER BY seq").fetchall()
        changes: list[tuple[str, str | None, int]] = []
        for seq, body, nonce, signature, accepted_at, status in rows:
            accepted = Pending(Transfer.decode(body), nonce, bytes(signature), seq, accepted_at)
            sender = accepted.transfer.sender
            on_l1 = self.tip.account(sender)
            if on_l1 is not None and nonce < on_l1.nonce:
                if held.get((sender, nonce)) == bytes(body):
                    counts["on_layer_1"] += 1
                    if status != "posted":
                        changes.append(("posted", None, seq))
                else:
                    reason = f"account {sender}'s nonce {nonce} went to another transfer on Layer 1"
                    counts["dropped"] += 1
                    self.dropped.append((accepted, reason))
                    changes.append(("dropped", reason, seq))
                continue
            try:
                self._admit(accepted)
            except InvalidTransaction as exc:
                counts["dropped"] += 1
                changes.append(("dropped", f"no longer valid after Layer 1 moved: {exc}", seq))
                continue
            counts["readmitted"] += status == "posted"
            if status != "pending":
                changes.append(("pending", None, seq))
        with self.store.transaction() as db:
            db.executemany("UPDATE transfers SET status = ?, reason = ? WHERE seq = ?", changes)
            if counts["readmitted"] or counts["dropped"]:
                db.execute("INSERT INTO resyncs (at, tip, readmitted, dropped) VALUES (?, ?, ?, ?)",
                           (time.time(), self.posted_tip, counts["readmitted"], counts["dropped"]))
        self.last_resync = counts
        return counts

    def nonce_of(self, account: int) -> int:
        a = self.open_state.account(account)
        if a is None:
            raise UnknownAccount(f"account {account} does not exist (yet)")
        return a.nonce

    def pending_count(self) -> int:
        return len(self._waiting())

    def _waiting(self) -> list[Pending]:
        """Every accepted transfer not posted yet, in acceptance order."""
        closed = [a for _, _, accepted in self.closed for a in accepted]
        return closed + sorted((a for lst in self.open.values() for a in lst), key=lambda a: a.seq)

    # --- intake ---------------------------------------------------------------------------------

    def submit(self, transfer: Transfer, nonce: int, signature: bytes) -> Accepted:
        """Take a transfer signed for `nonce` and journal it, or raise the InvalidTransaction saying why
        (nothing kept). Its signature is checked with its commitment's (see the module's doc); a bad one is
        dropped then. Returns its place in the journal."""
        # Off the wire any of the three may be anything: refuse it naming it, before bytes() or the journal
        # gives it a meaning (bytes(48) is 48 zero bytes; a float nonce would be journaled as it is).
        if not isinstance(transfer, Transfer):
            raise MalformedTransaction(f"transfer must be a Transfer, not {type(transfer).__name__}")
        if not isinstance(nonce, int) or isinstance(nonce, bool) or nonce < 0:
            raise MalformedTransaction(f"nonce must be a non-negative integer, not {nonce!r}"[:120])
        if not isinstance(signature, (bytes, bytearray)):
            raise MalformedTransaction(f"signature must be bytes, not {type(signature).__name__}")
        accepted = Pending(transfer, nonce, bytes(signature), 0, time.time())
        pending = self._check(accepted)
        with self.store.transaction() as db:
            seq = db.execute("INSERT INTO transfers (body, nonce, signature, accepted_at) VALUES (?, ?, ?, ?)",
                             (transfer.encode(), nonce, accepted.signature, accepted.accepted_at)).lastrowid
        assert seq is not None
        sender = self.open_state.account(transfer.sender)
        assert sender is not None  # _check found it
        token = sender.token
        self._take(Pending(transfer, nonce, accepted.signature, seq, accepted.accepted_at, token), pending)
        return Accepted(seq)

    def _admit(self, accepted: Pending) -> None:
        state = self._check(accepted)
        token = self.open_state.account(accepted.transfer.sender).token  # type: ignore[union-attr]
        self._take(Pending(accepted.transfer, accepted.nonce, accepted.signature, accepted.seq, accepted.accepted_at,
                           token), state)

    def _check(self, accepted: Pending) -> State:
        """The open state after `accepted`, or the InvalidTransaction it breaks; changes nothing."""
        transfer, nonce, signature = accepted.transfer, accepted.nonce, accepted.signature
        transfer.encode()  # MalformedTransaction / UnrepresentableAmount before anything else
        sender = self.open_state.account(transfer.sender)
        if sender is None:
            raise UnknownAccount(f"account {transfer.sender} does not exist")
        if nonce != sender.nonce:
            raise WrongNonce(f"nonce {nonce} is not account {transfer.sender}'s next nonce {sender.nonce}")
        if sender.key_hash not in self.keys:
            self.keys = self.client.keys()
            if sender.key_hash not in self.keys:
                raise BadSignature(f"account {transfer.sender}'s key is not registered on Layer 1")
        if len(signature) != bls.G1_COMPRESSED:
            raise BadSignature(f"a signature is {bls.G1_COMPRESSED} bytes (compressed G1), not {len(signature)}")
        if sender.token not in self.fee_receivers:
            raise UnknownToken(f"this sequencer takes no transfers in token {sender.token}: it has no fee account "
                               "for it")
        receiver = self.open_state.account(self.fee_receivers[sender.token])
        if receiver is None or receiver.token != sender.token:
            raise UnknownAccount(f"the fee receiver for token {sender.token}, account "
                                 f"{self.fee_receivers[sender.token]}, does not exist yet")
        state, _ = apply_transfer(self.open_state, transfer, receiver.token)
        return state

    def _take(self, accepted: Pending, state: State) -> None:
        self.open_state = state
        waiting = self.open.setdefault(accepted.token, [])
        waiting.append(accepted)
        if len(waiting) >= min(self.client.k, self.max_batch):  # a batch holds max_batch transfers at most
            self._close(accepted.token)

    def _verified(self, waiting: list[Pending]) -> list[Pending]:
        """The transfers of `waiting` (one open commitment) whose signatures hold, in order: all of them,
        checked as one aggregate, in the honest case; each one dropped is recorded with the reason."""
        domain = self.client.domain
        keys, messages, signatures = [], [], []
        for a in waiting:
            keys.append(self.keys[self.closed_state.account(a.transfer.sender).key_hash])  # type: ignore[union-attr]
            messages.append(a.transfer.message(domain, a.nonce))
            signatures.append(a.signature)
        try:
            if bls.verify_aggregate(keys, messages, bls.aggregate(signatures)):
                return waiting
        except bls.InvalidBlsPoint:
            pass
        kept, bad_senders = [], set()
        for a, key, message in zip(waiting, keys, messages, strict=True):
            if a.transfer.sender in bad_senders:
                self._drop(a, "an earlier transfer of its sender had a bad signature")
            elif not bls.verify(key, message, a.signature):
                bad_senders.add(a.transfer.sender)
                self._drop(a, "its signature is not its sender's over its nonce")
            else:
                kept.append(a)
        return kept

    def _close(self, token: int) -> None:
        """Close the open commitment of `token` (after checking its signatures, see `_verified`) on top of
        the closed ones. Its transfers touch only accounts of `token`, which the other open commitments
        never touch, so it replays on the closed state exactly as it was checked on the open one."""
        waiting = self.open.pop(token, [])
        if not waiting:
            return
        kept = self._verified(waiting)
        if kept:
            fee_receiver = self.fee_receivers[token]
            signature = bls.aggregate([a.signature for a in kept])
            draft = TransferCommitment(b"", signature, fee_receiver, tuple(a.transfer for a in kept))
            post, _ = apply_transfers(self.closed_state, draft)
            self.closed.append((TransferCommitment(post.root, signature, fee_receiver, draft.transfers), post, kept))
            self.closed_state = post
        # the open state again: the closed commitments (with their fees), then every transfer still open
        state = self.closed_state
        for a in sorted((a for lst in self.open.values() for a in lst), key=lambda a: a.seq):
            state, _ = apply_transfer(state, a.transfer, a.token)
        self.open_state = state

    def _close_all(self) -> None:
        for token in sorted(self.open):
            self._close(token)

    # --- posting --------------------------------------------------------------------------------

    def due(self, now: float | None = None) -> bool:
        """Whether a batch is due: `max_batch` transfers waiting, or the oldest waited `max_age` seconds."""
        waiting = self._waiting()
        if not waiting:
            return False
        now = time.time() if now is None else now
        return len(waiting) >= self.max_batch or now - min(a.accepted_at for a in waiting) >= self.max_age

    def step(self, urgent: bool = False) -> list[Event]:
        """One round: rebuild from Layer 1 if it moved under us (a fraud proof reverted batches, another
        proposer posted), top the bond up, then post queue entries and due transfers as one batch."""
        events: list[Event] = []
        if self.client.tip_root() != self.posted_tip:
            counts = self.resync()
            events.append(Event(self.name, f"re-synced with Layer 1 (its tip moved): {counts['readmitted']} "
                                           f"reverted transfer(s) admitted again, {counts['dropped']} dropped as no "
                                           "longer valid"))
        if self.tip.root != self.posted_tip:  # Layer 1 holds a batch its replay refuses: nothing builds on it
            return events + [Event(self.name, "waiting: Layer 1's tip is a batch that does not replay; a challenger "
                                              "must prove it before anything can be posted on it")]
        entries = self.client.queue_entries(self.queue_head)[:MAX_QUEUE_COUNT * 4]
        if not entries and not (urgent or self.due()):
            return events
        commitments: list = []
        state = self.tip
        for start in range(0, len(entries), MAX_QUEUE_COUNT):
            state, ok = queue_outcomes(state, entries[start:start + MAX_QUEUE_COUNT])
            commitments.append(QueueCommitment(state.root, len(ok), ok))
        if entries:  # what waits was checked on the old tip: admit it again after the queue (a forced
            self._readmit(state)  # withdrawal may have emptied a sender)
        self._close_all()
        transfers: list = []  # whole commitments, in order, up to max_batch transfers (at least one)
        for closed in self.closed:
            if transfers and sum(len(a) for _, _, a in transfers) + len(closed[2]) > self.max_batch:
                break
            transfers.append(closed)
        for commitment, after, _ in transfers:
            commitments.append(self._cheat(commitment, after))
            state = after
        if not commitments:
            return events
        bond, minimum = self.client.bond(self.proposer.address), self.client.contract.functions.minBond().call()
        if bond < minimum:
            self.client.deposit_bond(self.proposer, minimum - bond)
            events.append(Event(self.name, "bond topped up to the minimum"))
        receipt = self.client.submit_batch(self.proposer, commitments, self.queue_head, prev_root=self.tip.root)
        (posted,) = self.client.chain.events(receipt, self.client.contract, "BatchSubmitted")
        posted_seqs = [(posted.index, a.seq) for _, _, accepted in transfers for a in accepted]
        with self.store.transaction() as db:  # a crash before this commit is found again by `resync`
            db.executemany("UPDATE transfers SET status = 'posted', batch = ? WHERE seq = ?", posted_seqs)
        self.queue_head += len(entries)
        self.tip, self.posted_tip = state, self.client.tip_root()
        self.closed = self.closed[len(transfers):]  # the closed and open states already follow what waits
        self.last_posted = Posted(posted.index, len(entries), len(posted_seqs), len(transfers), receipt)
        events.append(Event(self.name, f"posted batch #{posted.index}: {self.last_posted.summary()}, "
                                       f"{receipt.gasUsed:,} gas"))
        return events

    def _readmit(self, state: State) -> None:
        """Admit every waiting transfer again on `state`, in order; those it makes invalid are dropped."""
        waiting = self._waiting()
        self.open, self.closed, self.open_state, self.closed_state = {}, [], state, state
        for a in waiting:
            try:
                self._admit(a)
            except InvalidTransaction as exc:
                self._drop(a, f"no longer valid after the queue's entries: {exc}")

    def _drop(self, accepted: Pending, reason: str) -> None:
        self.dropped.append((accepted, reason))
        with self.store.transaction() as db:
            db.execute("UPDATE transfers SET status = 'dropped', reason = ? WHERE seq = ?", (reason, accepted.seq))

    def _cheat(self, commitment: TransferCommitment, after: State) -> TransferCommitment:
        fault, self.fault = self.fault, None
        if fault == "print_money":
            printed = pay_fees(after, commitment.fee_receiver, 10**18)
            return TransferCommitment(printed.root, commitment.signature, commitment.fee_receiver,
                                      commitment.transfers)
        if fault == "wrong_root":
            return TransferCommitment(keccak(b"not the root"), commitment.signature, commitment.fee_receiver,
                                      commitment.transfers)
        if fault == "bad_signature":
            forged = bls.BlsKey.from_secret(12345).sign(b"forged")
            return TransferCommitment(commitment.post_root, forged, commitment.fee_receiver, commitment.transfers)
        self.fault = fault
        return commitment
