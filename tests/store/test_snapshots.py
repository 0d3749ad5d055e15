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
