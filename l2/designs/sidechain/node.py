"""One validator: `python -m l2.designs.sidechain.node --config cluster.json --key-file key --db node.db`.

The shell around the consensus rules (`consensus.handle`): it owns the key, the SQLite database (blocks with
their commits, the votes it signed, the EVM state), the peer network and the JSON-RPC server, and turns the
rules' actions into signatures, messages, timers and commits. One thread decides (the loop in `run`); the
network's reader threads and the RPC server's threads only queue messages or read under `lock`.

Write-ahead, as raiden's state changes: a vote is stored (fsynced) before it is sent, and a restarted
validator that the rules ask for a different vote on the same height, round and type sends the stored one
instead (`EquivocationRefused` is logged), so no crash ever makes it equivocate; its stored precommit is
also its lock. A block is stored with its commit and its EVM state in one transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from eth_utils import to_checksum_address

from l2.core.crypto import Signer, recover
from l2.designs.sidechain import bridge
from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.bridge import Checkpoint
from l2.designs.sidechain.config import ClusterConfig
from l2.designs.sidechain.errors import (
    BlockRejected,
    CommitRejected,
    EquivocationRefused,
    SidechainConfigError,
    SidechainStorageError,
    SidechainViolation,
    TransactionRejected,
)
from l2.designs.sidechain.execution import Executed, Executor, SqliteKV
from l2.designs.sidechain.l1service import SUBMIT_GRACE, L1Service
from l2.designs.sidechain.messages import (
    NIL,
    PRECOMMIT,
    Block,
    Proposal,
    Vote,
    decode_block,
    decode_proposal,
    decode_vote,
    sign_proposal,
    sign_vote,
)
from l2.designs.sidechain.p2p import Network
from l2.errors import L2Error
from l2.runtime.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (height INTEGER PRIMARY KEY, hash BLOB NOT NULL, round INTEGER NOT NULL,
                                   body TEXT NOT NULL, precommits TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signed (height INTEGER NOT NULL, round INTEGER NOT NULL, type INTEGER NOT NULL,
                                   block BLOB NOT NULL, message TEXT NOT NULL, body TEXT,
                                   PRIMARY KEY (height, round, type));
CREATE TABLE IF NOT EXISTS evidence (id INTEGER PRIMARY KEY, height INTEGER NOT NULL, signer TEXT NOT NULL,
                                     first TEXT NOT NULL, second TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS burns (id INTEGER PRIMARY KEY, height INTEGER NOT NULL, token TEXT NOT NULL,
                                  recipient TEXT NOT NULL, amount TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS validator_sets (height INTEGER PRIMARY KEY, epoch INTEGER NOT NULL,
                                           validators TEXT NOT NULL);
"""
CHECKPOINT_WINDOWS = 4  # checkpoints past Layer 1's last one signed and gossiped at a time
MAX_EARLY_SIGNATURES = 1_000
PROPOSAL_TYPE = 0  # in `signed`, beside the vote types 1 and 2
MAX_DRIFT = 5  # seconds a proposed timestamp may run ahead of our clock (when it is not just parent + 1)
MAX_MEMPOOL = 10_000
MAX_TXS_PER_BLOCK = 500
MAX_FUTURE = 2_000  # messages for the next height kept until we get there
SYNC_BATCH = 32
GOSSIP_INTERVAL = 0.25


@dataclass
class PendingTx:
    raw: bytes
    sender: str
    nonce: int
    arrival: int


