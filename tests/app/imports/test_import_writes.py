"""How an import writes: COPY into staging tables and set-based upserts (PostgreSQL), prepared
statements (SQLite), references checked per chunk instead of per row, no redundant index.

The PostgreSQL-only tests run in the PostgreSQL pass; the rest run on both databases."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from django.db import connection

from winback.app.imports.service import ImportSummary, import_file
from winback.store import import_writers as writers
from winback.store.customers.models import Category, Customer, Order, OrderLine, Product, Store
from winback.store.imports.models import ImportBatch, ImportStatus
from winback.store.tables import table as table_of

pytestmark = pytest.mark.django_db

# Every value COPY (CSV), CSV quoting or a backslash escape could get wrong.
HOSTILE = (
    'double "quoted" value',
    "single 'quoted' value",
    "tab\tinside",
    "line\nfeed",
    "carriage\r\nreturn",
    "back\\slash \\\\ twice",
    "\\N",
    "\\.",
    "first line\n\\.\nafter the end-of-data marker",
    "NULL",
    "comma, and ; semicolon | pipe",
    "老客户挽回 · 中文，全角标点",
    "emoji 🎉 and ＦＵＬＬＷＩＤＴＨ",
    " leading and trailing spaces ",
    "",
)


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _balanced(s: ImportSummary) -> bool:
    return bool(s.read == s.inserted + s.updated + s.unchanged + s.rejected)


def _rejects(summary: ImportSummary) -> list[dict[str, str]]:
    assert summary.rejects_file is not None
    with Path(summary.rejects_file).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _dump(*models: type) -> dict[str, list[tuple[object, ...]]]:
    """Every stored row of these tables, all columns, in id order."""
    out = {}
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"SELECT * FROM {table_of(model)} ORDER BY id")
            out[model.__name__] = cursor.fetchall()
    return out


def test_hostile_values_round_trip_exactly(tmp_path: Path) -> None:
    ids = [f"H{i:02d}" for i in range(len(HOSTILE))]
    rows = [[cid, value, value] for cid, value in zip(ids, HOSTILE, strict=True)]
    rows.append(["HNUL", "nul \x00 inside", "fine"])
    path = _csv(tmp_path / "c.csv", ["customer_id", "name", "notes"], rows)
    summary = import_file("customers", path, lang="en", chunk_rows=8)
    assert _balanced(summary)
    assert (summary.inserted, summary.rejected) == (len(HOSTILE), 1)
    [nul] = _rejects(summary)
    # The row number is the line the row starts on (multi-line cells above push it down).
    lines_before = sum(cell.count("\n") for row in rows[:-1] for cell in row)
    assert (nul["customer_id"], nul["reason_code"]) == ("HNUL", "control_character")
    assert nul["row_number"] == str(len(rows) + 1 + lines_before)
    stored = dict(Customer.objects.values_list("external_id", "notes"))
    names = dict(Customer.objects.values_list("external_id", "name"))
    for cid, value in zip(ids, HOSTILE, strict=True):
        expected = value.strip()  # cells are trimmed on reading, as in every import
        assert stored[cid] == expected, (cid, value)
        assert names[cid] == expected, (cid, value)
    assert "HNUL" not in stored
    # Stored exactly what the file says: the same file again is all unchanged.
    again = import_file("customers", path, lang="en", chunk_rows=8)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(HOSTILE))
    # And an update (whole rows and partial) carries them through the update path too.
    swapped = [[cid, "x", value] for cid, value in zip(ids, reversed(HOSTILE), strict=True)]
    whole = import_file(
        "customers", _csv(tmp_path / "u.csv", ["customer_id", "name", "notes"], swapped)
    )
    assert whole.updated == len(HOSTILE)
    notes_only = [[cid, value] for cid, value in zip(ids, HOSTILE, strict=True)]
    partial = import_file(
        "customers", _csv(tmp_path / "p.csv", ["customer_id", "notes"], notes_only)
    )
    assert partial.updated == sum(a != b for a, b in zip(HOSTILE, reversed(HOSTILE), strict=True))
    stored = dict(Customer.objects.values_list("external_id", "notes"))
    assert [stored[cid] for cid in ids] == [v.strip() for v in HOSTILE]
    assert set(Customer.objects.filter(external_id__in=ids).values_list("name", flat=True)) == {"x"}


@pytest.mark.slow
def test_hostile_values_in_big_chunks_of_new_rows_are_stored_exactly(tmp_path: Path) -> None:
    """New orders go straight into the table (COPY on PostgreSQL): hostile text in a chunk of
    thousands of rows round-trips, rejected rows among them are reported with their row
    numbers and the rest kept, and the same file again changes nothing."""
    n = 3_000
    bad = {7, 1_500, 2_999}  # unreadable amounts, spread over the chunks
    rows = [
        [
            f"O{i:05d}",
            f"C{i % 97}",
            f"2024-03-{i % 28 + 1:02d} 10:{i % 60:02d}",
            "not money" if i in bad else f"{i}.{i % 100:02d}",
            HOSTILE[i % len(HOSTILE)],
        ]
        for i in range(n)
    ]
    header = ["order_id", "customer_id", "order_date", "amount", "coupon"]
    path = _csv(tmp_path / "o.csv", header, rows)
    first = import_file("orders", path, lang="en", chunk_rows=1_000)
    assert _balanced(first)
    assert (first.inserted, first.rejected) == (n - len(bad), len(bad))
    rejected = [(r["row_number"], r["reason_code"], r["order_id"]) for r in _rejects(first)]
    # A row's number is the line it starts on (multi-line cells above push it down).
    start = [2 + i + sum(c.count("\n") for r in rows[:i] for c in r) for i in range(n)]
    assert rejected == [(str(start[i]), "bad_amount", f"O{i:05d}") for i in sorted(bad)]
    stored = dict(Order.objects.values_list("order_key", "coupon_code"))
    assert len(stored) == n - len(bad)
    for i, row in enumerate(rows):
        if i not in bad:
            assert stored[row[0]] == row[4].strip(), (i, row[4])
    before = _dump(Customer, Order)
    again = import_file("orders", path, lang="en", chunk_rows=700)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, n - len(bad))
    assert _dump(Customer, Order) == before


def test_deleting_a_product_or_category_still_empties_its_order_lines(tmp_path: Path) -> None:
    """Order lines keep no index on product or category (no query looks them up that way);
    the ORM's ``on_delete`` still finds the lines."""
    category = Category.objects.create(code="K1", name="k", row_hash="h")
    product = Product.objects.create(sku="P1", name="p", category=category, row_hash="h")
    orders = _csv(
        tmp_path / "o.csv",
        ["order_id", "customer_id", "order_date", "amount"],
        [["O1", "C1", "2024-03-01", "3"]],
    )
    import_file("orders", orders)
    lines = _csv(
        tmp_path / "l.csv",
        ["order_id", "line_no", "sku", "category", "amount"],
        [["O1", "1", "P1", "K1", "1"], ["O1", "2", "P1", "K1", "2"]],
    )
    assert import_file("order-lines", lines).inserted == 2
    assert OrderLine.objects.filter(product=product, category=category).count() == 2
    product.delete()
    assert OrderLine.objects.filter(product__isnull=True, category=category).count() == 2
    category.delete()
    assert OrderLine.objects.filter(product__isnull=True, category__isnull=True).count() == 2


