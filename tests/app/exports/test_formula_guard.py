"""Every CSV and XLSX we write, with a formula planted in every text field of the source data:
no written cell may start like a formula (numbers such as -12.50 stay numbers)."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from winback.spreadsheet_safety import FORMULA_PREFIXES, is_risky

pytestmark = pytest.mark.slow  # a small demo business, then every export

END = date(2024, 6, 30)
MARK = "HYPERLINK"


def _formula(prefix: str, field: str) -> str:
    return f'{prefix}{MARK}("http://evil.example/{field}","x")'


_PREFIXES = itertools.cycle(FORMULA_PREFIXES)


def _plant() -> int:
    """A formula in every free-text field of every table that an export reads; returns how
    many fields were planted."""
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from winback.store.accounts.models import User
    from winback.store.customers.models import (
        Category,
        ContactLog,
        Customer,
        EngagementEvent,
        Order,
        Product,
        Store,
    )

    text_fields: dict[Any, tuple[str, ...]] = {
        Customer: ("name", "email", "channel", "notes", "do_not_contact_source"),
        Store: ("name", "city"),
        Category: ("name", "name_en"),
        Product: ("name",),
        Order: ("channel", "coupon_code"),
        EngagementEvent: ("text", "campaign_code", "survey_code", "complaint_category"),
        ContactLog: ("agent_name", "notes"),
        User: ("first_name", "last_name"),
    }
    planted = 0
    for model, fields in text_fields.items():
        model.objects.update(**{f: _formula(next(_PREFIXES), f) for f in fields})
        planted += len(fields)
    Customer.objects.update(tags=[_formula("=", "tag"), _formula("＋", "tag2")])
    # The business's own ids too: each starts like a formula in a different way.
    Customer.objects.update(external_id=Concat(Value("@"), F("external_id")))
    Store.objects.update(code=Concat(Value("－"), F("code")))
    Product.objects.update(sku=Concat(Value("+"), F("sku")))
    return planted + 4


def _business(folder: Path) -> None:
    from winback.cli.demo_cycle import run_demo

    run_demo(
        industry="aesthetics",
        customers=160,
        months=8,
        seed=5,
        out=folder / "demo",
        console=Console(file=io.StringIO(), width=120),
        end_date=END,
        rounds=2,
    )
    _plant()


def _cells(path: Path) -> list[Any]:
    if path.suffix == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    from openpyxl import load_workbook

    book = load_workbook(path)  # not read-only: formula cells keep their data type
    cells: list[Any] = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{path.name}!{cell.coordinate} is a formula"
                cells.append(cell.value)
    return cells


def _check(paths: list[Path]) -> int:
    """No risky cell in any file; returns how many quoted cells (planted text) were found."""
    quoted = 0
    for path in paths:
        for value in _cells(path):
            if isinstance(value, str):
                assert not is_risky(value), f"{path.name}: {value[:60]!r}"
                quoted += value[:1] == "'" and value[1:].startswith(FORMULA_PREFIXES)
    return quoted


@pytest.mark.django_db(transaction=True)
def test_every_export_quotes_every_planted_formula(tmp_path: Path) -> None:
    from winback.app.analysis.service import export_scores
    from winback.app.customers.export import export_customers
    from winback.app.customers.pages import CustomerFilters
    from winback.app.imports.data_export import export_data
    from winback.app.reports.service import monthly_report, render
    from winback.app.rounds.call_lists import export_round
    from winback.ingest.export import EXPORT_KINDS
    from winback.store.accounts.models import Role, User
    from winback.store.programme.models import Round

    _business(tmp_path)
    found: dict[str, int] = {}
    for kind in EXPORT_KINDS:
        for fmt in ("csv", "xlsx"):
            out = tmp_path / f"data-{kind}.{fmt}"
            export_data(kind, fmt, out)
            found[f"data export {kind} {fmt}"] = _check([out])

    supervisor = User.objects.create(username="sup-guard", role=Role.SUPERVISOR)
    for fmt in ("csv", "xlsx"):
        made = export_customers(supervisor, CustomerFilters(), fmt)
        out = tmp_path / made.filename
        out.write_bytes(made.content)
        found[f"customer list {fmt}"] = _check([out])

    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"scores.{fmt}"
        export_scores(END, fmt, out)
        found[f"scores {fmt}"] = _check([out])

    calls: list[Path] = []
    for rnd in Round.objects.all():
        calls += export_round(rnd, tmp_path / f"calls-{rnd.pk}", role="supervisor")
    assert calls, "the demo's rounds have call lists"
    found["call lists"] = _check(calls)

    from typer.testing import CliRunner

    from winback.cli import app

    care = tmp_path / "care"
    result = CliRunner().invoke(app, ["care", "due", "--date", "2024-06-30", "--out", str(care)])
    assert result.exit_code == 0, result.output
    found["care lists"] = _check(sorted(care.glob("*.csv")))

    report = tmp_path / "report.xlsx"
    report.write_bytes(render(monthly_report(date(2024, 6, 1), n_boot=50), "en", "xlsx"))
    _check([report])  # aggregates: nothing planted need show, but nothing may run

    # Every writer that carries text from the source wrote some planted text, quoted.
    empty = {name: n for name, n in found.items() if n == 0}
    assert not empty, f"nothing planted reached {sorted(empty)}"


@pytest.mark.django_db
def test_the_rejects_file_quotes_the_rejected_cells(tmp_path: Path) -> None:
    from winback.app.imports.service import import_file

    source = tmp_path / "orders.csv"
    source.write_text(
        "order_id,customer_id,order_date,amount\n"
        + "".join(
            f"{p}O{i},{p}{MARK}(1),not-a-date-{p},{p}1+1\n"
            for i, p in enumerate(FORMULA_PREFIXES)
            if p not in "\r"
        )
        + "O-neg,C-neg,2024-13-45,-12.50\n",
        encoding="utf-8",
    )
    summary = import_file("orders", source)
    assert summary.rejected == len(FORMULA_PREFIXES)
    rejects = Path(summary.rejects_file)
    assert _check([rejects]) >= len(FORMULA_PREFIXES) - 1
    assert "-12.50" in _cells(rejects), "a negative amount stays a number"
