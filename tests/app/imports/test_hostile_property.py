"""Property: whatever rows the importers are fed, every later step runs on what they stored.

Hypothesis draws hostile rows (any unicode including control characters, extreme and malformed
dates, huge and negative numbers, duplicate ids, unknown reason codes, empty cells,
formula-like text) for customers, orders and contacts, writes them as CSV files (some in GBK)
and imports them on top of a small generated business. Then analysis, round planning and the
monthly report (HTML and XLSX) must run, every input row must be stored or rejected, and no
batch may be left running.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from winback.app.imports.service import import_file
from winback.ingest.messages import ImportFileError
from winback.schema import IMPORT_ORDER
from winback.simulate.generator import generate_dataset
from winback.store.imports.models import ImportBatch, ImportStatus

END = date(2024, 3, 31)

NASTY_TEXT = st.one_of(
    st.text(max_size=30),  # any unicode, control characters included
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            '=HYPERLINK("http://x","y")',
            "+1",
            "-1",
            "@SUM(A1)",
            "\ufeffVIP",
            "价格太贵",
            "ghost_reason",
            "null",
            "NaN",
            "\t=1",
            "a\u202eb",
        ]
    ),
)
DATES = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.sampled_from(
        ["0001-01-01", "9999-12-31", "00000", "0", "1899-12-30", "45000", "2024-02-30"]
    ),
    NASTY_TEXT,
)
AMOUNTS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["(12.50)", "￥1,234.50", "-0", "1e309", ""]),
    NASTY_TEXT,
)


@st.composite
def hostile_files(draw: st.DrawFn, ids: list[str]) -> dict[str, list[list[str]]]:
    some_id = st.one_of(st.sampled_from(ids), NASTY_TEXT)
    n = draw(st.integers(min_value=1, max_value=12))
    customers = [
        [
            draw(some_id),
            draw(NASTY_TEXT),
            draw(NASTY_TEXT),
            draw(DATES),
            draw(NASTY_TEXT),
            draw(st.sampled_from(["yes", "no", "", "maybe", "\x00"])),
        ]
        for _ in range(n)
    ]
    orders = [
        [
            draw(st.one_of(NASTY_TEXT, st.sampled_from(["O-1", "O-1", "O-2"]))),
            draw(some_id),
            draw(DATES),
            draw(AMOUNTS),
        ]
        for _ in range(n)
    ]
    contacts = [
        [
            draw(NASTY_TEXT),
            draw(some_id),
            draw(st.sampled_from(["phone", "sms", "??"])),
            draw(st.sampled_from(["answered", "no_answer", "bogus"])),
            draw(DATES),
            draw(NASTY_TEXT),
            draw(AMOUNTS),
        ]
        for _ in range(n)
    ]
    return {
        "customers": [
            ["customer_id", "name", "tags", "birthday", "notes", "do_not_contact"],
            *customers,
        ],
        "orders": [["order_id", "customer_id", "order_date", "amount"], *orders],
        "contacts": [
            [
                "contact_id",
                "customer_id",
                "channel",
                "outcome",
                "occurred_at",
                "reason_code",
                "duration_seconds",
            ],
            *contacts,
        ],
    }


def _csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


@pytest.mark.slow  # one analysis, round and report per example
@pytest.mark.django_db(transaction=True)
def test_hostile_rows_never_break_analysis_planning_or_reports(tmp_path: Path) -> None:
    from winback.app.actors import Actor
    from winback.app.analysis.service import analyze
    from winback.app.reports.service import monthly_report, write_report
    from winback.app.rounds.service import demo_team, plan_round
    from winback.store.customers.models import Customer
    from winback.store.programme.models import Round

    manifest = generate_dataset("retail", 80, 13, 11, tmp_path / "gen", end_date=END)
    for entry in sorted(manifest["files"], key=lambda e: IMPORT_ORDER.index(e["kind"])):
        import_file(entry["kind"], tmp_path / "gen" / entry["path"], lang="en")
    ids = list(Customer.objects.values_list("external_id", flat=True)[:20])
    counter = iter(range(10**6))

    @settings(
        max_examples=6,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(files=hostile_files(ids), gbk=st.booleans())
    def check(files: dict[str, list[list[str]]], gbk: bool) -> None:
        n = next(counter)
        refused: list[str] = []
        for kind in ("customers", "orders", "contacts"):
            path = tmp_path / f"{n}-{kind}.csv"
            path.write_bytes(_csv_bytes(files[kind], "gb18030" if gbk else "utf-8"))
            try:
                s = import_file(kind, path, lang="en")
            except ImportFileError as exc:
                refused.append(exc.message("en"))
                continue
            assert s.read == s.inserted + s.updated + s.unchanged + s.rejected
        assert all(len(message) < 400 for message in refused)
        assert not ImportBatch.objects.filter(status=ImportStatus.RUNNING).exists()
        analyze(END)
        Round.objects.all().delete()
        plan_round(
            Actor.system("cli"),
            month=date(2024, 4, 1),
            seed=n,
            agents=demo_team(),
            allow_small_control=True,  # a small business has few controls
        )
        data = monthly_report(date(2024, 3, 1), n_boot=20)
        for fmt in ("html", "xlsx"):
            write_report(date(2024, 3, 1), "en", fmt, tmp_path / f"{n}.{fmt}", report=data)

    check()