class Validator:
    def __init__(self, config: ClusterConfig, key: bytes, db_path: Path, *, log=None,
                 l1: L1Service | None = None):
        self.config = config
        self.signer = Signer(key)
        self.me = self.signer.address
        self.spec = config.node(self.me)
        self.domain = config.domain
        self.ctx = c.Context(config.validators, self.me, config.timing)
        self.log_file = log or sys.stderr
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.inbox: queue.Queue[dict] = queue.Queue(maxsize=20_000)
        self.local: deque = deque()  # our own signed messages, handled before the next inbox message
        self.timers: list[tuple[float, c.TimeoutFired]] = []
        self.executed: dict[bytes, Executed] = {}  # blocks of the current height we executed, by hash
        self.future: list[dict] = []
        self.mempool: dict[bytes, PendingTx] = {}
        self.arrivals = 0
        self.last_sync_request = 0.0
        self.peer_heights: dict[str, int] = {}
        self.l1 = l1  # None: no bridge, and a block carrying state syncs is refused (they cannot be checked)
        self.checkpoints: dict[int, Checkpoint] = {}  # by start: what we signed
        self.checkpoint_signatures: dict[int, dict[str, bytes]] = {}  # by start: signer -> signature
        self.quorum_since: dict[int, float] = {}
        self.early_signatures: list[dict] = []  # for checkpoints we have not reached yet
        self.store = Store(db_path, SCHEMA, kind="sidechain validator", error=SidechainStorageError)
        self.store.claim("chain_id", str(config.chain_id))
        self.store.claim("validator", self.me)
        self.executor = Executor(SqliteKV(self.store.db), config.genesis, transaction=self.store.transaction)
        self.store.claim("genesis_hash", "0x" + self.executor.header(0).hash.hex())
        self.epoch = 0  # the Layer-1 epoch whose validator set governs our next height (0: the genesis set)
        row = self.store.db.execute("SELECT epoch, validators FROM validator_sets ORDER BY height DESC LIMIT 1"
                                    ).fetchone()
        if row is not None:
            self.epoch = row[0]
            self.ctx = c.Context(_validator_set(json.loads(row[1])), self.me, config.timing)
        self.state, actions = self._resume()
        self.network: Network | None = None
        self._act(actions)

    # --- the loop ------------------------------------------------------------------------------------

    def start_network(self) -> None:
        peers = {n.address: n.p2p_port for n in self.config.nodes if n.address != self.me}
        self.network = Network(self.spec.p2p_port, peers, self._on_message)

    def _on_message(self, message: dict) -> None:
        try:
            self.inbox.put_nowait(message)
        except queue.Full:
            pass  # overloaded: peers re-broadcast what matters

    def run(self, until: threading.Event | None = None) -> None:
        stop = until or self.stopping
        next_gossip = 0.0
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_gossip:
                self._gossip()
                next_gossip = now + GOSSIP_INTERVAL
            self._fire_timers()
            while self.local:
                self._handle_event(self.local.popleft())
            wait = min([next_gossip - time.monotonic()] + [t - time.monotonic() for t, _ in self.timers])
            try:
                message = self.inbox.get(timeout=max(0.0, min(wait, 0.25)))
            except queue.Empty:
                continue
            try:
                self._handle_message(message)
            except SidechainViolation as exc:
                self.log(f"refused a message: {exc}")
            while self.local:
                self._handle_event(self.local.popleft())

    def log(self, text: str) -> None:
        print(f"[{self.me[:8]} h{self.state.height}/r{self.state.round}] {text}", file=self.log_file, flush=True)

    def _fire_timers(self) -> None:
        now = time.monotonic()
        due = [t for t in self.timers if t[0] <= now]
        if due:
            self.timers = [t for t in self.timers if t[0] > now]
            for _, event in sorted(due, key=lambda t: t[0]):
                self._handle_event(event)

    def _handle_event(self, event: c.Event) -> None:
        with self.lock:
            self.state, actions = c.handle(self.ctx, self.state, event)
            self._act(actions)

    # --- messages from peers -------------------------------------------------------------------------

    def _handle_message(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "vote":
            vote = decode_vote(message, self.domain)
            if self._defer(vote.height, message):
                return
            self._handle_event(c.VoteReceived(vote))
        elif kind == "proposal":
            proposal = decode_proposal(message, self.domain)
            if self._defer(proposal.height, message):
                return
            self._on_proposal(proposal)
        elif kind == "tx":
            raw = message.get("raw")
            if isinstance(raw, str):
                try:
                    self.add_transaction(bytes.fromhex(raw.removeprefix("0x")), gossip=False)
                except (TransactionRejected, ValueError):
                    pass  # already in, already included, or bad: the sender's own node told its user
        elif kind == "status":
            self._on_status(message)
        elif kind == "get_blocks":
            self._serve_blocks(message)
        elif kind == "blocks":
            self._on_blocks(message)
        elif kind == "checkpoint_sig":
            self._on_checkpoint_signature(message)

    def _defer(self, height: int, message: dict) -> bool:
        """Keep a message for the next height until we get there; drop older or further ones."""
        if height == self.state.height:
            return False
        if height == self.state.height + 1 and len(self.future) < MAX_FUTURE:
            self.future.append(message)
        return True

    def _on_proposal(self, proposal: Proposal) -> None:
        with self.lock:
            reason = c.accepts_proposal(self.ctx, self.state, proposal.height, proposal.round, proposal.signer)
            if reason is not None:
                return
            # The coinbase is the signer: the fees go to whoever really proposed.
            valid = proposal.block.proposer == proposal.signer and self._check_block(proposal.block, fresh=True)
            self._handle_event(c.ProposalReceived(proposal, valid))

    def _check_block(self, block: Block, *, fresh: bool) -> bool:
        if block.hash in self.executed:
            return True
        if fresh:
            head = self.executor.head()
            if block.timestamp != head.timestamp + 1 and block.timestamp > time.time() + MAX_DRIFT:
                self.log(f"block {block.height} timestamp {block.timestamp} is ahead of our clock")
                return False
        try:
            if fresh:
                self._check_state_syncs(block)
            self.executed[block.hash] = self.executor.execute(block)
            return True
        except BlockRejected as exc:
            self.log(f"block refused: {exc}")
            return False

    def _check_state_syncs(self, block: Block) -> None:
        """A proposal's state syncs against our own Layer-1 read (a block synced with a quorum's commit
        was checked by that quorum)."""
        if self.l1 is None:
            if block.syncs or block.set_update is not None:
                raise BlockRejected(f"block {block.height} carries state syncs or a set update and this validator "
                                    "reads no Layer 1")
            return
        bridge.check_state_syncs(self.executor.last_state_sync(), block.syncs, self.l1.final)
        bridge.check_set_update(self.epoch, block.set_update, self.l1.set_view)

    # --- acting on the rules' decisions --------------------------------------------------------------

    def _act(self, actions: list) -> None:
        for action in actions:
            if isinstance(action, c.ScheduleTimeout):
                self.timers.append((time.monotonic() + action.seconds,
                                    c.TimeoutFired(action.height, action.round, action.step)))
            elif isinstance(action, c.CastVote):
                self._cast(action)
            elif isinstance(action, c.BuildProposal):
                self._propose(action)
            elif isinstance(action, c.Commit):
                self._commit(action)
            elif isinstance(action, c.Equivocation):
                self._record_evidence(action.first, action.second)

    def _stored(self, height: int, round_: int, kind: int):
        return self.store.db.execute("SELECT block, message, body FROM signed WHERE height = ? AND round = ? "
                                     "AND type = ?", (height, round_, kind)).fetchone()

    def _cast(self, action: c.CastVote) -> None:
        row = self._stored(action.height, action.round, action.vote_type)
        if row is not None:
            if row[0] != action.block_hash:
                self.log(str(EquivocationRefused(
                    f"asked to vote 0x{action.block_hash.hex()[:8]} at {action.height}/{action.round} after "
                    f"signing 0x{row[0].hex()[:8]}: sending the stored vote")))
            message = json.loads(row[1])
        else:
            vote = sign_vote(self.signer, self.domain, action.height, action.round, action.vote_type,
                             action.block_hash)
            message = {"type": "vote", **vote.to_json()}
            body = None
            if action.vote_type == PRECOMMIT and action.block_hash != NIL and action.block_hash in self.executed:
                body = json.dumps(self.executed[action.block_hash].block.to_json())  # our lock, kept across crashes
            with self.store.transaction() as db:
                db.execute("INSERT INTO signed VALUES (?, ?, ?, ?, ?, ?)", (action.height, action.round,
                           action.vote_type, action.block_hash, json.dumps(message), body))
        self._send(message)
        self.local.append(c.VoteReceived(decode_vote(message, self.domain)))

    def _propose(self, action: c.BuildProposal) -> None:
        row = self._stored(action.height, action.round, PROPOSAL_TYPE)
        if row is not None:  # proposed before a crash: the same proposal again, never a second one
            message = json.loads(row[1])
            proposal = decode_proposal(message, self.domain)
            if not self._check_block(proposal.block, fresh=False):
                return
        else:
            if action.block_hash is not None:
                executed = self.executed.get(action.block_hash)
                if executed is None:
                    self.log(f"cannot re-propose 0x{action.block_hash.hex()[:8]}: its block is unknown here")
                    return
            else:
                head = self.executor.head()
                timestamp = max(head.timestamp + 1, int(time.time()))
                txs = self.executor.select(self._mempool_order(), timestamp, self.me)
                syncs = (bridge.next_state_syncs(self.executor.last_state_sync(), self.l1.final)
                         if self.l1 is not None else [])
                update = bridge.next_set_update(self.epoch, self.l1.set_view) if self.l1 is not None else None
                executed = self.executor.build(txs, timestamp, self.me, tuple(syncs), update)
                self.executed[executed.block.hash] = executed
            proposal = sign_proposal(self.signer, self.domain, action.round, action.valid_round, executed.block)
            message = {"type": "proposal", **proposal.to_json()}
            with self.store.transaction() as db:
                db.execute("INSERT INTO signed VALUES (?, ?, ?, ?, ?, NULL)", (action.height, action.round,
                           PROPOSAL_TYPE, proposal.block.hash, json.dumps(message)))
        self._send(message)
        self.local.append(c.ProposalReceived(proposal, True))

    def _commit(self, action: c.Commit) -> None:
        executed = self.executed[action.block_hash]
        self._store_block(executed, action.round, action.precommits)
        self.log(f"committed block {action.height} 0x{action.block_hash.hex()[:8]} in round {action.round} "
                 f"({len(executed.block.txs)} txs)")
        self._next_height()

    def _store_block(self, executed: Executed, round_: int, precommits) -> None:
        block = executed.block
        burns = self.executor.burns(executed.evm_block, executed.chain)
        with self.executor.committing(executed) as db:
            db.execute("INSERT INTO blocks VALUES (?, ?, ?, ?, ?)", (block.height, block.hash, round_,
                       json.dumps(block.to_json()), json.dumps([v.to_json() for v in precommits])))
            db.executemany("INSERT INTO burns VALUES (?, ?, ?, ?, ?)",
                           [(b.id, b.block_number, b.token, b.recipient, str(b.amount)) for b in burns])
            update = block.set_update
            if update is not None:  # it governs the heights after this block, here and at every validator
                db.execute("INSERT INTO validator_sets VALUES (?, ?, ?)", (block.height + 1, update.epoch,
                           json.dumps([[a, str(p)] for a, p in update.validators])))
        if block.set_update is not None:
            self.epoch = block.set_update.epoch
            self.ctx = c.Context(_validator_set([[a, str(p)] for a, p in block.set_update.validators]), self.me,
                                 self.config.timing)
            self.log(f"validator set of Layer-1 epoch {self.epoch} from height {block.height + 1}: "
                     f"{len(block.set_update.validators)} validators")
            db.execute("DELETE FROM signed WHERE height <= ?", (block.height,))
        included = set(block.txs)
        state = self.executor.state_at(self.executor.head())
        self.mempool = {h: t for h, t in self.mempool.items() if t.raw not in included
                        and t.nonce >= state.get_nonce(bytes.fromhex(t.sender[2:]))}

    def _next_height(self) -> None:
        self.executed = {}
        self.timers = []
        self.state, actions = c.start_height(self.ctx, self.executor.height + 1)
        self._act(actions)
        future, self.future = self.future, []
        for message in future:
            try:
                self._handle_message(message)
            except SidechainViolation:
                pass

    def _record_evidence(self, first: Vote, second: Vote) -> None:
        self.log(f"equivocation by {first.signer}: {first} and {second}")
        with self.store.transaction() as db:
            db.execute("INSERT INTO evidence (height, signer, first, second) VALUES (?, ?, ?, ?)",
                       (first.height, first.signer, json.dumps(first.to_json()), json.dumps(second.to_json())))

    def _send(self, message: dict) -> None:
        if self.network is not None:
            self.network.broadcast(message)

    # --- restart -------------------------------------------------------------------------------------

    def _resume(self) -> tuple[c.State, list]:
        """Start the height after our last stored block, with the votes we signed for it (and our lock)."""
        height = self.executor.height + 1
        rows = self.store.db.execute("SELECT round, type, block, message, body FROM signed WHERE height = ? "
                                     "ORDER BY round", (height,)).fetchall()
        locked_round, locked_hash = -1, None
        for round_, kind, block_hash, _, body in rows:
            if kind == PRECOMMIT and block_hash != NIL and body is not None:
                try:
                    executed = self.executor.execute(decode_block(json.loads(body)))
                except (BlockRejected, SidechainViolation):
                    continue
                self.executed[block_hash] = executed
                locked_round, locked_hash = round_, block_hash
        state, actions = c.start_height(self.ctx, height, locked_round=locked_round, locked_hash=locked_hash)
        for _, kind, _, message, _ in rows:
            if kind != PROPOSAL_TYPE:
                state, more = c.handle(self.ctx, state, c.VoteReceived(decode_vote(json.loads(message), self.domain)))
                actions += more
        return state, actions

    # --- keeping peers in step -----------------------------------------------------------------------

    # --- checkpoints ---------------------------------------------------------------------------------

    def burns(self, start: int, end: int) -> list[bridge.Burn]:
        rows = self.store.db.execute("SELECT id, height, token, recipient, amount FROM burns WHERE height BETWEEN ? "
                                     "AND ? ORDER BY id", (start, end)).fetchall()
        return [bridge.Burn(i, h, t, r, int(a)) for i, h, t, r, a in rows]

    def checkpoint_of(self, start: int, end: int) -> Checkpoint:
        """The checkpoint of our committed blocks start..end and their burns."""
        hashes = [row[0] for row in self.store.db.execute("SELECT hash FROM blocks WHERE height BETWEEN ? AND ? "
                                                          "ORDER BY height", (start, end))]
        if len(hashes) != end - start + 1:
            raise SidechainStorageError(f"blocks {start}..{end} are not all stored here")
        return bridge.make_checkpoint(start, hashes, self.burns(start, end))

    def _sign_checkpoints(self) -> None:
        """Sign each checkpoint window after Layer 1's last one that our blocks complete. Windows are fixed
        (checkpoint n covers (n-1)K+1..nK), so every validator signs the same ranges; the roots come from
        our own blocks, so we never sign anything we did not commit."""
        if self.l1 is None or self.config.l1 is None:
            return
        interval = self.config.l1.checkpoint_interval
        start = self.l1.last_end + 1
        for _ in range(CHECKPOINT_WINDOWS):
            end = start + interval - 1
            if end > self.executor.height:
                break
            if start not in self.checkpoints:
                checkpoint = self.checkpoint_of(start, end)
                self.checkpoints[start] = checkpoint
                signature = self.signer.sign(self.l1.digest(checkpoint))
                self.checkpoint_signatures.setdefault(start, {})[self.me] = signature
                self._note_quorum(start)  # a validator alone (or with most of the stake) needs no peer
                early, self.early_signatures = self.early_signatures, []
                for message in early:
                    self._on_checkpoint_signature(message)
            signature = self.checkpoint_signatures[start][self.me]
            self._send({"type": "checkpoint_sig", "start": start, "end": end, "sig": "0x" + signature.hex()})
            start = end + 1

    def _on_checkpoint_signature(self, message: dict) -> None:
        if self.l1 is None:
            return
        start, end, sig = message.get("start"), message.get("end"), message.get("sig")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(sig, str)):
            return
        checkpoint = self.checkpoints.get(start)
        if checkpoint is None:
            if start > self.l1.last_end and len(self.early_signatures) < MAX_EARLY_SIGNATURES:
                self.early_signatures.append(message)
            return
        if checkpoint.end != end:
            return
        try:
            signature = bytes.fromhex(sig.removeprefix("0x"))
            signer = recover(self.l1.digest(checkpoint), signature)
        except (ValueError, L2Error):
            return
        if self.ctx.validators.power_of(signer) <= 0:
            return  # not a validator, or a signature on other roots than ours: it recovers to a stranger
        self.checkpoint_signatures.setdefault(start, {})[signer] = signature
        self._note_quorum(start)

    def _note_quorum(self, start: int) -> None:
        power = sum(self.ctx.validators.power_of(a) for a in self.checkpoint_signatures.get(start, {}))
        if self.ctx.validators.is_quorum(power):
            self.quorum_since.setdefault(start, time.monotonic())

    def checkpoint_due(self) -> tuple[Checkpoint, dict[str, bytes]] | None:
        """The next checkpoint Layer 1 takes, with its signatures, when we should submit it: at once if it
        is our turn (a rotation over the set by checkpoint), else `rank` graces later."""
        with self.lock:
            if self.l1 is None or self.config.l1 is None:
                return None
            start = self.l1.last_end + 1
            since = self.quorum_since.get(start)
            if since is None:
                return None
            sent = self.l1.submitted.get(start)
            if sent is not None and time.monotonic() - sent < 3 * SUBMIT_GRACE:
                return None
            # The turn rotates over the set by checkpoint; the others follow one grace apart each, so a slow
            # submitter is backed up by one validator at a time rather than raced by all of them.
            order = [v.address for v in self.ctx.validators.validators]
            turn = (start - 1) // self.config.l1.checkpoint_interval
            rank = (order.index(self.me) - turn) % len(order) if self.me in order else len(order)
            if time.monotonic() - since < rank * SUBMIT_GRACE:
                return None
            return self.checkpoints[start], dict(self.checkpoint_signatures[start])

    def _gossip(self) -> None:
        """Status, and our own messages of this height again: a peer that missed them (restarted, or its
        queue overflowed) gets them now. Signed messages may be repeated safely."""
        with self.lock:
            self._sign_checkpoints()
            self._send({"type": "status", "from": self.me, "height": self.executor.height})
            for vote in self.state.votes:
                if vote.signer == self.me and vote.round >= self.state.round - 1:
                    self._send({"type": "vote", **vote.to_json()})
            proposal = self.state.proposal(self.state.round)
            if proposal is not None:
                self._send({"type": "proposal", **proposal.to_json()})

    def _on_status(self, message: dict) -> None:
        sender, height = message.get("from"), message.get("height")
        if not isinstance(sender, str) or not isinstance(height, int):
            return
        self.peer_heights[sender] = height
        mine = self.executor.height
        now = time.monotonic()
        if height > mine and now - self.last_sync_request > 0.3 and self.network is not None:
            self.last_sync_request = now
            self.network.send(sender, {"type": "get_blocks", "from": self.me, "start": mine + 1,
                                       "end": min(height, mine + SYNC_BATCH)})

    def _serve_blocks(self, message: dict) -> None:
        requester, start, end = message.get("from"), message.get("start"), message.get("end")
        if not (isinstance(requester, str) and isinstance(start, int) and isinstance(end, int)) or self.network is None:
            return
        end = min(end, start + SYNC_BATCH - 1)
        with self.lock:
            rows = self.store.db.execute("SELECT round, body, precommits FROM blocks WHERE height BETWEEN ? AND ? "
                                         "ORDER BY height", (start, end)).fetchall()
        blocks = [{"round": r, "block": json.loads(b), "precommits": json.loads(p)} for r, b, p in rows]
        if blocks:
            self.network.send(requester, {"type": "blocks", "blocks": blocks})

    def _on_blocks(self, message: dict) -> None:
        """Committed blocks from a peer, each taken only with precommits from more than 2/3 of the stake for
        its hash (so a lying peer can at worst waste our time) and only if it executes to that hash."""
        items = message.get("blocks")
        if not isinstance(items, list):
            return
        for item in items[:SYNC_BATCH]:
            with self.lock:
                block = decode_block(item.get("block") if isinstance(item, dict) else None)  # type: ignore[arg-type]
                if block.height <= self.executor.height:
                    continue
                if block.height != self.executor.height + 1:
                    return
                raw_votes = item.get("precommits")
                if not isinstance(raw_votes, list):
                    raise CommitRejected("a synced block without its precommits")
                votes = [decode_vote(v, self.domain) for v in raw_votes[:len(self.config.nodes)]]
                power = c.commit_power(self.ctx.validators, votes, block.height, block.hash)
                if not self.ctx.validators.is_quorum(power):
                    raise CommitRejected(f"block {block.height}'s commit has {power} of {self.ctx.validators.total} "
                                         "stake, not more than 2/3")
                executed = self.executed.get(block.hash) or self.executor.execute(block)
                self._store_block(executed, votes[0].round, votes)
                self.log(f"synced block {block.height} 0x{block.hash.hex()[:8]} from a peer")
                self._next_height()

    # --- transactions from users ---------------------------------------------------------------------

    def pending_nonce(self, sender: str) -> int:
        state_nonce = self.executor.state_at(self.executor.head()).get_nonce(bytes.fromhex(sender[2:]))
        nonces = {t.nonce for t in self.mempool.values() if t.sender == sender}
        nonce = state_nonce
        while nonce in nonces:  # bounded by the mempool's size
            nonce += 1
        return nonce

    def add_transaction(self, raw: bytes, *, gossip: bool = True) -> bytes:
        """Into the mempool (and to every peer, so whoever proposes next has it); the transaction hash."""
        with self.lock:
            tx = self.executor.decode_tx(raw)
            if tx.hash in self.mempool:
                return tx.hash
            if len(self.mempool) >= MAX_MEMPOOL:
                raise TransactionRejected("the mempool is full: try again after the next block")
            sender = to_checksum_address(tx.sender)
            if any(t.sender == sender and t.nonce == tx.nonce for t in self.mempool.values()):
                raise TransactionRejected(f"a transaction with nonce {tx.nonce} from {sender} is already pending")
            self.executor.check_admissible(tx, self.pending_nonce(sender))
            self.arrivals += 1
            self.mempool[tx.hash] = PendingTx(raw, sender, tx.nonce, self.arrivals)
        if gossip:
            self._send({"type": "tx", "raw": "0x" + raw.hex()})
        return tx.hash

    def _mempool_order(self) -> list[bytes]:
        txs = sorted(self.mempool.values(), key=lambda t: (t.nonce, t.arrival))
        return [t.raw for t in txs[:MAX_TXS_PER_BLOCK]]

    def close(self) -> None:
        self.stopping.set()
        if self.network is not None:
            self.network.close()
        self.store.close()


