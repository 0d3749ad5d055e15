"""Erasing a customer (R13, PIPL): afterwards neither the database (the SQLite file, a
``pg_dump`` of PostgreSQL), nor the data folder, nor any export or report holds the customer's
name, phone or id, and the past months' reports still add up to the same figures."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

pytestmark = pytest.mark.slow  # a small demo business, then the erasure and every search

END = date(2024, 6, 30)
MONTH = date(2024, 6, 1)
ID = "ZQX-ERASE-7781"
NAME = "柏拉图Quixotic"
PHONE = "19987654321"
NEEDLES = (ID, NAME, PHONE)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _business(folder: Path) -> Any:
    """A demo business plus one distinctive customer, imported through the importers, with
    orders, a rejected order row, a contact whose notes name them, an upload, exports and
    cached reports."""
    from winback.app.actors import Actor
    from winback.app.customers.privacy import export_personal_data
    from winback.app.imports.data_export import export_data
    from winback.app.imports.service import import_file
    from winback.app.imports.uploads import save_upload
    from winback.app.reports.service import default_path, write_report
    from winback.cli.demo_cycle import run_demo
    from winback.store.accounts.models import Role, User

    run_demo(
        industry="aesthetics",
        customers=60,
        months=8,
        seed=11,
        out=folder / "demo",
        console=Console(file=io.StringIO(), width=120),
        end_date=END,
        rounds=2,
    )
    customers = (
        "customer_id,name,phone,birthday,tags,notes\n"
        f"{ID},{NAME},{PHONE},1988-02-03,VIP,{NAME} prefers {PHONE} after 6pm\n"
    )
    assert import_file("customers", _write(folder / "c.csv", customers)).inserted == 1
    orders = (
        "order_id,customer_id,order_date,amount\n"
        f"{ID}-O1,{ID},2024-05-10 10:00:00,188.00\n"
        f"{ID}-O2,{ID},2024-06-12 11:00:00,-20.00\n"
        f"{ID}-O3,{ID},2024-13-45,99.00\n"
    )
    summary = import_file("orders", _write(folder / "o.csv", orders))
    assert summary.rejected == 1
    assert summary.rejects_file
    contacts = (
        "contact_id,customer_id,channel,outcome,occurred_at,notes\n"
        f"{ID}-K1,{ID},phone,reached,2024-06-01 09:00,called {NAME} on {PHONE}\n"
    )
    assert import_file("contacts", _write(folder / "k.csv", contacts)).inserted == 1
    admin = User.objects.create(username="privacy-admin", role=Role.ADMIN)
    save_upload(admin, "customers", "customers.csv", [customers.encode()])
    exports = folder / "exports"
    export_data("customers", "csv", exports / "customers.csv", user=admin)
    export_data("customers", "xlsx", exports / "customers.xlsx", user=admin)
    export_personal_data(Actor.of(admin), external_id=ID, out=exports / "mine.json")
    for lang, fmt in (("zh", "html"), ("en", "xlsx")):
        write_report(MONTH, lang, fmt, default_path(MONTH, lang, fmt))
    return exports


def _haystacks(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    parts = [raw]
    if zipfile.is_zipfile(io.BytesIO(raw)):
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts += [archive.read(i) for i in archive.infolist()]
    return parts


def _patterns() -> list[bytes]:
    found = []
    for needle in NEEDLES:
        found.append(needle.encode())
        found.append(json.dumps(needle).strip('"').encode())  # as JSON escapes store it
        found.append(needle.encode("utf-16-le"))
    return found


def _hits(paths: list[Path]) -> list[str]:
    patterns = _patterns()
    return [
        f"{path}: {p!r}"
        for path in paths
        for part in _haystacks(path)
        for p in patterns
        if p in part
    ]


def _database_bytes(folder: Path) -> bytes:
    """The whole database as stored: the SQLite file (page by page, free pages included) or a
    ``pg_dump`` of PostgreSQL."""
    from django.db import connection

    if connection.vendor == "sqlite":
        copy = folder / "copy.sqlite3"
        target = sqlite3.connect(copy)
        try:
            connection.ensure_connection()
            connection.connection.backup(target)
        finally:
            target.close()
        name = str(connection.settings_dict["NAME"])
        files = [copy] + [Path(name + s) for s in ("", "-wal") if Path(name + s).is_file()]
        return b"".join(f.read_bytes() for f in files)
    settings = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(settings.get("PASSWORD") or "")}
    dump = subprocess.run(
        [
            shutil.which("pg_dump") or "pg_dump",
            "-h",
            str(settings.get("HOST") or "127.0.0.1"),
            "-p",
            str(settings.get("PORT") or 5432),
            "-U",
            str(settings.get("USER") or "postgres"),
            "--no-owner",
            str(settings["NAME"]),
        ],
        capture_output=True,
        env=env,
        check=True,
    )
    return dump.stdout


def _figures() -> str:
    """The month's report structure as JSON (every total and table)."""
    from winback.app.reports.service import monthly_report

    return json.dumps(monthly_report(MONTH, n_boot=50), default=str, sort_keys=True)


@pytest.mark.django_db(transaction=True)
def test_erase_leaves_no_trace_and_reports_still_add_up(tmp_path: Path) -> None:
    from winback.app.actors import Actor
    from winback.app.customers.privacy import erase_customers, fingerprint
    from winback.app.reports.service import default_path, write_report
    from winback.environment import data_dir
    from winback.store.accounts.models import AuditLog
    from winback.store.customers.models import Customer, Order

    exports = _business(tmp_path)
    data = data_dir()
    files = lambda: sorted(p for p in [*data.rglob("*"), *exports.rglob("*")] if p.is_file())  # noqa: E731
    database = tmp_path / "db-before.bin"
    database.write_bytes(_database_bytes(tmp_path))
    before_hits = _hits([database, *files()])
    # The search finds what it looks for: every needle is there before.
    for needle in NEEDLES:
        assert any(
            needle.encode() in h or json.dumps(needle).strip('"').encode() in h
            for p in [database, *files()]
            for h in _haystacks(p)
        ), needle
    assert before_hits
    pk = Customer.objects.get(external_id=ID).pk
    orders_before = sorted(
        Order.objects.filter(customer_id=pk).values_list("amount_cents", flat=True)
    )
    figures_before = _figures()

    result = erase_customers(Actor.system("cli"), external_ids=[ID], reason="customer request")
    assert result.erased == 1

    for lang, fmt in (("zh", "html"), ("en", "xlsx"), ("zh", "xlsx")):
        write_report(MONTH, lang, fmt, default_path(MONTH, lang, fmt))
    database.write_bytes(_database_bytes(tmp_path))
    assert _hits([database, *files()]) == []
    # Analytics history stays, keyed by the internal id; the figures are the same.
    assert (
        sorted(Order.objects.filter(customer_id=pk).values_list("amount_cents", flat=True))
        == orders_before
    )
    assert _figures() == figures_before
    # One tombstone without personal data: the pk and the keyed hash of the old id.
    tomb = AuditLog.objects.get(action="erase_customer")
    assert tomb.object_id == str(pk)
    assert tomb.detail["fingerprint"] == fingerprint(ID)
    assert Customer.objects.get(pk=pk).do_not_contact
    # Erasing again changes nothing and says so.
    again = erase_customers(Actor.system("cli"), pks=[pk])
    assert (again.erased, again.already_erased) == (0, 1)
