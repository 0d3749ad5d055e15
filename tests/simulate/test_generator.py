"""The sample data generator: reproducible files that honour the import contracts, a manifest
that agrees with the files, and a ground truth that is consistent with what the files show."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from winback.programme.reasons import REASON_CODES
from winback.schema import IMPORT_ORDER
from winback.simulate import generator
from winback.simulate.calendar import last_day_of_previous_month, window_for
from winback.simulate.generator import generate_dataset

from .readback import Table, judge, parse_cents, parse_when, read_table

END = date(2026, 10, 31)
CUSTOMERS = 1200
MONTHS = 24


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("retail")
    manifest = generate_dataset("retail", CUSTOMERS, MONTHS, 11, out, end_date=END)
    return out, manifest


@pytest.fixture(scope="module")
def tables(dataset: tuple[Path, dict[str, Any]]) -> dict[str, Table]:
    out, manifest = dataset
    return {
        f["kind"]: read_table(f["kind"], out / f["path"], f["encoding"]) for f in manifest["files"]
    }


@pytest.fixture(scope="module")
def truth(dataset: tuple[Path, dict[str, Any]]) -> pl.DataFrame:
    out, manifest = dataset
    return pl.read_parquet(out / manifest["ground_truth"])


def _entry(manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(f for f in manifest["files"] if f["kind"] == kind)


def _valid_frame(table: Table) -> pl.DataFrame:
    rows = judge(table).valid_rows
    return pl.DataFrame(
        {
            name: [str(r[name]) if r[name] is not None else None for r in rows]
            for name in table.fields
        }
    )


@pytest.fixture(scope="module")
def orders(tables: dict[str, Table]) -> pl.DataFrame:
    frame = _valid_frame(tables["orders"])
    return frame.with_columns(
        pl.col("order_date")
        .map_elements(lambda v: parse_when(v).date(), return_dtype=pl.Date)  # type: ignore[union-attr]
        .alias("day"),
        pl.col("amount").map_elements(parse_cents, return_dtype=pl.Int64).alias("cents"),
    )


@pytest.fixture(scope="module")
def events(tables: dict[str, Table]) -> pl.DataFrame:
    frame = _valid_frame(tables["events"])
    return frame.with_columns(
        pl.col("occurred_at")
        .map_elements(lambda v: parse_when(v).date(), return_dtype=pl.Date)  # type: ignore[union-attr]
        .alias("day")
    )


# -- the manifest and the files ------------------------------------------------------------


def test_manifest_describes_every_import_kind_in_import_order(
    dataset: tuple[Path, dict[str, Any]],
) -> None:
    out, manifest = dataset
    assert [f["kind"] for f in manifest["files"]] == list(IMPORT_ORDER)
    assert manifest["end_date"] == "2026-10-31"
    assert (manifest["industry"], manifest["seed"], manifest["customers"]) == ("retail", 11, 1200)
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    for entry in manifest["files"]:
        assert (out / entry["path"]).is_file()


def test_row_counts_agree_with_the_files(
    dataset: tuple[Path, dict[str, Any]], tables: dict[str, Table]
) -> None:
    _, manifest = dataset
    for entry in manifest["files"]:
        table = tables[entry["kind"]]
        assert len(table.rows) == entry["rows"], entry["kind"]
        assert entry["valid_rows"] + sum(entry["rejected_by_reason"].values()) == entry["rows"]


def test_rejects_recounted_from_the_files_match_the_manifest(
    dataset: tuple[Path, dict[str, Any]], tables: dict[str, Table]
) -> None:
    _, manifest = dataset
    for entry in manifest["files"]:
        verdict = judge(tables[entry["kind"]])
        assert dict(verdict.rejected) == entry["rejected_by_reason"], entry["kind"]
        assert len(verdict.valid_rows) == entry["valid_rows"], entry["kind"]
        # Each bad row carries exactly one defect; duplicates are exact copies.
        assert verdict.most_defects_in_a_row <= 1, entry["kind"]
        assert verdict.duplicates_are_exact_copies, entry["kind"]


def test_transactional_files_carry_each_kind_of_defect(
    dataset: tuple[Path, dict[str, Any]],
) -> None:
    _, manifest = dataset
    expected = {
        "customers": {"missing_required", "duplicate_key", "too_long"},
        "orders": {"bad_date", "bad_amount", "missing_required", "duplicate_key", "too_long"},
        "order-lines": {"bad_amount", "missing_required", "duplicate_key"},
        "events": {"bad_date", "bad_choice", "missing_required"},
        "contacts": {"bad_date", "bad_choice", "missing_required", "duplicate_key"},
    }
    for kind, reasons in expected.items():
        found = _entry(manifest, kind)["rejected_by_reason"]
        assert set(found) == reasons, kind
        assert all(n >= 1 for n in found.values())


def test_files_without_a_key_column_get_no_duplicate_key_rows(
    dataset: tuple[Path, dict[str, Any]], tables: dict[str, Table]
) -> None:
    _, manifest = dataset
    assert "event_id" not in tables["events"].fields
    assert "duplicate_key" not in _entry(manifest, "events")["rejected_by_reason"]


def test_encodings_and_formats_are_the_documented_ones(
    dataset: tuple[Path, dict[str, Any]],
) -> None:
    out, manifest = dataset
    assert (out / "customers.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    raw_orders = (out / "orders.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw_orders.decode("utf-8")
    assert raw_orders.decode("gbk").startswith("订单号,")
    assert (out / "order_lines.csv").read_text(encoding="utf-8").startswith("order no,")
    assert _entry(manifest, "contacts")["path"] == "contacts.xlsx"
    assert _entry(manifest, "orders")["encoding"] == "gbk"


def test_dates_and_amounts_use_the_mixed_spellings(tables: dict[str, Table]) -> None:
    dates = [str(r["order_date"]) for r in tables["orders"].rows]
    assert any("年" in d for d in dates)
    assert any(d.count("/") == 2 for d in dates)
    assert any(len(d) == 8 and d.isdigit() for d in dates)
    assert any(len(d) == 19 and d[4] == "-" for d in dates)
    amounts = [str(r["amount"]) for r in tables["orders"].rows]
    for style in ("(", "-", "￥"):
        assert any(a.startswith(style) for a in amounts), style
    assert any("," in a for a in amounts)
    times = [str(r["occurred_at"]) for r in tables["events"].rows]
    assert sum(t.replace(".", "").isdigit() for t in times) > len(times) / 2  # Excel serials


def test_references_point_at_rows_of_the_other_files(tables: dict[str, Table]) -> None:
    def keys(kind: str, name: str) -> set[str]:
        return {str(r[name]) for r in judge(tables[kind]).valid_rows}

    customers = keys("customers", "customer_id")
    order_ids = keys("orders", "order_id")
    lines = judge(tables["order-lines"]).valid_rows
    assert {r["order_id"] for r in lines} <= order_ids
    assert {r["sku"] for r in lines} <= keys("products", "sku")
    assert {r["category_code"] for r in lines} <= keys("categories", "category_code")
    assert {r["category_code"] for r in judge(tables["products"]).valid_rows} <= keys(
        "categories", "category_code"
    )
    stores = keys("stores", "store_code")
    assert {r["store_code"] for r in judge(tables["orders"]).valid_rows} <= stores
    for kind in ("events", "contacts"):
        assert {r["customer_id"] for r in judge(tables[kind]).valid_rows} <= customers, kind
    referred = {r["referred_customer_id"] for r in judge(tables["events"]).valid_rows}
    assert referred - {None} <= customers


def test_walk_in_customers_are_counted_as_stubs(
    dataset: tuple[Path, dict[str, Any]], tables: dict[str, Table], truth: pl.DataFrame
) -> None:
    _, manifest = dataset
    known = {str(r["customer_id"]) for r in judge(tables["customers"]).valid_rows}
    buyers = {str(r["customer_id"]) for r in judge(tables["orders"]).valid_rows}
    stubs = buyers - known
    assert len(stubs) == _entry(manifest, "orders")["stub_customers"]
    # walk-ins carry the till's ids, and there are a handful: 2-50, one per 2,000 customers
    assert all(s.startswith("W") for s in stubs), sorted(stubs)[:5]
    assert 2 <= len(stubs) <= min(max(CUSTOMERS // 2000, 2), 50)
    outside = set(truth.filter(~pl.col("in_customer_file"))["external_id"].to_list())
    assert stubs == outside


def test_refunds_are_separate_negative_orders(orders: pl.DataFrame) -> None:
    refunds = orders.filter(pl.col("cents") < 0)
    assert refunds.height > 0
    assert refunds.height < orders.height * 0.1
    assert refunds["order_id"].n_unique() == refunds.height


def test_contacts_become_csv_above_the_xlsx_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "XLSX_CONTACTS_MAX_CUSTOMERS", 100)
    manifest = generate_dataset("dental", 150, 12, 5, tmp_path, end_date=END)
    entry = _entry(manifest, "contacts")
    assert (entry["path"], entry["encoding"]) == ("contacts.csv", "utf-8")
    table = read_table("contacts", tmp_path / "contacts.csv", "utf-8")
    assert len(table.rows) == entry["rows"]
    assert dict(judge(table).rejected) == entry["rejected_by_reason"]


# -- reproducibility -----------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(
    dataset: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, _ = dataset
    generate_dataset("retail", CUSTOMERS, MONTHS, 11, tmp_path, end_date=END)
    first = sorted(p.name for p in out.iterdir())
    assert first == sorted(p.name for p in tmp_path.iterdir())
    for name in first:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_another_seed_gives_other_data(
    dataset: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, _ = dataset
    generate_dataset("retail", CUSTOMERS, MONTHS, 12, tmp_path, end_date=END)
    for name in ("customers.csv", "orders.csv", "events.csv", "ground_truth.parquet"):
        assert (out / name).read_bytes() != (tmp_path / name).read_bytes(), name


def test_end_date_must_be_given(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="end_date"):
        generate_dataset("retail", 10, 3, 1, tmp_path)


def test_default_end_date_is_the_end_of_the_previous_month() -> None:
    assert last_day_of_previous_month(date(2026, 3, 15)) == date(2026, 2, 28)
    assert last_day_of_previous_month(date(2024, 3, 1)) == date(2024, 2, 29)
    assert last_day_of_previous_month(date(2026, 1, 31)) == date(2025, 12, 31)
    assert window_for(date(2026, 10, 31), 36).start == date(2023, 11, 1)


# -- ground truth --------------------------------------------------------------------------


def test_ground_truth_has_one_row_per_customer(
    tables: dict[str, Table], truth: pl.DataFrame
) -> None:
    assert truth.height == CUSTOMERS
    assert truth["external_id"].n_unique() == CUSTOMERS
    in_file = {str(r["customer_id"]) for r in judge(tables["customers"]).valid_rows}
    assert set(truth.filter(pl.col("in_customer_file"))["external_id"].to_list()) == in_file


def test_leavers_buy_nothing_after_their_dropout_date(
    orders: pl.DataFrame, truth: pl.DataFrame
) -> None:
    last = orders.group_by("customer_id").agg(pl.col("day").max().alias("last_order"))
    joined = truth.join(last, left_on="external_id", right_on="customer_id", how="left")
    leavers = joined.filter(pl.col("dropout_date").is_not_null())
    assert leavers.height > 0.2 * truth.height
    # dropout_date is documented as the day of the last purchase before leaving.
    assert (leavers["last_order"] == leavers["dropout_date"]).all()
    assert (leavers["dropout_date"] <= END).all()
    prospects = joined.filter(pl.col("prospect"))
    assert prospects["last_order"].null_count() == prospects.height


def test_leave_reasons_are_taxonomy_codes_for_leavers_only(truth: pl.DataFrame) -> None:
    left = truth["dropout_date"].is_not_null()
    reasons = truth["leave_reason"]
    assert reasons.filter(left).null_count() == 0
    assert reasons.filter(~left).null_count() == int((~left).sum())
    assert set(reasons.drop_nulls().to_list()) <= set(REASON_CODES) - {"not_found"}
    assert reasons.drop_nulls().n_unique() >= 8  # a mix, not one reason


def test_hidden_traits_are_in_range(truth: pl.DataFrame) -> None:
    for name in ("offer_responsiveness", "price_sensitivity", "satisfaction", "reachability"):
        assert truth[name].is_between(0.0, 1.0).all(), name
    assert truth["latent_value"].min() > 0  # type: ignore[operator]
    assert truth["purchase_rate"].min() > 0  # type: ignore[operator]
    assert set(truth["decision_style"].to_list()) == {"rational", "emotional"}


def test_active_customers_keep_their_own_rhythm(orders: pl.DataFrame, truth: pl.DataFrame) -> None:
    """Among customers still active, those with a higher true purchase rate buy more often
    (Spearman rank correlation of the true rate with observed purchases per day)."""
    counts = orders.filter(pl.col("cents") > 0).group_by("customer_id").len("orders")
    active = (
        truth.filter(pl.col("dropout_date").is_null() & ~pl.col("prospect"))
        .filter(pl.col("join_date") <= END - timedelta(days=365))
        .join(counts, left_on="external_id", right_on="customer_id")
        .with_columns(
            (pl.col("orders") / (pl.lit(END) - pl.col("join_date")).dt.total_days()).alias("pace")
        )
    )
    assert active.height > 50
    rho = active.select(pl.corr("purchase_rate", "pace", method="spearman")).item()
    assert rho > 0.5


def _complained(events: pl.DataFrame) -> set[str]:
    return set(events.filter(pl.col("event_type").is_in(["投诉", "complaint"]))["customer_id"])


def test_leavers_complained_more_often_than_stayers(
    events: pl.DataFrame, truth: pl.DataFrame
) -> None:
    complained = _complained(events)
    buyers = truth.filter(pl.col("in_customer_file") & ~pl.col("prospect"))
    flagged = buyers.with_columns(pl.col("external_id").is_in(list(complained)).alias("c"))
    leavers = flagged.filter(pl.col("dropout_date").is_not_null())["c"].mean()
    stayers = flagged.filter(pl.col("dropout_date").is_null())["c"].mean()
    assert leavers > 1.5 * stayers  # type: ignore[operator]


def test_survey_scores_drop_before_leaving(events: pl.DataFrame, truth: pl.DataFrame) -> None:
    """At the same underlying satisfaction, customers score lower in the half year before
    leaving than customers who stay (compared within five satisfaction bands)."""
    surveys = events.filter(pl.col("event_type").is_in(["问卷", "survey"])).with_columns(
        pl.col("score").cast(pl.Int64)
    )
    joined = surveys.join(truth, left_on="customer_id", right_on="external_id").with_columns(
        (pl.col("satisfaction") * 5).floor().clip(0, 4).alias("band"),
        (
            pl.col("dropout_date").is_not_null()
            & (pl.col("day") >= pl.col("dropout_date") - pl.duration(days=180))
        ).alias("leaving"),
        pl.col("dropout_date").is_null().alias("staying"),
    )
    leaving = joined.filter("leaving").group_by("band").agg(pl.col("score").mean().alias("a"))
    staying = joined.filter("staying").group_by("band").agg(pl.col("score").mean().alias("b"))
    gaps = leaving.join(staying, on="band").select(pl.col("a") - pl.col("b"))
    assert joined.filter("leaving").height > 30
    assert gaps.height >= 4
    assert gaps.to_series().mean() < -1.0  # type: ignore[operator]


def test_price_sensitive_leavers_leave_over_price_more_often(truth: pl.DataFrame) -> None:
    leavers = truth.filter(pl.col("leave_reason").is_not_null())
    median = leavers["price_sensitivity"].median()
    share = leavers.group_by(pl.col("price_sensitivity") > median).agg(
        (pl.col("leave_reason") == "price").mean().alias("price")
    )
    high = share.filter(pl.col("price_sensitivity"))["price"].item()
    low = share.filter(~pl.col("price_sensitivity"))["price"].item()
    assert high > low


def test_customer_records_look_like_a_chinese_member_list(tables: dict[str, Table]) -> None:
    rows = judge(tables["customers"]).valid_rows
    phones = [r["phone"] for r in rows if r["phone"] is not None]
    assert len(phones) > 0.9 * len(rows)
    assert all(len(p) == 11 and p.isdigit() and p[0] == "1" and p[1] in "3456789" for p in phones)
    names = [r["name"] for r in rows]
    assert all(1 < len(n) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)
    assert {r["do_not_contact"] for r in rows} == {"0", "1"}
    assert {r["consent_marketing"] for r in rows} == {"是", "否"}
    assert {r["decision_style"] for r in rows} == {None, "理性", "感性"}


# -- every industry, and the command line --------------------------------------------------


@pytest.mark.parametrize("industry", ["retail", "restaurant", "dental", "aesthetics", "b2b"])
def test_every_industry_generates_valid_files(industry: str, tmp_path: Path) -> None:
    manifest = generate_dataset(industry, 300, 12, 3, tmp_path, end_date=date(2025, 12, 31))
    categories = read_table("categories", tmp_path / "categories.csv", "utf-8")
    assert {r["necessity"] for r in categories.rows} == {"必需", "非必需"}
    for entry in manifest["files"]:
        table = read_table(entry["kind"], tmp_path / entry["path"], entry["encoding"])
        verdict = judge(table)
        assert len(table.rows) == entry["rows"], (industry, entry["kind"])
        assert dict(verdict.rejected) == entry["rejected_by_reason"], (industry, entry["kind"])
    truth = pl.read_parquet(tmp_path / "ground_truth.parquet")
    assert set(truth["leave_reason"].drop_nulls().to_list()) <= set(REASON_CODES)
    assert _entry(manifest, "orders")["valid_rows"] > 300


def test_command_line_writes_the_files_and_prints_a_summary(tmp_path: Path) -> None:
    from winback.cli import app

    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--industry",
            "restaurant",
            "--customers",
            "200",
            "--months",
            "6",
            "--seed",
            "4",
            "--out",
            str(tmp_path),
            "--end-date",
            "2026-01-31",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["end_date"] == "2026-01-31"
    assert manifest["industry"] == "restaurant"
    assert "orders.csv" in result.output


def test_the_response_level_is_recorded_and_changes_no_import_file(tmp_path: Path) -> None:
    from winback.cli import app

    out = tmp_path / "realistic"
    manifest = generate_dataset("dental", 200, 6, 11, out, end_date=END)
    assert manifest["response"] == "realistic"
    assert pl.read_parquet(out / manifest["ground_truth"])["response"].unique().to_list() == [
        "realistic"
    ]
    large_out = tmp_path / "large"
    args = ["--industry", "dental", "--customers", "200", "--months", "6", "--seed", "11"]
    result = CliRunner().invoke(
        app,
        [
            "generate",
            *args,
            "--out",
            str(large_out),
            "--end-date",
            END.isoformat(),
            "--response",
            "large",
        ],
    )
    assert result.exit_code == 0, result.output
    large = json.loads((large_out / "manifest.json").read_text(encoding="utf-8"))
    assert large["response"] == "large"
    truth = pl.read_parquet(large_out / large["ground_truth"])
    assert truth["response"].unique().to_list() == ["large"]
    realistic_truth = pl.read_parquet(out / manifest["ground_truth"])
    assert truth.drop("response").equals(realistic_truth.drop("response"))
    for entry in large["files"]:
        assert (large_out / entry["path"]).read_bytes() == (out / entry["path"]).read_bytes()
    with pytest.raises(ValueError, match="response"):
        generate_dataset("retail", 10, 3, 1, tmp_path / "x", end_date=END, response="huge")
    assert not (tmp_path / "x").exists()
