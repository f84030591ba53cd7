"""Durable state-channel state: every state a party signed or received, committed before it acts.

A party's own move is committed (state and signature, and a rock-paper-scissors player's secret play and
salt in the same transaction) before the move is sent; a received move is committed before it is
acknowledged or answered. So a party killed at any instant (SIGKILL included) restarts with every state it
ever vouched for or was given, and can still challenge, answer a challenge or reveal. A hub's ledger with
the payee (L_B) also keeps the setup of every virtual channel the hub checked, committed before the hub
signs any guarantee for it: the proof it challenges that channel with if both its participants go silent;
the newest state of it the hub was shown since (`virtual_proofs`), which channels it released
(`virtual_released`: kept, so a released channel is never funded again) and which it asked to leave
(`virtual_leaving`). On the shared `l2/runtime/store.py` (WAL, synchronous=FULL).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from l2.designs.statechannels.errors import StateChannelStorageError
from l2.designs.statechannels.rules import FixedPart, VariablePart
from l2.runtime.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS channel (
    channel_id  TEXT PRIMARY KEY,
    fixed       TEXT NOT NULL,
    app         TEXT NOT NULL,
    me          INTEGER NOT NULL,
    chain_id    INTEGER NOT NULL,
    adjudicator TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS states (
    channel_id TEXT NOT NULL,
    turn_num   INTEGER NOT NULL,
    is_final   INTEGER NOT NULL,
    state      TEXT NOT NULL,
    signer     INTEGER NOT NULL,
    signature  BLOB NOT NULL,
    PRIMARY KEY (channel_id, turn_num, is_final, signer)
);
CREATE TABLE IF NOT EXISTS secrets (
    channel_id TEXT NOT NULL,
    turn_num   INTEGER NOT NULL,
    play       INTEGER NOT NULL,
    salt       BLOB NOT NULL,
    PRIMARY KEY (channel_id, turn_num)
);
CREATE TABLE IF NOT EXISTS virtual_setups (
    channel_id TEXT PRIMARY KEY,
    fixed      TEXT NOT NULL,
    proof      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS virtual_proofs (
    channel_id TEXT PRIMARY KEY,
    proof      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS virtual_released (
    channel_id  TEXT PRIMARY KEY,
    released_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS virtual_leaving (
    channel_id TEXT PRIMARY KEY,
    since      INTEGER NOT NULL
);
"""

# A proof as the hub keeps it: each state with its mover's signature, or one state with everyone's.
Proof = list[tuple[VariablePart, list[bytes]]]


def _proof_json(proof: Proof) -> str:
    return json.dumps([{"state": state.to_json(), "signatures": ["0x" + sig.hex() for sig in sigs]}
                       for state, sigs in proof])


def _proof_of(text: str) -> Proof:
    return [(VariablePart.from_json(row["state"]), [bytes.fromhex(sig.removeprefix("0x")) for sig in row["signatures"]])
            for row in json.loads(text)]