@pytest.mark.postgres_only
def test_postgres_rerun_through_copy_changes_nothing(tmp_path: Path) -> None:
    orders = _csv(
        tmp_path / "o.csv",
        ["order_id", "customer_id", "order_date", "amount", "channel"],
        [
            [f"O{i}", f"C{i % 7}", f"2024-03-{i % 28 + 1:02d} 10:00", f"{i}.50", "门店"]
            for i in range(30)
        ],
    )
    lines = _csv(
        tmp_path / "l.csv",
        ["order_id", "line_no", "amount", "qty"],
        [[f"O{i // 3}", str(i % 3 + 1), f"{i}.25", "1.5"] for i in range(90)],
    )
    first_o = import_file("orders", orders, chunk_rows=20)
    first_l = import_file("order-lines", lines, chunk_rows=40)
    assert (first_o.inserted, first_o.stub_customers_created, first_l.inserted) == (30, 7, 90)
    before = _dump(Customer, Order, OrderLine)
    again_o = import_file("orders", orders, chunk_rows=20)
    again_l = import_file("order-lines", lines, chunk_rows=25)  # other chunk borders, same rows
    assert (again_o.inserted, again_o.updated, again_o.unchanged) == (0, 0, 30)
    assert (again_l.inserted, again_l.updated, again_l.unchanged) == (0, 0, 90)
    assert _dump(Customer, Order, OrderLine) == before


