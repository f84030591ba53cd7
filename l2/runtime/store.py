"""The one SQLite helper: every operator's and party's database opens through `Store`.

WAL mode with `synchronous=FULL`: a committed write is on disk before the call returns, so whatever
kills the process (SIGKILL included) the file holds everything acknowledged. A `meta` table carries
what the file is (`kind`), the version of its schema, and the identity of what it belongs to (a
channel registry, a rollup, on one chain): a file from another kind, version or identity is refused
with the caller's `StorageError`, never silently mixed.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import time
from pathlib import Path

from l2.errors import StorageError

_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


class Store:
    def __init__(self, path: str | Path, schema: str, *, kind: str, version: int = 1,
                 error: type[StorageError] = StorageError):
        self.path = Path(path)
        self.error = error
        try:
            # Not tied to the opening thread: a sandbox's operator thread and its console take turns with
            # it, one at a time under the sandbox's lock.
            self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_META + schema)
        except sqlite3.DatabaseError as exc:
            raise error(f"cannot open the {kind} database {self.path}: {exc}") from None
        self.claim("kind", kind)
        self.claim("schema_version", str(version))

    def claim(self, key: str, value: str) -> None:
        """Record `key = value` in a new file; StorageError if the file says otherwise."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES (?, ?)", (key, value))
        elif row[0] != value:
            self.db.close()
            raise self.error(f"{self.path} has {key} {row[0]}, not {value}: use another file")

    @contextlib.contextmanager
    def transaction(self):
        """One transaction (one fsync): committed if the block ends normally, rolled back otherwise."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


def commits_per_second(folder: Path, count: int) -> float:
    """One-row commits a second, each fsynced as every Store's (WAL, synchronous=FULL), in a new database
    in `folder`: the cap of any durable speed measured on that disk."""
    with tempfile.TemporaryDirectory(prefix="commit-rate-", dir=folder) as tmp:
        store = Store(Path(tmp) / "commits.db", "CREATE TABLE rows (i INTEGER);", kind="commit-rate")
        try:
            start = time.perf_counter()
            for i in range(count):
                store.db.execute("INSERT INTO rows VALUES (?)", (i,))  # autocommit: one fsync each
            return count / (time.perf_counter() - start)
        finally:
            store.close()
