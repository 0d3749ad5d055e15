"""Read query results from the store as Arrow through ADBC (Arrow Database Connectivity).

PostgreSQL is read in this process. SQLite is read by a short-lived child process
(:mod:`winback.store.sqlite_reader`): the ADBC driver carries its own copy of SQLite, which
must not open a database file that this process's ``sqlite3`` (Django) has open.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import polars as pl

from winback.environment import DatabaseURL

# A group of named statements runs on one connection, in one read transaction.
Group = dict[str, str]


class StoreReadError(RuntimeError):
    """The store could not be read (the message carries the driver's own words)."""


def postgres_uri(db: DatabaseURL) -> str:
    """A libpq URI with every part escaped (passwords may hold '@' or '/')."""
    auth = quote(db.user, safe="")
    if db.password:
        auth += ":" + quote(db.password, safe="")
    at = f"{auth}@" if auth else ""
    port = f":{db.port}" if db.port else ""
    query = f"?{urlencode(db.options)}" if db.options else ""
    return f"postgresql://{at}{quote(db.host, safe='')}{port}/{quote(db.name, safe='')}{query}"


@contextmanager
def postgres_connection(db: DatabaseURL) -> Iterator[Any]:
    import adbc_driver_postgresql.dbapi as pg_dbapi

    conn = pg_dbapi.connect(postgres_uri(db))
    try:
        yield conn
    finally:
        conn.close()


def read_arrow(conn: Any, sql: str) -> pl.DataFrame:
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        table = cursor.fetch_arrow_table()
    finally:
        cursor.close()
    return as_frame(table)


def as_frame(table: Any) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def read_postgres_group(db: DatabaseURL, group: Group) -> dict[str, pl.DataFrame]:
    with postgres_connection(db) as conn:
        # Read committed would give each statement its own snapshot.
        cursor = conn.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.close()
        return {name: read_arrow(conn, sql) for name, sql in group.items()}


def read_sqlite_groups(database: str, groups: list[Group]) -> dict[str, pl.DataFrame]:
    with tempfile.TemporaryDirectory(prefix="winback-read-", ignore_cleanup_errors=True) as out:
        request = {"database": database, "out": out, "groups": groups}
        done = subprocess.run(
            [sys.executable, "-m", "winback.store.sqlite_reader"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
            raise StoreReadError(f"reading {database} failed: {tail[0]}")
        # Memory-mapped: the frames use the files' pages without a copy (the mapping outlives
        # the folder's removal).
        return {name: read_ipc(Path(out) / f"{name}.arrow") for group in groups for name in group}


def read_ipc(path: Path) -> pl.DataFrame:
    import pyarrow as pa

    # Not closed here: the table's buffers keep the mapping alive for as long as they live.
    return as_frame(pa.ipc.open_file(pa.memory_map(str(path))).read_all())


def read_groups(db: DatabaseURL, groups: list[Group]) -> dict[str, pl.DataFrame]:
    """Run each group of named statements on its own connection, the groups in parallel."""
    if db.engine == "sqlite":
        return read_sqlite_groups(db.name, groups)
    if db.engine != "postgresql":
        raise ValueError(f"unsupported database engine {db.engine!r}")
    with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
        parts = list(pool.map(partial(read_postgres_group, db), groups))
    return {name: frame for part in parts for name, frame in part.items()}