class StateStore:
    """One SQLite file holding one channel's states (a party opens one file per channel), and for a hub's
    ledger, the setups of the virtual channels it guarantees through it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.store = Store(self.path, SCHEMA, kind="statechannels", error=StateChannelStorageError)
        self.db = self.store.db

    def close(self) -> None:
        self.store.close()

    def save_channel(self, fixed: FixedPart, app: str, me: int, chain_id: int, adjudicator: str) -> None:
        self.store.claim("channel_id", fixed.channel_id.hex())
        self.db.execute("INSERT OR REPLACE INTO channel VALUES (?, ?, ?, ?, ?, ?)",
                        (fixed.channel_id.hex(), json.dumps(fixed.to_json()), app, me, chain_id, adjudicator))

    def save_state(self, channel_id: bytes, state: VariablePart, signatures: dict[int, bytes],
                   secret: tuple[int, bytes] | None = None) -> None:
        """One transaction (one fsync): the state, its signatures and the secret behind it."""
        rows = [(channel_id.hex(), state.turn_num, int(state.is_final), json.dumps(state.to_json()), i, sig)
                for i, sig in signatures.items()]
        with self.store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO states VALUES (?, ?, ?, ?, ?, ?)", rows)
            if secret is not None:
                db.execute("INSERT OR REPLACE INTO secrets VALUES (?, ?, ?, ?)",
                           (channel_id.hex(), state.turn_num, secret[0], secret[1]))

    def load(self):
        """(fixed, app, me, chain id, adjudicator, states, secrets) or None for a new file.
        states: {(turn, is_final): (state, {signer: signature})}; secrets: {turn: (play, salt)}."""
        row = self.db.execute("SELECT * FROM channel").fetchone()
        if row is None:
            return None
        channel_id, fixed_json, app, me, chain_id, adjudicator = row
        states: dict[tuple[int, bool], tuple[VariablePart, dict[int, bytes]]] = {}
        for turn, final, state_json, signer, sig in self.db.execute(
                "SELECT turn_num, is_final, state, signer, signature FROM states WHERE channel_id = ? "
                "ORDER BY turn_num", (channel_id,)):
            state = VariablePart.from_json(json.loads(state_json))
            states.setdefault((turn, bool(final)), (state, {}))[1][signer] = bytes(sig)
        secrets = {turn: (play, bytes(salt)) for turn, play, salt in self.db.execute(
            "SELECT turn_num, play, salt FROM secrets WHERE channel_id = ?", (channel_id,))}
        return FixedPart.from_json(json.loads(fixed_json)), app, me, chain_id, adjudicator, states, secrets

    def save_virtual_setup(self, virtual: FixedPart, proof: list[tuple[VariablePart, bytes]]) -> None:
        """One transaction (one fsync): a virtual channel's setup proof, each state with its mover's signature.
        Never replaced: the hub's guarantee was signed against the first one."""
        rows = [{"state": state.to_json(), "signature": "0x" + sig.hex()} for state, sig in proof]
        try:
            with self.store.transaction() as db:
                db.execute("INSERT INTO virtual_setups VALUES (?, ?, ?)",
                           (virtual.channel_id.hex(), json.dumps(virtual.to_json()), json.dumps(rows)))
        except sqlite3.IntegrityError:
            raise StateChannelStorageError(f"{self.path} already holds a setup for virtual channel "
                                           f"{virtual.channel_id.hex()}") from None

    def load_virtual_setups(self) -> list[tuple[FixedPart, list[tuple[VariablePart, bytes]]]]:
        """Every stored setup as (fixed part, proof), in the order they were first stored."""
        setups = []
        for fixed_json, proof_json in self.db.execute("SELECT fixed, proof FROM virtual_setups ORDER BY rowid"):
            proof = [(VariablePart.from_json(row["state"]), bytes.fromhex(row["signature"].removeprefix("0x")))
                     for row in json.loads(proof_json)]
            setups.append((FixedPart.from_json(json.loads(fixed_json)), proof))
        return setups

    def save_virtual_proof(self, channel_id: bytes, proof: Proof) -> None:
        """One transaction: the newest proof of a virtual channel's state the hub holds beyond its setup
        (replacing an older one: the caller checked that this one is newer)."""
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO virtual_proofs VALUES (?, ?)", (channel_id.hex(), _proof_json(proof)))

    def load_virtual_proofs(self) -> dict[bytes, Proof]:
        return {bytes.fromhex(cid): _proof_of(proof)
                for cid, proof in self.db.execute("SELECT channel_id, proof FROM virtual_proofs")}

    def save_virtual_release(self, channel_id: bytes, final: Proof, released_at: int) -> None:
        """One transaction: the virtual channel is released (kept for good, never replaced) and the final
        state both its participants signed, which the hub checked before releasing, is its newest proof."""
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO virtual_released VALUES (?, ?)", (channel_id.hex(), released_at))
            db.execute("INSERT OR REPLACE INTO virtual_proofs VALUES (?, ?)", (channel_id.hex(), _proof_json(final)))

    def load_virtual_releases(self) -> dict[bytes, int]:
        return {bytes.fromhex(cid): at
                for cid, at in self.db.execute("SELECT channel_id, released_at FROM virtual_released")}

    def save_virtual_leaving(self, channel_id: bytes, since: int) -> None:
        """The hub asked to leave the virtual channel at `since` (the first request counts)."""
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO virtual_leaving VALUES (?, ?)", (channel_id.hex(), since))

    def load_virtual_leaving(self) -> dict[bytes, int]:
        return {bytes.fromhex(cid): since
                for cid, since in self.db.execute("SELECT channel_id, since FROM virtual_leaving")}
