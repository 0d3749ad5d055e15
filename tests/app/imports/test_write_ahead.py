"""Chunks prepared ahead in a worker thread while the previous chunk is written: the stored
rows, the rejects and the counts are exactly those of writing one chunk after another; an
error in the worker fails the batch cleanly; re-runs and interrupted runs behave as before."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.db import connection

from winback.app.imports import service
from winback.app.imports.service import ImportSummary, import_file
from winback.ingest.messages import FileError, ImportFileError
from winback.store.customers.models import Category, Customer, Order, OrderLine, Product, Store
from winback.store.imports.models import ImportBatch, ImportStatus

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # a dozen imports each
CHUNK = 4
COUNTS = ("read", "inserted", "updated", "unchanged", "rejected", "stub_customers_created")


def _one_after_another(
    items: Iterable[Any],
    work: Callable[[Any], Any],
    depth: int = 1,
    on_exit: Callable[[], None] | None = None,
) -> Iterator[Any]:
    for item in items:
        yield work(item)
    if on_exit is not None:
        on_exit()


def _files(tmp_path: Path) -> dict[str, Path]:
    """A small business whose orders and order lines hold every kind of trouble, spread over
    several chunks: bad dates and amounts, duplicate keys, unknown customers (stubs, named
    again in later chunks), unknown orders, products and stores, cells that look like
    formulas, quotes and backslashes."""
    orders = ["order id,customer id,order date,amount,store"]
    lines = ["order id,line no,sku,category,qty,amount"]
    for i in range(30):
        customer = (
            "C0"
            if i % 5 == 0
            else f'N{i % 7},"x'.replace(',"x', "") + ("\\" if i % 11 == 0 else "")
        )
        store = ("S1", "S404", "")[i % 3]
        orders.append(f"O{i},{customer},2024-02-{i % 28 + 1:02d},{i}.50,{store}")
        for n in range(1, 1 + i % 4):
            sku = ("P1", "P404", "")[n % 3]
            lines.append(f"O{i},{n},{sku},K1,{n},{n}.25")
    orders += [
        "O3,C0,2024-02-03,1.00,S1",  # duplicate order id
        "O90,C0,2024-13-45,1.00,S1",  # no such date
        "O91,C0,2024-02-01,abc,S1",  # not an amount
        "O92,,2024-02-01,1.00,S1",  # no customer
        "O93,\"=cmd|' /C calc'!A0\",2024-02-02,2.00,S1",  # formula-like customer id: a stub
        'O94,"N1",2024-02-03,"3,000.00",S1',
    ]
    lines += [
        "O404,1,P1,K1,1,1.00",  # unknown order
        "O1,1,P1,K1,1,9.99",  # duplicate line
        "O2,x,P1,K1,1,1.00",  # not a line number
        "O5,7,P1,K1,-2,1.00",
    ]
    text = {
        "stores": "store,name\nS1,Main\n",
        "categories": "category,name,necessity\nK1,Food,yes\n",
        "products": "sku,name,category,price\nP1,Tea,K1,3.50\n",
        "orders": "\n".join(orders) + "\n",
        "order-lines": "\n".join(lines) + "\n",
    }
    paths = {}
    for kind, body in text.items():
        paths[kind] = tmp_path / f"{kind}.csv"
        paths[kind].write_text(body, encoding="utf-8")
    return paths


def _import_all(files: dict[str, Path], **kwargs: Any) -> dict[str, ImportSummary]:
    return {kind: import_file(kind, path, lang="en", **kwargs) for kind, path in files.items()}


def _state() -> tuple[list[tuple[Any, ...]], ...]:
    orders = Order.objects.order_by("order_key").values_list(
        "order_key",
        "customer__external_id",
        "order_date",
        "amount_cents",
        "store__code",
        "row_hash",
    )
    lines = OrderLine.objects.order_by("order__order_key", "line_no").values_list(
        "order__order_key",
        "line_no",
        "product__sku",
        "category__code",
        "quantity",
        "amount_cents",
        "row_hash",
    )
    customers = Customer.objects.order_by("external_id").values_list(
        "external_id", "is_stub", "row_hash"
    )
    return list(orders), list(lines), list(customers)


def _outcome(summaries: dict[str, ImportSummary]) -> dict[str, Any]:
    """Counts, reasons and the rejects files' contents of each import."""
    out: dict[str, Any] = {}
    for kind, s in summaries.items():
        rejects = Path(s.rejects_file).read_bytes() if s.rejects_file else b""
        out[kind] = ([getattr(s, c) for c in COUNTS], s.rejected_by_reason, rejects)
    return out