SIGNER_KEY_ENV = "L2_SIDECHAIN_VALIDATOR_KEY"


def _validator_set(rows: list) -> c.ValidatorSet:
    return c.ValidatorSet(tuple(c.Validator(a, int(p)) for a, p in rows))


def connect_l1(node: Validator, key: bytes, db_path: Path) -> L1Service:
    """The validator's Layer-1 link: its signer key pays for the checkpoints and reports it submits."""
    from eth_account import Account

    from l2.designs.sidechain.l1 import SidechainL1
    from l2.designs.sidechain.reporter import EvidenceReporter
    from l2.l1.chain import RpcChain

    link = node.config.l1
    assert link is not None
    os.environ[SIGNER_KEY_ENV] = "0x" + key.hex()  # RpcChain takes its sending key from the environment
    chain = RpcChain(link.rpc_url, private_key_env=SIGNER_KEY_ENV)
    l1 = SidechainL1(chain, link.stake_manager, link.deposit_manager)
    if l1.sidechain_id != node.config.chain_id:
        raise SidechainConfigError(f"the StakeManager at {link.stake_manager} serves sidechain {l1.sidechain_id}, "
                                   f"not {node.config.chain_id}")
    account = Account.from_key(key)
    reporter = EvidenceReporter(l1, account, db_path, node.domain, name=f"reporter {node.me[:8]}")
    return L1Service(l1, account, lock=node.lock, log=node.log, reporter=reporter)


