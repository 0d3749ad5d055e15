"""Sample data written straight into the data-lake layout, chunk by chunk, in parallel."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from winback.analytics import lake
from winback.analytics.features import customer_features
from winback.analytics.pipeline import analyze
from winback.config import preset
from winback.simulate.lake import ORDER_STRIDE, chunks, generate_lake

END = date(2026, 10, 31)


def _generate(out: Path, workers: int, customers: int = 1_200) -> lake.LakeManifest:
    return generate_lake(
        "retail", customers, 24, 7, out, end_date=END, workers=workers, chunk_customers=500
    )


def _tables(root: Path) -> dict[str, pl.DataFrame]:
    return {table: lake.scan_table(root, table).collect() for table in lake.TABLES}


def test_chunks_cover_every_customer_once() -> None:
    plan = chunks("retail", 1_200, 24, 7, END, 500)
    assert [(c.number, c.first_pk, c.customers) for c in plan] == [
        (0, 1, 500),
        (1, 501, 500),
        (2, 1_001, 200),
    ]


def test_generated_lake_reads_back_with_global_keys(tmp_path: Path) -> None:
    manifest = _generate(tmp_path, workers=1)
    tables = _tables(tmp_path)

    assert manifest.source == "generator"
    assert manifest.as_of == END
    assert manifest.time_zone == "Asia/Shanghai"
    assert manifest.tables["customers"] == {"rows": 1_200, "parts": 3}
    assert lake.read_manifest(tmp_path) == manifest
    customers = tables["customers"]
    assert customers.get_column("customer_pk").to_list() == list(range(1, 1_201))
    assert customers.get_column("external_id").n_unique() == 1_200
    orders = tables["orders"]
    assert orders.get_column("order_pk").n_unique() == orders.height
    # Order keys name their chunk; every order belongs to a customer of that chunk.
    chunk = orders.get_column("order_pk") // ORDER_STRIDE
    first_pk = chunk * 500 + 1
    assert ((orders["customer_pk"] >= first_pk) & (orders["customer_pk"] < first_pk + 500)).all()
    lines = tables["order_lines"]
    assert lines.join(orders, on="order_pk", how="anti").height == 0
    known = customers.get_column("customer_pk")
    for table in ("orders", "events", "contacts"):
        assert tables[table].get_column("customer_pk").is_in(known.implode()).all(), table
    referred = tables["events"].get_column("referred_customer_pk").drop_nulls()
    assert referred.len() > 0
    assert referred.is_in(known.implode()).all()
    # Walk-ins are stubs, as an import makes them.
    stubs = customers.filter("is_stub")
    assert stubs.height > 0
    assert stubs.get_column("join_date").null_count() == stubs.height
    assert stubs.get_column("external_id").str.starts_with("W").all()
    # Codes are the schema's canonical codes.
    assert set(tables["contacts"].get_column("direction")) <= {"outbound", "inbound"}
    assert set(lines.get_column("necessity").drop_nulls()) <= {"necessary", "discretionary"}
    assert (orders.get_column("order_date") <= END).all()


def test_the_lake_feeds_the_duckdb_features(tmp_path: Path) -> None:
    manifest = _generate(tmp_path, workers=1, customers=300)
    frames = lake.read_lake(tmp_path)

    features = customer_features(frames, preset("retail"), manifest.as_of, backend="duckdb")
    assert features.height == frames.customers.height
    assert features.get_column("customer_pk").to_list() == list(range(1, 301))


@pytest.mark.slow
def test_the_lake_feeds_the_analysis(tmp_path: Path) -> None:
    manifest = _generate(tmp_path, workers=1, customers=1_000)
    frames = lake.read_lake(tmp_path)
    profile = preset("retail")

    result = analyze(frames, profile, manifest.as_of)
    assert result.scores.height == frames.customers.height
    assert result.scores.get_column("churn_score").is_between(0, 100).all()
    assert set(result.scores.get_column("stage")) >= {"active", "lost"}


@pytest.mark.slow
def test_the_tables_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    one = _generate(tmp_path / "one", workers=1)
    two = _generate(tmp_path / "two", workers=2)

    assert one == two
    first, second = _tables(tmp_path / "one"), _tables(tmp_path / "two")
    for table in lake.TABLES:
        assert_frame_equal(first[table], second[table])
    # And part by part, so an engine reading parts in order sees the same rows.
    for table in lake.TABLES:
        for a, b in zip(
            lake.part_paths(tmp_path / "one", table),
            lake.part_paths(tmp_path / "two", table),
            strict=True,
        ):
            assert_frame_equal(pl.read_parquet(a), pl.read_parquet(b))


def test_a_different_seed_gives_a_different_lake(tmp_path: Path) -> None:
    _generate(tmp_path / "a", workers=1, customers=300)
    generate_lake("retail", 300, 24, 8, tmp_path / "b", end_date=END, chunk_customers=500)
    a = lake.scan_table(tmp_path / "a", "orders").collect()
    b = lake.scan_table(tmp_path / "b", "orders").collect()
    assert not a.equals(b)


def test_regenerating_smaller_removes_the_old_parts(tmp_path: Path) -> None:
    _generate(tmp_path, workers=1)
    _generate(tmp_path, workers=1, customers=400)
    assert len(lake.part_paths(tmp_path, "orders")) == 1
    assert lake.read_lake(tmp_path).customers.height <= 400
