"""Durable channel state: SQLite in WAL mode with synchronous=FULL.

Every state is committed before this party acts on it: the receiver commits the
co-signed proof before it acknowledges, the payer commits its own signed proposal
before it sends it. So whatever was killed (SIGKILL mid-stream included), the
database holds the latest co-signed proof, and the party can still close or
dispute. Raiden lost users' funds when the database was lost; this is the part
that must not be skipped.

A nonce has one row. The loser of a crossing (both sides proposed the same nonce)
signs a second state with that nonce, its acknowledgement of the winner's proposal;
it is written in the same transaction as the loser's payment proposed again at the
next nonce, and replaces the refused proposal's row, so a restart never takes the
refused proposal for a pending one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from l2.designs.channels.errors import ChannelStorageError
from l2.designs.channels.rules import BalanceProof, ChannelParams, CooperativeClose
from l2.runtime.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS channel (
    channel_id TEXT PRIMARY KEY,
    params     TEXT NOT NULL,
    me         TEXT NOT NULL,
    chain_id   INTEGER NOT NULL,
    registry   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS proofs (
    channel_id TEXT NOT NULL,
    nonce      INTEGER NOT NULL,
    proof      TEXT NOT NULL,
    sig_a      BLOB,
    sig_b      BLOB,
    PRIMARY KEY (channel_id, nonce)
);
CREATE TABLE IF NOT EXISTS withdraws (
    channel_id     TEXT NOT NULL,
    participant    TEXT NOT NULL,
    total_withdraw TEXT NOT NULL,
    expiry         INTEGER NOT NULL,
    sig_a          BLOB,
    sig_b          BLOB,
    PRIMARY KEY (channel_id, participant, total_withdraw)
);
CREATE TABLE IF NOT EXISTS signed_close (
    channel_id TEXT PRIMARY KEY,
    close      TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class SignedProof:
    """A balance proof and whatever signatures it has (both once co-signed)."""

    proof: BalanceProof
    sig_a: bytes | None = None
    sig_b: bytes | None = None

    @property
    def complete(self) -> bool:
        return self.sig_a is not None and self.sig_b is not None


@dataclass(frozen=True)
class StoredChannel:
    params: ChannelParams
    me: str
    chain_id: int
    registry: str


class ChannelStore:
    """One SQLite file; may hold several channels, each keyed by its id."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.store = Store(self.path, SCHEMA, kind="channels", error=ChannelStorageError)
        self.db = self.store.db

    def close(self) -> None:
        self.store.close()

    # --- writes: one autocommitted statement each, fsynced before it returns ---------------------

    def save_channel(self, params: ChannelParams, me: str, chain_id: int, registry: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO channel VALUES (?, ?, ?, ?, ?)",
            (params.channel_id.hex(), json.dumps(params.to_json()), me, chain_id, registry),
        )

    def save_proofs(self, proofs: list[SignedProof]) -> None:
        """Store several proofs in one transaction: one fsync for all of them."""
        rows = [
            (s.proof.channel_id.hex(), s.proof.nonce, json.dumps(s.proof.to_json()), s.sig_a, s.sig_b) for s in proofs
        ]
        with self.store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO proofs VALUES (?, ?, ?, ?, ?)", rows)

    def save_withdraw(self, channel_id: bytes, participant: str, total: int, expiry: int, sig_a, sig_b) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO withdraws VALUES (?, ?, ?, ?, ?, ?)",
            (channel_id.hex(), participant, str(total), expiry, sig_a, sig_b),
        )

    def delete_withdraw(self, channel_id: bytes, participant: str, total: int) -> None:
        """Forget a withdrawal that was paid out or expired: it can never be paid (again)."""
        self.db.execute(
            "DELETE FROM withdraws WHERE channel_id = ? AND participant = ? AND total_withdraw = ?",
            (channel_id.hex(), participant, str(total)),
        )

    def save_signed_close(self, close: CooperativeClose) -> None:
        """Remember a cooperative close we signed (before the signature leaves this process)."""
        self.db.execute(
            "INSERT OR REPLACE INTO signed_close VALUES (?, ?)", (close.channel_id.hex(), json.dumps(close.to_json()))
        )

    def delete_signed_close(self, channel_id: bytes) -> None:
        """Forget a close that was settled, expired or voided by a change of funding."""
        self.db.execute("DELETE FROM signed_close WHERE channel_id = ?", (channel_id.hex(),))

    # --- reads ----------------------------------------------------------------------

    def channels(self) -> list[StoredChannel]:
        rows = self.db.execute("SELECT params, me, chain_id, registry FROM channel").fetchall()
        return [StoredChannel(ChannelParams.from_json(json.loads(p)), me, cid, reg) for p, me, cid, reg in rows]

    def channel(self, channel_id: bytes | None = None) -> StoredChannel:
        found = [c for c in self.channels() if channel_id is None or c.params.channel_id == channel_id]
        if not found:
            which = "" if channel_id is None else " 0x" + channel_id.hex()
            raise ChannelStorageError(f"{self.path} holds no channel{which}")
        if len(found) > 1:
            raise ChannelStorageError(f"{self.path} holds {len(found)} channels: say which one")
        return found[0]

    def latest_complete(self, channel_id: bytes, below: int | None = None) -> SignedProof | None:
        """The newest proof with both signatures (with a nonce below `below`, if given)."""
        row = self.db.execute(
            "SELECT proof, sig_a, sig_b FROM proofs WHERE channel_id = ? AND sig_a IS NOT NULL AND sig_b IS NOT NULL "
            "AND nonce < ? ORDER BY nonce DESC LIMIT 1",
            (channel_id.hex(), 2**63 - 1 if below is None else below),
        ).fetchone()
        return None if row is None else SignedProof(BalanceProof.from_json(json.loads(row[0])), row[1], row[2])

    def proof_at(self, channel_id: bytes, nonce: int) -> SignedProof | None:
        row = self.db.execute(
            "SELECT proof, sig_a, sig_b FROM proofs WHERE channel_id = ? AND nonce = ?", (channel_id.hex(), nonce)
        ).fetchone()
        return None if row is None else SignedProof(BalanceProof.from_json(json.loads(row[0])), row[1], row[2])

    def withdraws(self, channel_id: bytes) -> list[tuple[str, int, int, bytes, bytes]]:
        rows = self.db.execute(
            "SELECT participant, total_withdraw, expiry, sig_a, sig_b FROM withdraws WHERE channel_id = ?",
            (channel_id.hex(),),
        ).fetchall()
        return [(p, int(t), e, a, b) for p, t, e, a, b in rows]

    def signed_close(self, channel_id: bytes) -> CooperativeClose | None:
        row = self.db.execute("SELECT close FROM signed_close WHERE channel_id = ?", (channel_id.hex(),)).fetchone()
        return None if row is None else CooperativeClose.from_json(json.loads(row[0]))