def _follow_parent(node: Validator, parent: int) -> None:
    """The launcher runs us in our own session (a Ctrl-C reaches it alone, and it stops us in order); if it
    dies without stopping us (SIGKILL), we stop rather than run on, orphaned, with its ports and files."""
    while not node.stopping.wait(0.5):
        if os.getppid() != parent:
            node.log("launcher gone: stopping")
            node.stopping.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m l2.designs.sidechain.node", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--key-file", required=True, type=Path, help="a file holding the validator's private key (hex)")
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--ready-file", type=Path, help="written once both servers listen (the launcher waits for it)")
    parser.add_argument("--parent-pid", type=int, help="stop when this process (the launcher) is gone")
    args = parser.parse_args(argv)
    from l2.designs.sidechain.rpc import RpcServer
    from l2.errors import L2Error

    try:
        config = ClusterConfig.load(args.config)
        key_text = args.key_file.read_text().strip().removeprefix("0x")
        try:
            key = bytes.fromhex(key_text)
        except ValueError:
            raise SidechainConfigError(f"{args.key_file} does not hold a hex private key") from None
        node = Validator(config, key, args.db)
        if config.l1 is not None:
            node.l1 = connect_l1(node, key, args.db)
        node.start_network()
        rpc = RpcServer(node, node.spec.rpc_port)
    except (L2Error, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: node.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: node.stopping.set())
    if args.ready_file is not None:
        tmp = args.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "address": node.me, "rpc": rpc.url}))
        tmp.replace(args.ready_file)
    node.log(f"validator up: rpc {rpc.url}, peers on port {node.spec.p2p_port}, height {node.executor.height}")
    if node.l1 is not None:
        threading.Thread(target=node.l1.run, args=(node.stopping, node.checkpoint_due), name="layer1",
                         daemon=True).start()
    if args.parent_pid:
        threading.Thread(target=_follow_parent, args=(node, args.parent_pid), name="parent", daemon=True).start()
    try:
        node.run()
    finally:
        rpc.close()
        node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
