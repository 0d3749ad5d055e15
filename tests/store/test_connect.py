"""Reading SQLite through ADBC while this process's own sqlite3 has the file open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from winback.environment import DatabaseURL
from winback.store.connect import StoreReadError, postgres_uri, read_groups


@pytest.mark.slow  # three reader child processes
def test_reads_see_every_commit_and_leave_sqlite3_connections_working(tmp_path: Path) -> None:
    # The ADBC driver's copy of SQLite, opened in this process next to sqlite3 on the same
    # file, gave stale counts and "disk I/O error" on the next sqlite3 connection.
    path = tmp_path / "store.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("INSERT INTO t VALUES (0)")
    db = DatabaseURL(engine="sqlite", name=str(path))
    for rows in range(1, 4):
        read = read_groups(db, [{"t": "SELECT count(*) AS n FROM t"}])["t"]
        assert read["n"].to_list() == [rows]
        writer.execute("INSERT INTO t VALUES (?)", (rows,))
        fresh = sqlite3.connect(path)
        assert fresh.execute("SELECT count(*) FROM t").fetchone() == (rows + 1,)
        fresh.close()
    writer.close()


def test_groups_run_on_their_own_connections_and_keep_their_names(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x INTEGER, y REAL, s TEXT)")
        # Nulls first, then values: one batch lets the driver see the column's real type.
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(None, None, None)] * 2000 + [(1, 1.5, "a")],
        )
    conn.close()
    db = DatabaseURL(engine="sqlite", name=str(path))
    frames = read_groups(
        db, [{"xs": "SELECT x FROM t"}, {"ys": "SELECT y FROM t", "ss": "SELECT s FROM t"}]
    )
    assert set(frames) == {"xs", "ys", "ss"}
    assert frames["ys"]["y"].drop_nulls().to_list() == [1.5]
    assert frames["ss"]["s"].drop_nulls().to_list() == ["a"]


def test_a_missing_database_is_an_error_not_a_new_empty_file(tmp_path: Path) -> None:
    db = DatabaseURL(engine="sqlite", name=str(tmp_path / "absent.sqlite3"))
    with pytest.raises(StoreReadError, match="does not exist"):
        read_groups(db, [{"t": "SELECT 1"}])
    assert not (tmp_path / "absent.sqlite3").exists()


def test_postgres_uri_escapes_credentials() -> None:
    db = DatabaseURL(
        engine="postgresql", name="win back", user="ops@x", password="p/w:1", host="db", port="5432"
    )
    assert postgres_uri(db) == "postgresql://ops%40x:p%2Fw%3A1@db:5432/win%20back"
