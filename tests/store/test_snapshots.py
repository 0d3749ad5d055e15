"""Writing the per-customer snapshot back: bulk insert, re-run replaces, read back by id."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from winback.analytics import frames as contracts

AS_OF = date(2024, 3, 31)


def customers(count: int) -> list[int]:
    from winback.store.customers.models import Customer

    made = Customer.objects.bulk_create(Customer(external_id=f"K{i:04d}") for i in range(count))
    return [c.pk for c in made]


def scores(pks: list[int], churn: float, *, as_of: date = AS_OF) -> pl.DataFrame:
    n = len(pks)
    return pl.DataFrame(
        {
            "customer_pk": pks,
            "as_of": [as_of] * n,
            "stage": ["lost"] * n,
            "customer_type": ["lost"] * n,
            "status": ["lost"] * n,
            "churn_score": [churn] * n,
            "churn_probability": [churn / 100] * n,
            "p_alive": [None] + [0.25] * (n - 1),  # the first row has no model value
            "expected_purchases_365": [1.5] * n,
            "clv_365": [123.45] * n,
            "value_index": [0.5] * n,
            "tier": [None] + [2] * (n - 1),
            "rfm_octant": ["important_value"] * n,
            "abc_class": [None] * n,
            "early_warning": [True] * n,
            "retention_action": ["call"] * n,
            "days_since_last": [200] * n,
            "expected_interval_days": [30.0] * n,
            "top_signals": [json.dumps([{"code": "late", "days": 200}])] * n,
        },
        schema=contracts.SNAPSHOT,
    )


def write(frame: pl.DataFrame, as_of: date = AS_OF, *, stage: bool = False) -> int:
    """Write as the analysis service does; ``stage``: through the attached staging database
    (SQLite), else row by row inside the transaction."""
    from django.db import connection, transaction

    from winback.store.snapshots import replace_snapshots, staged_snapshots

    connection.ensure_connection()
    raw, vendor = connection.connection, connection.vendor
    if not stage:
        with transaction.atomic():
            return replace_snapshots(raw, vendor, as_of, frame)
    with staged_snapshots(raw, vendor, as_of, frame) as staged, transaction.atomic():
        assert staged == (vendor == "sqlite")
        return replace_snapshots(raw, vendor, as_of, frame, staged=staged)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stage", [False, True])
def test_rows_are_written_with_their_values_and_nulls(stage: bool) -> None:
    from winback.store.analysis.models import CustomerSnapshot

    pks = customers(3)
    assert write(scores(pks, 80.0), stage=stage) == 3
    rows = {s.customer_id: s for s in CustomerSnapshot.objects.filter(as_of=AS_OF)}
    assert set(rows) == set(pks)
    first, second = rows[pks[0]], rows[pks[1]]
    assert first.p_alive is None
    assert first.tier is None
    assert second.p_alive == pytest.approx(0.25)
    assert second.tier == 2
    assert second.clv_365 == pytest.approx(123.45)
    assert second.abc_class == ""  # NOT NULL text column: missing class is blank
    assert second.early_warning is True
    assert second.top_signals == [{"code": "late", "days": 200}]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stage", [False, True])
def test_a_rerun_replaces_that_date_only(stage: bool) -> None:
    from winback.store.analysis.models import CustomerSnapshot

    pks = customers(4)
    earlier = date(2024, 2, 29)
    write(scores(pks, 10.0, as_of=earlier), earlier, stage=stage)
    write(scores(pks, 80.0), stage=stage)
    write(scores(pks[:2], 55.0), stage=stage)  # the second run scores fewer customers

    today = CustomerSnapshot.objects.filter(as_of=AS_OF)
    assert sorted(today.values_list("customer_id", flat=True)) == sorted(pks[:2])
    assert set(today.values_list("churn_score", flat=True)) == {55.0}
    assert set(today.values_list("churn_probability", flat=True)) == {0.55}
    assert CustomerSnapshot.objects.filter(as_of=earlier).count() == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stage", [False, True])
def test_a_failed_write_leaves_the_previous_rows(stage: bool) -> None:
    from winback.store.analysis.models import CustomerSnapshot

    pks = customers(2)
    write(scores(pks, 80.0), stage=stage)
    broken = scores([*pks, 999_999], 20.0)  # no such customer: the foreign key refuses it
    with pytest.raises(Exception):  # noqa: B017, PT011 - the driver's own integrity error
        write(broken, stage=stage)
    assert set(
        CustomerSnapshot.objects.filter(as_of=AS_OF).values_list("churn_score", flat=True)
    ) == {80.0}


@pytest.mark.django_db(transaction=True)
def test_read_back_carries_the_customers_own_id() -> None:
    from winback.app.analysis.service import adbc_database
    from winback.store.snapshots import read_snapshots

    pks = customers(3)
    write(scores(pks, 80.0))
    with adbc_database() as db:
        back = read_snapshots(db, AS_OF)
    assert back["external_id"].to_list() == ["K0000", "K0001", "K0002"]
    assert back["customer_pk"].to_list() == sorted(pks)
    assert back["as_of"].unique().to_list() == [AS_OF]
    assert back["p_alive"].to_list() == [None, 0.25, 0.25]
    assert json.loads(back["top_signals"][1]) == [{"code": "late", "days": 200}]
    assert back.schema["tier"] == pl.Int64()


def stored(as_of: date = AS_OF) -> dict[int, dict[str, object]]:
    """The date's rows by customer, every column but the row id, JSON parsed."""
    from winback.store.analysis.models import CustomerSnapshot

    rows = CustomerSnapshot.objects.filter(as_of=as_of).values()
    return {r["customer_id"]: {k: v for k, v in r.items() if k != "id"} for r in rows}


