"""Run SQLite queries through ADBC in a process of its own; results go to Arrow IPC files.

Why a process of its own: the ADBC SQLite driver carries its own copy of the SQLite library,
and Python's ``sqlite3`` (Django's) links another. Two copies of SQLite in one process must not
open the same database file: closing a file in one copy drops the POSIX locks the other copy
holds on it (https://www.sqlite.org/howtocorrupt.html, "multiple copies of SQLite linked into
the same application"), which shows up as stale reads and "disk I/O error". A short-lived child
process holds only the ADBC copy; the parent memory-maps the files it writes.

Protocol: a JSON request on standard input, ``{"database": path, "out": folder,
"groups": [{name: sql, ...}, ...]}``. Each group runs on its own connection, in one read
transaction, the groups in parallel; each result is written to ``<out>/<name>.arrow``.
This module imports only the standard library, pyarrow and the driver, so it starts fast.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 30_000
# SQLite has no column types: the driver infers each column's Arrow type from the first batch
# of rows and fails if a later batch disagrees (a float column whose first rows are NULL).
# One batch for the whole result makes the inference see every row.
BATCH_ROWS = 1 << 30


def connect(database: str) -> Any:
    import adbc_driver_sqlite.dbapi as sqlite_dbapi

    if not Path(database).is_file():
        # Opening a missing file would silently create an empty database.
        raise FileNotFoundError(f"SQLite database {database} does not exist")
    conn = sqlite_dbapi.connect(database)
    cursor = conn.cursor()
    # Wait for a writer (an import, the web app) instead of failing at once.
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.close()
    return conn


def fetch(conn: Any, sql: str) -> Any:
    cursor = conn.cursor()
    try:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cursor.execute(sql)
        return cursor.fetch_arrow_table()
    finally:
        cursor.close()


def run_group(database: str, group: dict[str, str], out: Path) -> None:
    import pyarrow as pa

    conn = connect(database)
    try:
        for name, sql in group.items():
            table = fetch(conn, sql)
            with (
                pa.OSFile(str(out / f"{name}.arrow"), "wb") as sink,
                pa.ipc.new_file(sink, table.schema) as writer,
            ):
                writer.write_table(table)
            del table
    finally:
        conn.close()


def main() -> int:
    request = json.load(sys.stdin)
    out = Path(request["out"])
    groups: list[dict[str, str]] = request["groups"]
    with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
        jobs = [pool.submit(run_group, request["database"], group, out) for group in groups]
        for job in jobs:
            job.result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
