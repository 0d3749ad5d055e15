"""Crash safety with a real process: SIGKILL an import mid-way, re-run, compare with a clean run.

The import runs as ``winback import orders FILE --json`` in a child process with small chunks.
Once its first chunk is committed it is killed at a random moment; running the same command
again must leave exactly the rows, hashes and stub customers an uninterrupted import into a
fresh database leaves, and report the same counts. SQLite uses temporary files; PostgreSQL
(when the test run uses it) throwaway databases created and dropped here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHUNK_ROWS = 300
ORDERS = 15_000
CLI = "from winback.cli import main; main()"


def _orders_csv(path: Path) -> int:
    """Orders of 2,500 customers (none exist yet: stubs), some without an order id, a few bad."""
    rng = random.Random(5)
    lines = ["订单号,会员卡号,消费日期,实收金额,渠道"]
    bad = 0
    for i in range(ORDERS):
        order_id = "" if i % 7 == 0 else f"SO{i:06d}"
        customer = f"VIP{rng.randrange(2_500):05d}"
        day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
        amount = f"{rng.randrange(-500, 90_000) / 100:.2f}"
        if i % 997 == 0:
            amount, bad = "n/a", bad + 1
        lines.append(f"{order_id},{customer},{day},{amount},门店")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return bad


@dataclass
class Database:
    url: str
    vendor: str
    path: Path | None = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            assert self.path is not None
            with contextlib.closing(sqlite3.connect(self.path, timeout=30)) as conn:
                return list(conn.execute(sql).fetchall())
        import psycopg

        with psycopg.connect(self.url) as conn:
            return list(conn.execute(sql).fetchall())


def _test_run_vendor() -> str:
    url = os.environ.get("WINBACK_DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql")) else "sqlite"


@contextlib.contextmanager
def _fresh_database(tmp_path: Path, label: str) -> Iterator[Database]:
    if _test_run_vendor() == "sqlite":
        path = tmp_path / f"{label}.sqlite3"
        yield Database(f"sqlite:///{path}", "sqlite", path)
        return
    import psycopg

    server = urlparse(os.environ["WINBACK_DATABASE_URL"])
    admin = server._replace(path="/postgres").geturl()
    name = f"winback_crash_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield Database(server._replace(path=f"/{name}").geturl(), "postgresql")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _start(db: Database, csv_path: Path, data_dir: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "WINBACK_DATABASE_URL": db.url,
        "WINBACK_DATA_DIR": str(data_dir),
        "WINBACK_IMPORT_CHUNK_ROWS": str(CHUNK_ROWS),
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "import", "orders", str(csv_path), "--json", "--lang", "en"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def _latest_batch(db: Database) -> tuple[int, str] | None:
    try:
        rows = db.query("SELECT rows_committed, status FROM imports_importbatch ORDER BY id DESC")
    except Exception:  # the child is still creating the tables
        return None
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def _wait_for_first_commit(db: Database, process: subprocess.Popen[str]) -> bool:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        batch = _latest_batch(db)
        if batch is not None and batch[0] > 0:
            return True
        time.sleep(0.01)
    return False


def _state(db: Database) -> tuple[dict[str, int], str]:
    """Row counts and a checksum over every stored order and customer."""
    orders = db.query(
        "SELECT o.order_key, o.key_derived, o.row_hash, o.amount_cents, c.external_id, "
        "o.order_date, o.channel FROM customers_order AS o "
        "JOIN customers_customer AS c ON c.id = o.customer_id"
    )
    customers = db.query("SELECT external_id, is_stub, row_hash FROM customers_customer")
    digest = hashlib.sha256()
    for rows in (orders, customers):
        for row in sorted(_plain(r) for r in rows):
            digest.update(repr(row).encode())
    counts = {"orders": len(orders), "customers": len(customers)}
    return counts, digest.hexdigest()


def _plain(row: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(int(v)) if isinstance(v, bool) else str(v) for v in row)


COUNTS = ("read", "inserted", "updated", "unchanged", "rejected", "stub_customers_created")


@pytest.mark.slow
def test_an_import_killed_at_a_random_moment_resumes_to_the_uninterrupted_state(
    tmp_path: Path,
) -> None:
    csv_path = tmp_path / "orders.csv"
    bad_rows = _orders_csv(csv_path)
    with _fresh_database(tmp_path, "reference") as reference:
        clean = _finish(_start(reference, csv_path, tmp_path / "ref-data"))
        expected = _state(reference)
    assert (clean["read"], clean["rejected"]) == (ORDERS, bad_rows)
    assert clean["inserted"] == ORDERS - bad_rows == expected[0]["orders"]
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    latest_delay = 1.5
    for attempt in range(6):
        with _fresh_database(tmp_path, f"crash{attempt}") as db:
            process = _start(db, csv_path, tmp_path / f"data{attempt}")
            started = _wait_for_first_commit(db, process)
            delay = rng.uniform(0, latest_delay)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=60)
            batch = _latest_batch(db)
            if not started or process.returncode != -signal.SIGKILL or batch is None:
                latest_delay /= 2
                continue
            if batch[1] != "running":  # finished before the signal: try an earlier moment
                latest_delay /= 2
                continue
            # Some rows committed, the batch not closed: possibly every row, when the kill lands
            # between the last chunk's commit and the closing of the batch.
            assert 0 < batch[0] <= clean["inserted"], (seed, delay, batch)
            resumed = _finish(_start(db, csv_path, tmp_path / f"data{attempt}"))
            assert _state(db) == expected, (seed, delay, batch)
            assert resumed["resumed"] is True
            assert {k: resumed[k] for k in COUNTS} == {k: clean[k] for k in COUNTS}
            again = _finish(_start(db, csv_path, tmp_path / f"data{attempt}"))
            assert (again["inserted"], again["updated"]) == (0, 0)
            assert again["unchanged"] == clean["inserted"]
            return
    pytest.fail(f"never managed to kill the import mid-way (seed {seed})")