def _clear() -> None:
    for model in (OrderLine, Order, Product, Category, Customer, Store, ImportBatch):
        model.objects.all().delete()


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "winback-import-ahead"]


def test_written_ahead_or_one_after_another_stores_and_rejects_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(service, "ahead", _one_after_another)
        plain = _outcome(_import_all(files, chunk_rows=CHUNK))
    expected = _state()
    _clear()
    ahead = _outcome(_import_all(files, chunk_rows=CHUNK))
    assert _state() == expected
    assert ahead == plain
    assert _workers() == []
    # the file really is hostile, and spread over several chunks
    assert plain["orders"][1] == {
        "bad_amount": 1,
        "bad_date": 1,
        "duplicate_key": 1,
        "missing_required": 1,
    }
    assert plain["order-lines"][1].get("unknown_order") == 1
    assert len(expected[0]) > 3 * CHUNK
    assert len(expected[1]) > 3 * CHUNK
    # stub customers named in several chunks are created once each and linked
    stubs = [c for c in expected[2] if c[1]]
    assert len(stubs) == len({o[1] for o in expected[0]}) > 2
    assert Customer.objects.filter(external_id="C0").count() == 1
    # a chunk size of one chunk for the whole file stores the very same rows (hashes included)
    _clear()
    _import_all(files, chunk_rows=10**6)
    assert _state() == expected
    # importing the same files again changes nothing
    again = _import_all(files, chunk_rows=CHUNK)
    assert _state() == expected
    for kind, s in again.items():
        assert (s.inserted, s.updated, s.stub_customers_created) == (0, 0, 0), kind
        assert s.unchanged == s.read - s.rejected
    # a dry run counts what a real run does and writes nothing
    _clear()
    dry = _outcome(_import_all(files, chunk_rows=CHUNK, dry_run=True))
    assert Order.objects.count() == Customer.objects.count() == 0
    assert dry["stores"] == plain["stores"]


def test_an_error_while_preparing_a_chunk_fails_the_batch_after_the_chunks_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path)
    _import_all({k: files[k] for k in ("stores", "categories", "products")})
    real = service.with_row_hash
    calls: list[int] = []

    def broken(rows: pl.DataFrame, kind: str) -> pl.DataFrame:
        calls.append(rows.height)
        if len(calls) == 2:
            raise RuntimeError("hashing broke")
        return real(rows, kind)

    monkeypatch.setattr(service, "with_row_hash", broken)
    with pytest.raises(ImportFileError) as caught:
        import_file("orders", files["orders"], chunk_rows=CHUNK, lang="en")
    assert caught.value.code is FileError.WRITE_FAILED
    assert "hashing broke" in str(caught.value.params)
    batch = ImportBatch.objects.filter(kind="orders").get()
    assert batch.status == ImportStatus.FAILED
    assert batch.rows_committed == CHUNK == Order.objects.count()  # the first chunk only
    assert _workers() == []
    monkeypatch.undo()
    done = import_file("orders", files["orders"], chunk_rows=CHUNK, lang="en")
    assert (done.inserted, done.unchanged) == (done.read - done.rejected - CHUNK, CHUNK)
    state = _state()
    _clear()
    _import_all(files, chunk_rows=CHUNK)
    assert _state()[0] == state[0]


