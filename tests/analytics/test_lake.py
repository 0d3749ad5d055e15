"""The data-lake layout: written parts read back as the analysis frames, cut to a date."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from winback.analytics import lake
from winback.analytics.frames import AnalyticsFrames

from .synth import synth_history

END = date(2025, 12, 31)


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def test_lake_round_trips_every_table_with_the_contract_types(tmp_path: Path) -> None:
    frames = synth_history(300, seed=3).frames
    manifest = lake.write_lake(tmp_path, frames, as_of=END, source="test", part_rows=500)

    back = lake.read_lake(tmp_path, as_of=END)

    for table, contract in lake.TABLES.items():
        assert dict(getattr(back, table).schema) == contract, table
        assert_frame_equal(_sorted(getattr(back, table)), _sorted(getattr(frames, table)))
        assert manifest.rows(table) == getattr(frames, table).height
    # Several parts, numbered from 0; the manifest says how many.
    parts = lake.part_paths(tmp_path, "order_lines")
    assert [p.name for p in parts[:2]] == ["part-00000.parquet", "part-00001.parquet"]
    assert manifest.tables["order_lines"]["parts"] == len(parts) > 1
    # Dates are Parquet DATE, so every engine reads them as dates.
    schema = pq.read_schema(parts[0])
    assert str(schema.field("order_date").type) == "date32[day]"


def test_an_empty_table_still_has_a_part_with_its_schema(tmp_path: Path) -> None:
    frames = synth_history(50, seed=3, engagement=False).frames
    lake.write_lake(tmp_path, frames, as_of=END, source="test")
    assert [p.name for p in lake.part_paths(tmp_path, "treatments")] == ["part-00000.parquet"]
    assert lake.read_lake(tmp_path).treatments.height == 0


def test_manifest_carries_version_as_of_and_counts(tmp_path: Path) -> None:
    frames = synth_history(80, seed=3).frames
    lake.write_lake(tmp_path, frames, as_of=END, source="test", industry="retail")
    data = json.loads((tmp_path / lake.MANIFEST).read_text(encoding="utf-8"))
    assert data["layout"] == "winback-lake"
    assert data["version"] == lake.LAYOUT_VERSION
    assert data["as_of"] == "2025-12-31"
    assert data["tables"]["customers"] == {"rows": frames.customers.height, "parts": 1}
    assert lake.count_tables(tmp_path) == data["tables"]


def test_a_newer_layout_or_a_plain_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(lake.LakeError, match="missing"):
        lake.read_lake(tmp_path)
    frames = synth_history(20, seed=3).frames
    lake.write_lake(tmp_path, frames, as_of=END, source="test")
    path = tmp_path / lake.MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    data["version"] = lake.LAYOUT_VERSION + 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(lake.LakeError, match="version"):
        lake.read_lake(tmp_path)


def test_reading_as_of_an_earlier_date_sees_only_what_was_known(tmp_path: Path) -> None:
    pk = pl.Series([1, 2, 3], dtype=pl.Int64)
    customers = pl.DataFrame(
        {
            "customer_pk": pk,
            "external_id": ["a", "b", "c"],
            "join_date": [date(2024, 1, 1), date(2025, 3, 1), None],
            "birthday": [None, None, None],
            "store_code": ["S01", None, None],
            "is_stub": [False, False, True],
            "consent_marketing": [True, True, False],
            "do_not_contact": [False, False, False],
        }
    )
    orders = pl.DataFrame(
        {
            "order_pk": [10, 11, 12],
            "customer_pk": [1, 1, 3],
            "order_date": [date(2024, 2, 1), date(2025, 2, 1), date(2025, 4, 1)],
            "amount_cents": [100, 200, 300],
            "coupon_code": [None, "X", None],
        }
    )
    lines = orders.select(
        "order_pk",
        "customer_pk",
        "order_date",
        pl.lit("staple").alias("category_code"),
        pl.lit("necessary").alias("necessity"),
        pl.lit(None, dtype=pl.Int64).alias("replenishment_days"),
        pl.lit(1.0).alias("quantity"),
        "amount_cents",
    )
    events = pl.DataFrame(
        {
            "customer_pk": [1, 1],
            "event_type": ["complaint", "complaint"],
            "occurred_date": [date(2024, 6, 1), date(2025, 6, 1)],
            "referred_customer_pk": [None, None],
            "referred_bought": [None, None],
            "score": [None, None],
            "adopted": [None, None],
            "resolved": [True, True],
            "resolved_date": [date(2025, 2, 1), date(2025, 7, 1)],
        },
        schema_overrides={"referred_customer_pk": pl.Int64, "referred_bought": pl.Boolean},
    )
    contacts = pl.DataFrame(
        {
            "customer_pk": [1, 3],
            "occurred_date": [date(2024, 3, 1), date(2024, 3, 1)],
            "channel": ["phone", "phone"],
            "direction": ["outbound", "outbound"],
            "outcome": ["reached", "no_answer"],
        }
    )
    frames = AnalyticsFrames(customers, orders, lines, events, contacts)
    lake.write_lake(tmp_path, frames, as_of=date(2025, 12, 31), source="test")

    then = lake.read_lake(tmp_path, as_of=date(2025, 1, 15))

    # Customer 2 joined later and 3 (no join date) was first seen later.
    assert then.customers.get_column("customer_pk").to_list() == [1]
    assert then.orders.get_column("order_pk").to_list() == [10]
    assert then.order_lines.get_column("order_pk").to_list() == [10]
    # The complaint resolved after the date was still open then.
    assert then.events.select("resolved", "resolved_date").rows() == [(False, None)]
    # Customer 3's contact predates the date but the customer was not known yet.
    assert then.contacts.get_column("customer_pk").to_list() == [1]
    everything = lake.read_lake(tmp_path)
    assert everything.customers.height == 3
    assert everything.events.get_column("resolved").to_list() == [True, True]
