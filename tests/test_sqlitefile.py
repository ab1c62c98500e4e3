"""localgate's SQLite files: opened one way, written in transactions that leave the
connection ready for the next one."""

from __future__ import annotations

import pytest

from localgate.sqlitefile import CACHE_KB, open_wal, transaction


@pytest.fixture
def db(tmp_path):
    connection = open_wal(tmp_path / "dir" / "file.sqlite3")
    yield connection
    connection.close()


def test_a_file_opens_private_in_wal_mode_and_binds_none_as_null(db, tmp_path):
    assert oct((tmp_path / "dir" / "file.sqlite3").stat().st_mode & 0o777) == "0o600"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute("CREATE TABLE t (a, b)")
    with transaction(db):
        db.execute("INSERT INTO t VALUES (?, ?)", (None, 1))
    assert db.execute("SELECT a IS NULL, b FROM t").fetchall() == [(1, 1)]


def test_a_failed_block_is_rolled_back_and_the_next_transaction_runs(db):
    db.execute("CREATE TABLE t (a)")
    with pytest.raises(RuntimeError):
        with transaction(db):
            db.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("the block fails")
    assert not db.in_transaction
    with transaction(db):
        db.execute("INSERT INTO t VALUES (2)")
    assert db.execute("SELECT a FROM t").fetchall() == [(2,)]


def test_a_failed_commit_is_rolled_back(db):
    db.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE c (p REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)")
    db.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with transaction(db):
            db.execute("INSERT INTO c VALUES (7)")  # refused only at COMMIT
    assert not db.in_transaction
    assert db.execute("SELECT COUNT(*) FROM c").fetchone()[0] == 0


def test_a_connection_keeps_a_small_page_cache(db):
    # Negative: KiB, not pages; the default (2 MB) stayed for the daemon's life.
    assert db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KB