def row_ids(as_of: date = AS_OF) -> dict[int, int]:
    from winback.store.analysis.models import CustomerSnapshot

    return dict(CustomerSnapshot.objects.filter(as_of=as_of).values_list("customer_id", "id"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stage", [False, True])
def test_a_rerun_ends_as_a_fresh_write_of_the_new_rows(stage: bool) -> None:
    """Customers dropped, added and changed (values to and from NULL, a status, the signals)
    between two runs of a date: the date then holds what writing the second run into an empty
    date holds, and the earlier date is untouched."""
    from django.db import connection

    pks = customers(6)
    earlier = date(2024, 2, 29)
    write(scores(pks, 10.0, as_of=earlier), earlier, stage=stage)
    first = scores(pks[:5], 80.0)
    write(first, stage=stage)
    ids = row_ids()

    def set_for(pk: int, column: str, value: object) -> pl.Expr:
        return (
            pl.when(pl.col("customer_pk") == pk).then(value).otherwise(pl.col(column)).alias(column)
        )

    # pks[0] no longer scored, pks[5] new; pks[1]'s P(alive) 0.25 -> 0.75, pks[2]'s status,
    # pks[3]'s signals and pks[4]'s tier (2 -> NULL) changed.
    second = scores(pks[1:], 80.0).with_columns(
        set_for(pks[1], "p_alive", pl.lit(0.75)),
        set_for(pks[2], "status", pl.lit("at_risk")),
        set_for(pks[3], "top_signals", pl.lit(json.dumps([{"code": "quiet", "days": 9}]))),
        set_for(pks[4], "tier", pl.lit(None, dtype=pl.Int64)),
    )
    write(second, stage=stage)
    expected_earlier = stored(earlier)

    # The same rows written into a date that had none.
    fresh = date(2024, 4, 30)
    write(second.with_columns(pl.lit(fresh).alias("as_of")), fresh, stage=stage)
    want = {pk: {**row, "as_of": AS_OF} for pk, row in stored(fresh).items()}
    assert stored() == want
    assert set(want) == set(pks[1:])
    assert want[pks[1]]["p_alive"] == pytest.approx(0.75)
    assert want[pks[4]]["tier"] is None
    assert stored(earlier) == expected_earlier
    assert len(expected_earlier) == 6
    if stage or connection.vendor == "postgresql":  # upserted: kept rows keep their row
        assert {pk: row_ids()[pk] for pk in pks[1:5]} == {pk: ids[pk] for pk in pks[1:5]}


@pytest.mark.django_db(transaction=True)
def test_a_rerun_writes_only_the_rows_that_changed() -> None:
    """Upserted, not deleted and inserted again: a row whose values are all the same is not
    written (SQLite counts no change, PostgreSQL keeps the row version), a changed one is."""
    from django.db import connection

    pks = customers(3)
    frame = scores(pks, 80.0)
    write(frame, stage=True)
    connection.ensure_connection()
    raw = connection.connection

    def versions() -> dict[int, object]:
        if connection.vendor != "postgresql":
            return {}
        with connection.cursor() as cursor:
            cursor.execute("SELECT customer_id, xmin::text FROM analysis_customersnapshot")
            return dict(cursor.fetchall())

    before, changes = versions(), getattr(raw, "total_changes", 0)
    write(frame, stage=True)
    if connection.vendor == "sqlite":
        assert raw.total_changes == changes
    else:
        assert versions() == before
    changed = frame.with_columns(
        pl.when(pl.col("customer_pk") == pks[2])
        .then(pl.lit(81.0))
        .otherwise(pl.col("churn_score"))
        .alias("churn_score")
    )
    write(changed, stage=True)
    if connection.vendor == "sqlite":
        assert raw.total_changes == changes + 1
    else:
        after = versions()
        assert [pk for pk in pks if after[pk] != before[pk]] == [pks[2]]
    assert stored()[pks[2]]["churn_score"] == 81.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stage", [False, True])
def test_a_customer_scored_twice_is_refused(stage: bool) -> None:
    pks = customers(2)
    write(scores(pks, 80.0), stage=stage)
    with pytest.raises(ValueError, match="more than once"):
        write(scores([pks[0], pks[1], pks[1]], 20.0), stage=stage)
    assert len(stored()) == 2


@pytest.mark.django_db
def test_no_snapshot_index_repeats_the_start_of_another_and_history_uses_the_unique_one() -> None:
    """The customer's own index went (0056): the unique (customer, as_of) index serves the
    customer's history and the foreign key's cascade."""
    from django.db import connection

    from winback.store.analysis.models import CustomerSnapshot

    table = CustomerSnapshot._meta.db_table
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
        indexes = {
            name: tuple(c["columns"]) for name, c in found.items() if c["index"] or c["unique"]
        }
        assert ("customer_id",) not in indexes.values()
        unique = [n for n, c in found.items() if c["unique"] and not c["primary_key"]]
        assert [indexes[n] for n in unique] == [("customer_id", "as_of")]
        history = CustomerSnapshot.objects.filter(customer_id=1).order_by("-as_of")[:1]
        sql, params = history.query.sql_with_params()
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "snapshot_customer_as_of" in plan
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "sqlite_autoindex" in plan
            assert "(customer_id=?)" in plan


@pytest.mark.slow  # migrates the test database back and forth
@pytest.mark.django_db(transaction=True)
def test_the_migration_drops_the_customer_index_and_its_reverse_recreates_it() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from winback.store.analysis.models import CustomerSnapshot

    table = CustomerSnapshot._meta.db_table

    def customer_only() -> list[str]:
        with connection.cursor() as cursor:
            found = connection.introspection.get_constraints(cursor, table)
        return [n for n, c in found.items() if c["index"] and c["columns"] == ["customer_id"]]

    assert customer_only() == []
    executor = MigrationExecutor(connection)
    executor.migrate([("analysis", "0003_snapshot_churn_probability")])
    assert len(customer_only()) == 1
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert customer_only() == []