@pytest.mark.postgres_only
def test_postgres_interrupted_run_is_completed_by_the_rerun(tmp_path: Path) -> None:
    lines_rows = [[f"O{i // 4}", str(i % 4 + 1), f"{i}.00"] for i in range(100)]
    orders = _csv(
        tmp_path / "o.csv",
        ["order_id", "customer_id", "order_date", "amount"],
        [[f"O{i}", f"C{i}", "2024-03-01", "1"] for i in range(25)],
    )
    import_file("orders", orders)
    lines = _csv(tmp_path / "l.csv", ["order_id", "line_no", "amount"], lines_rows)
    whole = import_file("order-lines", lines, chunk_rows=30)
    complete = _dump(OrderLine)
    # Cut the run after its first two chunks, as a killed process leaves it.
    OrderLine.objects.filter(order__order_key__in=[f"O{i}" for i in range(15, 25)]).delete()
    ImportBatch.objects.filter(pk=whole.batch_id).update(
        status=ImportStatus.RUNNING,
        rows_committed=60,
        inserted=60,
        summary={**ImportBatch.objects.get(pk=whole.batch_id).summary, "pid": None},
    )
    resumed = import_file("order-lines", lines, chunk_rows=30)
    assert resumed.resumed
    assert (resumed.inserted, resumed.unchanged) == (100, 0)
    assert [r[1:] for r in _dump(OrderLine)["OrderLine"]] == [r[1:] for r in complete["OrderLine"]]


@pytest.mark.postgres_only
def test_postgres_rows_of_unknown_customers_and_orders_are_rejected_with_row_numbers(
    tmp_path: Path,
) -> None:
    Customer.objects.create(external_id="C1")
    rows = [
        ["O1", "C1", "2024-03-01", "10"],
        ["O2", "NOBODY", "2024-03-02", "11"],
        ["O3", "C1", "2024-03-03", "12"],
        ["O4", "NOBODY-EITHER", "2024-03-04", "13"],
    ]
    orders = _csv(tmp_path / "o.csv", ["order_id", "customer_id", "order_date", "amount"], rows)
    summary = import_file("orders", orders, lang="en", unknown_customer_policy="reject")
    assert (summary.inserted, summary.rejected) == (2, 2)
    rejected = [(r["row_number"], r["reason_code"], r["customer_id"]) for r in _rejects(summary)]
    assert rejected == [
        ("3", "unknown_customer", "NOBODY"),
        ("5", "unknown_customer", "NOBODY-EITHER"),
    ]
    assert all(r["reason"] for r in _rejects(summary))
    assert sorted(Order.objects.values_list("order_key", flat=True)) == ["O1", "O3"]
    lines = _csv(
        tmp_path / "l.csv",
        ["order_id", "line_no", "amount"],
        [["O1", "1", "5"], ["O2", "1", "6"], ["O3", "1", "7"]],
    )
    line_summary = import_file("order-lines", lines, lang="en")
    assert (line_summary.inserted, line_summary.rejected) == (2, 1)
    [unknown] = _rejects(line_summary)
    assert (unknown["row_number"], unknown["reason_code"]) == ("3", "unknown_order")