def test_an_interrupted_run_resumes_after_its_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path)
    clean = _import_all(files, chunk_rows=CHUNK)
    expected = _state()
    _clear()
    _import_all({k: files[k] for k in ("stores", "categories", "products")})
    real = service._checkpoint

    def interrupted(batch: ImportBatch, summary: ImportSummary, rows_committed: int) -> None:
        if rows_committed > 2 * CHUNK:
            raise KeyboardInterrupt  # the process stops: nothing closes the batch
        real(batch, summary, rows_committed)

    monkeypatch.setattr(service, "_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_file("orders", files["orders"], chunk_rows=CHUNK, lang="en")
    batch = ImportBatch.objects.filter(kind="orders").get()
    assert (batch.status, batch.rows_committed) == (ImportStatus.RUNNING, 2 * CHUNK)
    assert Order.objects.count() == 2 * CHUNK
    assert _workers() == []
    monkeypatch.undo()
    resumed = import_file("orders", files["orders"], chunk_rows=CHUNK, lang="en")
    assert resumed.resumed
    assert resumed.batch_id == batch.pk
    assert [getattr(resumed, c) for c in COUNTS] == [getattr(clean["orders"], c) for c in COUNTS]
    lines = import_file("order-lines", files["order-lines"], chunk_rows=CHUNK, lang="en")
    assert lines.inserted == clean["order-lines"].inserted
    assert _state() == expected


# --- PostgreSQL: chunks classified ahead on the worker's own connection (decision 0061) -------


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _backends_settle_at(count: int) -> int:
    """The number of this database's server connections once a closed one has gone (a
    backend leaves pg_stat_activity shortly after its client disconnects)."""
    now = _backends()
    for _ in range(100):
        if now == count:
            break
        time.sleep(0.1)
        now = _backends()
    return now


def _classified_in(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads that classify chunks from now on, one name per chunk."""
    names: list[str] = []
    real = service._classify_and_check

    def spy(spec: Any, chunk: pl.DataFrame) -> pl.DataFrame:
        names.append(threading.current_thread().name)
        return real(spec, chunk)

    monkeypatch.setattr(service, "_classify_and_check", spy)
    return names


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgres_chunks_classified_ahead_store_count_and_reject_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside a caller's transaction the worker classifies chunk N+1 and checks its
    references on its own connection while chunk N is written; what is stored, counted and
    rejected is exactly what classifying each chunk in its own transaction gives, and the
    worker's connection is closed when the import ends."""
    files = _files(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(service, "_can_look_ahead", lambda pg: False)
        in_turn = _classified_in(patch)
        plain = _outcome(_import_all(files, chunk_rows=CHUNK))
    expected = _state()
    assert set(in_turn) == {"MainThread"}
    _clear()
    before = _backends()
    looked_ahead = _classified_in(monkeypatch)
    ahead = _outcome(_import_all(files, chunk_rows=CHUNK))
    assert _state() == expected
    assert ahead == plain
    # order lines (no stubs) were classified by the worker; orders naming unknown customers
    # wait for their stub customers, in this thread
    assert looked_ahead.count("winback-import-ahead") >= 3
    assert "MainThread" in looked_ahead
    assert _workers() == []
    assert _backends_settle_at(before) == before
    again = _import_all(files, chunk_rows=CHUNK)
    assert _state() == expected
    for kind, s in again.items():
        assert (s.inserted, s.updated, s.stub_customers_created) == (0, 0, 0), kind
        assert s.unchanged == s.read - s.rejected


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgres_a_parent_deleted_before_its_chunk_is_classified_ahead_fails_that_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The references are checked when the worker classifies a chunk: a product deleted by
    someone else before then fails that chunk (not one before it), the batch is recorded as
    failed with the chunks before it committed, and running the import again finishes it."""
    for kind, body in {
        "categories": "category,name,necessity\nK1,Food,yes\n",
        "products": "sku,name,category,price\nP1,Tea,K1,3.50\nP3,Cake,K1,9.00\n",
        "orders": "order id,customer id,order date,amount\n"
        + "".join(f"O{i},C{i % 3},2024-02-{i + 1:02d},{i}.00\n" for i in range(12)),
    }.items():
        (tmp_path / f"{kind}.csv").write_text(body, encoding="utf-8")
        import_file(kind, tmp_path / f"{kind}.csv", lang="en")
    # P3 only in the last chunk
    lines = "".join(f"O{i},1,{'P3' if i >= 2 * CHUNK else 'P1'},K1,1,1.00\n" for i in range(12))
    path = tmp_path / "order-lines.csv"
    path.write_text("order id,line no,sku,category,qty,amount\n" + lines, encoding="utf-8")
    real = service._classify_and_check

    def deleted_meanwhile(spec: Any, chunk: pl.DataFrame) -> pl.DataFrame:
        if (chunk["sku"] == "P3").any():
            with connection.cursor() as cursor:  # the worker's connection, autocommit
                cursor.execute("DELETE FROM customers_product WHERE sku = 'P3'")
        return real(spec, chunk)

    monkeypatch.setattr(service, "_classify_and_check", deleted_meanwhile)
    with pytest.raises(ImportFileError) as caught:
        import_file("order-lines", path, chunk_rows=CHUNK, lang="en")
    assert caught.value.code is FileError.WRITE_FAILED
    assert "customers_product" in str(caught.value.params)
    batch = ImportBatch.objects.get(kind="order-lines")
    assert (batch.status, batch.rows_committed) == (ImportStatus.FAILED, 2 * CHUNK)
    assert OrderLine.objects.count() == 2 * CHUNK
    assert set(OrderLine.objects.values_list("product__sku", flat=True)) == {"P1"}
    assert _workers() == []
    monkeypatch.undo()
    done = import_file("order-lines", path, chunk_rows=CHUNK, lang="en")
    assert (done.inserted, done.unchanged, done.rejected) == (CHUNK, 2 * CHUNK, 0)
    last = OrderLine.objects.filter(order__order_key__in=[f"O{i}" for i in range(8, 12)])
    assert list(last.values_list("product", flat=True)) == [None] * CHUNK  # unknown SKU now
