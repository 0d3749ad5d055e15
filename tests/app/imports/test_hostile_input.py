"""Hostile input: every value that could break a later step is refused at import, with a clear
row-level or file-level message; good rows of the same file are all kept; no batch is left
running; and analysis, round planning and the monthly report run afterwards on what was stored.

One generated business is imported first (the production importer, as the demo does); each
case below then imports one hostile file on top. ``OUTCOMES`` collects what each case did (the
figures quoted in the change's notes: ``pytest ... -s`` prints them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from winback.app.imports.service import ImportSummary, import_file
from winback.ingest.messages import ImportFileError
from winback.schema import IMPORT_ORDER
from winback.simulate.generator import generate_dataset
from winback.store.customers.models import ContactLog, Customer, Order
from winback.store.imports.models import ImportBatch, ImportStatus

END = date(2024, 3, 31)
MONTH = date(2024, 3, 1)
NEXT_MONTH = date(2024, 4, 1)
MAX_MESSAGE = 400  # no message echoes huge input
OUTCOMES: list[tuple[str, str]] = []


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    body: Callable[[list[str]], bytes]  # customer ids of the business -> file bytes
    good_rows: int = 0  # rows that must be stored
    reject: str | None = None  # the reason code of the bad row(s)
    refuse: str | None = None  # the file error code when the whole file is refused
    suffix: str = ".csv"


def _orders(ids: list[str], bad: str) -> bytes:
    good = "\n".join(f"H-{ids[i]}-{i},{ids[i]},2024-03-0{i + 1},12.50" for i in range(3))
    return f"order_id,customer_id,order_date,amount\n{good}\n{bad}\n".encode()


def _bad_order(cell: str) -> Callable[[list[str]], bytes]:
    return lambda ids: _orders(ids, f"H-BAD-{abs(hash(cell)) % 10**6},{ids[5]},{cell},10")


def _bad_amount(cell: str) -> Callable[[list[str]], bytes]:
    return lambda ids: _orders(ids, f"H-AMT-{abs(hash(cell)) % 10**6},{ids[5]},2024-03-09,{cell}")


def _contacts(ids: list[str], reason: str, occurred: str = "2024-03-10 10:00") -> bytes:
    rows = [
        f"K-{ids[1]}-1,{ids[1]},phone,answered,2024-03-11 10:00,price",
        f"K-{ids[2]}-1,{ids[2]},phone,answered,2024-03-12 10:00,价格偏高",
        f"K-{ids[3]}-X,{ids[3]},phone,answered,{occurred},{reason}",
    ]
    header = "contact_id,customer_id,channel,outcome,occurred_at,reason_code"
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def _customers(ids: list[str], cell: str, column: str = "notes") -> bytes:
    return (f"customer_id,{column}\n{ids[10]},fine\n{ids[11]},{cell}\n").encode()


CASES: tuple[Case, ...] = (
    Case("order dated 0001-01-01", "orders", _bad_order("0001-01-01"), 3, "date_out_of_range"),
    Case("order dated 9999-12-31", "orders", _bad_order("9999-12-31"), 3, "date_out_of_range"),
    Case("order dated 1899-12-30", "orders", _bad_order("1899-12-30"), 3, "date_out_of_range"),
    Case("Excel serial 00000", "orders", _bad_order("00000"), 3, "bad_date"),
    Case("Excel serial 0", "orders", _bad_order("0"), 3, "bad_date"),
    Case("Excel serial 45000 (2023-03-15)", "orders", _bad_order("45000"), 4),
    Case("order two years ahead", "orders", _bad_order("2099-01-01"), 3, "date_out_of_range"),
    Case("amount 10^17", "orders", _bad_amount("99999999999999999"), 3, "bad_amount"),
    Case("negative amount (refund)", "orders", _bad_amount("-50"), 4),
    Case("amount written as a formula", "orders", _bad_amount("=1+1"), 3, "bad_amount"),
    Case(
        "NUL byte in a customer id",
        "orders",
        lambda ids: _orders(ids, f"H-NUL,{ids[5]}\x00x,2024-03-09,10"),
        3,
        "control_character",
    ),
    Case(
        "NUL byte in a note",
        "customers",
        lambda ids: _customers(ids, "bad\x00note"),
        1,
        "control_character",
    ),
    Case(
        "bell and escape characters",
        "customers",
        lambda ids: _customers(ids, "ring\x07\x1b[31m"),
        1,
        "control_character",
    ),
    Case("tab inside a quoted note", "customers", lambda ids: _customers(ids, '"a\tb"'), 2),
    Case(
        "BOM inside a customer id cell",
        "orders",
        lambda ids: _orders(ids, f"H-BOM,\ufeff{ids[5]},2024-03-09,10"),
        4,
    ),
    Case(
        "free-text reason 价格太贵 (synonym)",
        "contacts",
        lambda ids: _contacts(ids, "价格太贵"),
        3,
    ),
    Case(
        "reason with a keyword (搬到外地太远了)",
        "contacts",
        lambda ids: _contacts(ids, "搬到外地太远了"),
        3,
    ),
    Case(
        "reason outside the taxonomy",
        "contacts",
        lambda ids: _contacts(ids, "qwxz神秘"),
        2,
        "unknown_code",
    ),
    Case(
        "contact dated 1970",
        "contacts",
        lambda ids: _contacts(ids, "price", "1970-01-01 08:00"),
        2,
        "date_out_of_range",
    ),
    Case(
        "duplicate order ids",
        "orders",
        lambda ids: _orders(ids, f"H-{ids[0]}-0,{ids[0]},2024-03-01,12.50"),
        3,
        "duplicate_key",
    ),
    Case(
        "empty required cell",
        "orders",
        lambda ids: _orders(ids, "H-EMPTY,,2024-03-09,10"),
        3,
        "missing_required",
    ),
    Case(
        "wrong number of columns",
        "orders",
        lambda ids: _orders(ids, f"H-WIDE,{ids[5]},2024-03-09,10,extra,cells"),
        3,
        "wrong_column_count",
    ),
    Case(
        "a 40,000-character note",
        "customers",
        lambda ids: _customers(ids, "长" * 40_000),
        1,
        "too_long",
    ),
    Case(
        "formula-like and odd unicode text",
        "customers",
        lambda ids: _customers(ids, '"=HYPERLINK(""http://x"",""y"")"', "tags"),
        2,
    ),
    Case(
        "emoji, RTL mark and combining characters in a name",
        "customers",
        lambda ids: _customers(ids, "王\u200f😀e\u0301\u0301", "name"),
        2,
    ),
    Case(
        "birthday 1950 (kept), 1800 (refused)",
        "customers",
        lambda ids: f"customer_id,birthday\n{ids[12]},1950-06-01\n{ids[13]},1800-01-01\n".encode(),
        1,
        "date_out_of_range",
    ),
    Case(
        "call duration 10^15 seconds",
        "contacts",
        lambda ids: (
            "contact_id,customer_id,channel,outcome,occurred_at,duration_seconds\n"
            f"K-D1,{ids[1]},phone,answered,2024-03-02 10:00,60\n"
            f"K-D2,{ids[2]},phone,answered,2024-03-02 11:00,1000000000000000\n"
        ).encode(),
        1,
        "bad_number",
    ),
    Case(
        "GBK and UTF-8 rows mixed",
        "customers",
        lambda ids: (
            b"customer_id,name\n" + f"{ids[20]},张三\n".encode() + f"{ids[21]},李四\n".encode("gbk")
        ),
        refuse="mixed_encoding",
    ),
    Case(
        "UTF-16 without a BOM",
        "customers",
        lambda ids: f"customer_id,name\n{ids[22]},王五\n".encode("utf-16-le"),
        1,
    ),
    Case(
        "UTF-16 without a BOM, broken",
        "customers",
        lambda ids: f"customer_id,name\n{ids[22]},王五\n".encode("utf-16-le") + b"\x00\xdc",
        refuse="utf16_no_bom",
    ),
    Case(
        "a 5 MB header",
        "customers",
        lambda ids: b"customer_id," + b"H" * 5_000_000 + b"\n" + ids[0].encode() + b",x\n",
        refuse="line_too_long",
    ),
    Case(
        "a 5,000-character header",
        "customers",
        lambda ids: b"customer_id," + b"H" * 5_000 + b"\n" + ids[0].encode() + b",x\n",
        refuse="header_too_long",
    ),
    Case(
        "a 3 MB cell",
        "customers",
        lambda ids: f"customer_id,notes\n{ids[0]},".encode() + b"x" * 3_000_000 + b"\n",
        refuse="line_too_long",
    ),
    Case(
        "required column missing, long headers",
        "orders",
        lambda ids: ("客户" * 60 + ",amount\nx,1\n").encode(),
        refuse="missing_columns",
    ),
    Case("empty file", "customers", lambda ids: b"", refuse="empty_file"),
    Case(
        "binary garbage",
        "customers",
        lambda ids: b"customer_id\n" + bytes(range(0x80, 0x100)) * 4 + b"\x00\x01\x02" * 100,
        refuse="undecodable",
    ),
    Case(
        "a program renamed .csv",
        "customers",
        lambda ids: b"MZ\x90\x00" + bytes(range(256)) * 8,
        refuse="undecodable",
    ),
)


@pytest.fixture
def business(tmp_path: Path) -> list[str]:
    """A generated business imported through the importer; returns its customer ids."""
    manifest = generate_dataset("retail", 160, 14, 5, tmp_path / "gen", end_date=END)
    entries = sorted(manifest["files"], key=lambda e: IMPORT_ORDER.index(e["kind"]))
    for entry in entries:
        summary = import_file(entry["kind"], tmp_path / "gen" / entry["path"], lang="en")
        # Nothing lost from good input: every row the generator calls valid is stored.
        assert summary.inserted == entry["valid_rows"], entry["path"]
    return list(
        Customer.objects.filter(is_stub=False)
        .order_by("external_id")[:40]
        .values_list("external_id", flat=True)
    )


def _import(case: Case, ids: list[str], folder: Path) -> ImportSummary | ImportFileError:
    path = folder / f"{CASES.index(case):02d}{case.suffix}"
    path.write_bytes(case.body(ids))
    try:
        return import_file(case.kind, path, lang="en")
    except ImportFileError as exc:
        return exc


def _check(case: Case, result: ImportSummary | ImportFileError) -> str:
    if case.refuse is not None:
        assert isinstance(result, ImportFileError), case.name
        assert result.code.value == case.refuse, (case.name, result.message("en"))
        for lang in ("zh", "en"):
            assert len(result.message(lang)) < MAX_MESSAGE, case.name  # type: ignore[arg-type]
        batch = ImportBatch.objects.order_by("-pk").first()
        assert batch is not None
        assert batch.status == ImportStatus.FAILED
        assert len(str(batch.summary)) < 2 * MAX_MESSAGE, case.name
        return f"file refused: {result.code.value}: {result.message('en')[:90]}"
    assert isinstance(result, ImportSummary), (case.name, result)
    assert result.inserted + result.updated + result.unchanged == case.good_rows, case.name
    if case.reject is None:
        assert result.rejected == 0, (case.name, result.rejected_by_reason)
        return f"accepted: {case.good_rows} rows stored"
    assert result.rejected_by_reason == {case.reject: result.rejected}, case.name
    assert result.rejects_file
    reasons = pl.read_csv(result.rejects_file, infer_schema=False)["reason"]
    assert reasons.str.len_chars().max() < MAX_MESSAGE, case.name  # type: ignore[operator]
    return f"row refused: {case.reject}; {case.good_rows} good rows stored"


@pytest.mark.slow  # a generated business, 36 hostile files, analysis, a round and reports
@pytest.mark.django_db(transaction=True)
def test_hostile_files_are_refused_clearly_and_every_later_step_still_runs(
    business: list[str], tmp_path: Path
) -> None:
    from winback.app.actors import Actor
    from winback.app.analysis.service import analyze
    from winback.app.imports.data_export import export_data
    from winback.app.reports.service import monthly_report, write_report
    from winback.app.rounds.service import demo_team, plan_round

    OUTCOMES.clear()
    for case in CASES:
        OUTCOMES.append((case.name, _check(case, _import(case, business, tmp_path))))
    assert not ImportBatch.objects.filter(status=ImportStatus.RUNNING).exists()

    # What was stored is what it should be: the BOM is gone, the synonym became its code.
    assert Order.objects.filter(order_key="H-BOM", customer__external_id=business[5]).exists()
    assert not Customer.objects.filter(external_id__contains="\ufeff").exists()
    assert ContactLog.objects.get(source_key=f"K-{business[3]}-X").reason_code == "moved_away"
    assert not ContactLog.objects.filter(reason_code="价格太贵").exists()

    # A code stored before imports checked them (legacy data) must not stop the report either.
    legacy = ContactLog.objects.filter(source_key=f"K-{business[1]}-1")
    assert legacy.update(reason_code="价格太贵") == 1

    run = analyze(END)
    assert run.customers > 0
    plan_round(
        Actor.system("cli"),
        month=NEXT_MONTH,
        seed=1,
        agents=demo_team(),
        allow_small_control=True,  # a 160-customer business has few controls
    )
    data = monthly_report(MONTH, n_boot=50)
    for lang, fmt in (("zh", "html"), ("en", "xlsx")):
        assert write_report(MONTH, lang, fmt, tmp_path / f"report.{fmt}", report=data).is_file()
    export_data("customers", "xlsx", tmp_path / "customers.xlsx")
    for name, outcome in OUTCOMES:
        print(f"{name:55s} {outcome}")


@pytest.mark.django_db
def test_the_date_window_is_the_business_setting(tmp_path: Path) -> None:
    from winback.config import preset

    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,order_date,amount\nW1,A,1995-06-01,10\nW2,B,2001-06-01,10\n",
        encoding="utf-8",
    )
    default = import_file("orders", path, lang="en", dry_run=True)
    assert (default.inserted, default.rejected) == (2, 0)
    later = preset("retail", {"import_earliest_date": "2000-01-01", "import_years_ahead": 0})
    strict = import_file("orders", path, lang="en", dry_run=True, profile=later)
    assert (strict.inserted, strict.rejected_by_reason) == (1, {"date_out_of_range": 1})
    rejects = pl.read_csv(strict.rejects_file or "", infer_schema=False)
    assert "2000-01-01" in rejects["reason"][0]