def test_a_parent_gone_between_look_up_and_write_fails_the_chunk() -> None:
    customer = Customer.objects.create(external_id="C1")
    spec = writers.SPECS["orders"]
    writers.check_references(spec, pl.DataFrame({"customer_id": [customer.pk]}))
    missing = pl.DataFrame({"customer_id": [customer.pk, customer.pk + 1000]})
    with pytest.raises(writers.MissingReferenceError, match="customers_customer"):
        writers.check_references(spec, missing)


def test_no_index_repeats_a_unique_key_or_the_prefix_of_another_index() -> None:
    """An index whose columns start another index (or a unique key) only costs writes."""
    redundant = []
    with connection.cursor() as cursor:
        for model in {spec.model for spec in writers.SPECS.values()}:
            table = table_of(model)
            found = connection.introspection.get_constraints(cursor, table)
            indexes = {
                name: tuple(c["columns"])
                for name, c in found.items()
                if c["index"] or c["unique"] or c["primary_key"]
            }
            for name, columns in indexes.items():
                if found[name]["unique"] or found[name]["primary_key"]:
                    continue
                for other, longer in indexes.items():
                    if other != name and longer[: len(columns)] == columns:
                        redundant.append(f"{table}.{name} {columns} (served by {other} {longer})")
    assert redundant == []


@pytest.mark.postgres_only
def test_postgres_rows_stored_meanwhile_by_another_import_are_upserted() -> None:
    """New rows go in with a plain INSERT; when some were stored since the chunk was classified
    (another import), the savepoint is rolled back and the same rows are upserted."""
    Store.objects.create(code="S1", name="old", row_hash="h0")
    rows = pl.DataFrame(
        {"code": ["S1", "S2"], "name": ["new", "two"], "city": ["", ""], "row_hash": ["h1", "h2"]}
    )
    assert writers.insert_rows(writers.SPECS["stores"], rows) == 2
    stored = set(Store.objects.values_list("code", "name", "row_hash"))
    assert stored == {("S1", "new", "h1"), ("S2", "two", "h2")}


@pytest.mark.postgres_only
def test_postgres_staged_rows_stored_meanwhile_are_upserted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table with columns the file does not fill (customers) is inserted from staging; when
    another import stored some of the rows after the chunk was classified (simulated: the
    classification sees nothing stored), the same rows are upserted."""
    header = ["customer_id", "name"]
    import_file("customers", _csv(tmp_path / "a.csv", header, [["C1", "old"]]))
    empty = pl.DataFrame(schema={"_key": pl.String, "_id": pl.Int64, "_stored_hash": pl.String})
    monkeypatch.setattr(writers, "stored_rows", lambda spec, chunk: empty)
    summary = import_file(
        "customers", _csv(tmp_path / "b.csv", header, [["C1", "new"], ["C2", "two"]])
    )
    assert summary.inserted == 2  # as the chunk was classified
    assert dict(Customer.objects.values_list("external_id", "name")) == {"C1": "new", "C2": "two"}


def test_key_look_ups_find_keys_holding_array_syntax(tmp_path: Path) -> None:
    """Keys travel to the database as one array text: quotes, backslashes, commas, braces,
    blanks and the word NULL inside a key must arrive exactly."""
    keys = ['a"b', "c\\d", "e,f", "{g}", "h i", "NULL", "j\\", '"', "客户 1", "k'l"]
    path = _csv(tmp_path / "c.csv", ["customer id", "name"], [[k, "x"] for k in keys])
    import_file("customers", path)
    stored = dict(Customer.objects.values_list("external_id", "pk"))
    assert {'a"b', "c\\d", "e,f", "{g}", "j\\", '"', "k'l"} <= set(stored)
    wanted = pl.Series("key", [*stored, "absent", "a"])
    found, pks = writers.lookup_keys("customers", wanted)
    assert dict(zip(found, pks, strict=True)) == stored
    spec = writers.SPECS["customers"]
    chunk = pl.DataFrame({spec.match[0]: [*stored, "absent"]})
    assert sorted(writers.stored_rows(spec, chunk)["_id"]) == sorted(stored.values())
