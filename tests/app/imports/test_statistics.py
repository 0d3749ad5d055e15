"""A large import refreshes PostgreSQL's planner statistics of the tables it wrote.

Without them (autovacuum off, or not yet run) the planner guesses: with 1,000,000 customers
and 18.6 M order lines a customer sheet's category breakdown scanned every order line (1.4 s)
instead of the customer's few orders (see docs/benchmarks.md, workbench under load).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from winback.app.imports import service as services
from winback.app.imports.service import import_file

pytestmark = pytest.mark.django_db

HEADER = "order no,customer,date,amount,channel\n"


def _orders(tmp_path: Path, n: int) -> Path:
    rows = [f"O{i},C{i % 3},2024-03-0{1 + i % 9} 10:00,{i}0.00,门店" for i in range(n)]
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "\n".join(rows), encoding="utf-8")
    return path


def _last_analyze(table: str) -> object:
    """When this database last ran ANALYZE on the table (None: never).

    Not "are there statistics": an earlier test that committed a large import (the demo, the
    acceptance businesses) may have left some behind in this test database; TRUNCATE keeps them.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # read the current counters
        cursor.execute("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def _has_statistics(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [table])
        return int(cursor.fetchone()[0]) > 0


@pytest.mark.postgres_only
def test_a_large_import_analyzes_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 5)
    before = {t: _last_analyze(t) for t in ("customers_order", "customers_customer")}
    import_file("orders", _orders(tmp_path, 6))
    for table in ("customers_order", "customers_customer"):  # stub customers were created too
        assert _last_analyze(table) not in (None, before[table])
        assert _has_statistics(table)


@pytest.mark.postgres_only
def test_a_small_import_leaves_statistics_to_autovacuum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 100)
    before = _last_analyze("customers_order")
    import_file("orders", _orders(tmp_path, 6))
    assert _last_analyze("customers_order") == before


def test_sqlite_needs_no_refresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 1)
    summary = import_file("orders", _orders(tmp_path, 3))
    ran = services.refresh_planner_statistics("orders", summary)
    assert ran is (connection.vendor == "postgresql")
