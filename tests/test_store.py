"""The one SQLite helper: a file says what it is, and another kind, version or owner is refused."""

from __future__ import annotations

import pytest

from l2.errors import StorageError
from l2.runtime.store import Store

SCHEMA = "CREATE TABLE IF NOT EXISTS items (k TEXT PRIMARY KEY, v TEXT);"


def test_a_file_of_another_kind_version_or_owner_is_refused(tmp_path):
    path = tmp_path / "a.db"
    store = Store(path, SCHEMA, kind="channels")
    store.claim("registry", "1:0xabc")
    store.close()
    with pytest.raises(StorageError, match="has kind channels, not optimistic sequencer"):
        Store(path, SCHEMA, kind="optimistic sequencer")
    with pytest.raises(StorageError, match="has schema_version 1, not 2"):
        Store(path, SCHEMA, kind="channels", version=2)
    again = Store(path, SCHEMA, kind="channels")
    with pytest.raises(StorageError, match="has registry 1:0xabc, not 5:0xdef"):
        again.claim("registry", "5:0xdef")


def test_a_transaction_commits_whole_or_not_at_all(tmp_path):
    store = Store(tmp_path / "b.db", SCHEMA, kind="test")
    with store.transaction() as db:
        db.execute("INSERT INTO items VALUES ('a', '1')")
        db.execute("INSERT INTO items VALUES ('b', '2')")
    with pytest.raises(RuntimeError, match="crash mid-transaction"):
        with store.transaction() as db:
            db.execute("INSERT INTO items VALUES ('c', '3')")
            raise RuntimeError("crash mid-transaction")
    assert store.db.execute("SELECT k FROM items ORDER BY k").fetchall() == [("a",), ("b",)]
    store.close()


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StorageError, match="cannot open the test database"):
        Store(path, SCHEMA, kind="test")
