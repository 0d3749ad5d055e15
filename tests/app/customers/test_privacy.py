"""The personal-data use cases: who may, the customer's own file, retention, the CLI's
operator identity."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from winback.app.actors import Actor
from winback.app.customers.privacy import (
    UnknownCustomers,
    apply_retention,
    erase_customers,
    export_personal_data,
)
from winback.app.imports.service import import_file
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.customers.models import ContactLog, Customer, Order

pytestmark = pytest.mark.django_db

RECENT = date.today() - timedelta(days=30)


def _import(tmp_path: Path) -> None:
    files = {
        "customers": (
            "customer_id,name,phone,join_date,notes\n"
            "OLD-1,老客甲,13800000001,2015-03-01,likes tea\n"
            "NEW-2,新客乙,13800000002,2015-03-01,\n"
            "NOJOIN-3,丙,13800000003,,\n"
        ),
        "orders": (
            "order_id,customer_id,order_date,amount\n"
            "A1,OLD-1,2016-05-01 10:00:00,100.00\n"
            "A2,OLD-1,2017-05-01 10:00:00,-12.50\n"
            f"B1,NEW-2,{RECENT.isoformat()} 10:00:00,50.00\n"
        ),
        "contacts": (
            "contact_id,customer_id,channel,outcome,occurred_at,notes\n"
            "K1,OLD-1,phone,reached,2017-06-01 09:00,老客甲 says call 13800000001\n"
        ),
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(kind, path)


def _user(name: str, role: str) -> User:
    return User.objects.create(username=name, role=role)


def test_only_admins_and_the_operator_erase(tmp_path: Path) -> None:
    _import(tmp_path)
    supervisor = Actor.of(_user("sup", Role.SUPERVISOR))
    with pytest.raises(PermissionDenied):
        erase_customers(supervisor, external_ids=["OLD-1"])
    with pytest.raises(UnknownCustomers):
        erase_customers(Actor.system("cli"), external_ids=["OLD-1", "NOPE"])
    assert Customer.objects.filter(external_id="OLD-1").exists()  # nothing half done
    result = erase_customers(Actor.of(_user("adm", Role.ADMIN)), external_ids=["OLD-1"])
    assert result.erased == 1
    erased = Customer.objects.get(pk=result.pks[0])
    assert (erased.name, erased.phone, erased.notes, erased.external_id) == (
        "",
        "",
        "",
        f"erased-{erased.pk}",
    )
    assert ContactLog.objects.get(customer=erased).notes == ""
    assert Order.objects.filter(customer=erased).count() == 2
    tomb = AuditLog.objects.get(action="erase_customer")
    assert "OLD-1" not in json.dumps(tomb.detail)
    assert tomb.object_id == str(erased.pk)


def test_the_customers_own_file_holds_everything_and_is_audited(tmp_path: Path) -> None:
    _import(tmp_path)
    admin = Actor.of(_user("adm", Role.ADMIN))
    with pytest.raises(PermissionDenied):
        export_personal_data(
            Actor.of(_user("sup", Role.SUPERVISOR)), external_id="OLD-1", out=tmp_path / "x.json"
        )
    made = export_personal_data(admin, external_id="OLD-1", out=tmp_path / "mine.json")
    data = json.loads(Path(made.path).read_text(encoding="utf-8"))["customer"]
    assert (data["name"], data["phone"]) == ("老客甲", "13800000001")
    assert sorted(o["order_key"] for o in data["orders"]) == ["A1", "A2"]
    assert [c["notes"] for c in data["contacts"]] == ["老客甲 says call 13800000001"]
    entry = AuditLog.objects.get(action="export_personal_data")
    assert entry.username == "adm"
    assert entry.detail["orders"] == 2


def test_retention_anonymises_only_the_long_inactive(tmp_path: Path) -> None:
    _import(tmp_path)
    with pytest.raises(PermissionDenied):
        apply_retention(Actor.of(_user("sup", Role.SUPERVISOR)), today=date.today())
    result = apply_retention(Actor.system("cron"), today=date.today())
    assert result.anonymised == 1
    left = set(Customer.objects.values_list("external_id", flat=True))
    assert "OLD-1" not in left
    assert {"NEW-2", "NOJOIN-3"} <= left
    assert AuditLog.objects.filter(action="retention").count() == 1
    # A second run finds nobody new.
    assert apply_retention(Actor.system("cron"), today=date.today()).anonymised == 0


def test_the_cli_names_the_operator_and_refuses_strangers(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from winback.cli import app

    _import(tmp_path)
    _user("sup", Role.SUPERVISOR)
    _user("adm", Role.ADMIN)
    out = tmp_path / "mine.json"
    runner = CliRunner()
    for who in ("", "nobody", "sup"):
        args = ["customer", "export-personal-data", "OLD-1", "--out", str(out)]
        result = runner.invoke(app, [*args, *(["--as", who] if who else [])])
        assert result.exit_code == 2, (who, result.output)
    assert not out.exists()
    ok = runner.invoke(
        app, ["customer", "export-personal-data", "OLD-1", "--out", str(out), "--as", "adm"]
    )
    assert ok.exit_code == 0, ok.output
    entry = AuditLog.objects.get(action="export_personal_data")
    assert entry.username.startswith("adm via cli:")
    assert entry.user is not None
    erased = runner.invoke(app, ["customer", "erase", "NEW-2", "--yes", "--as", "adm", "--json"])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout.strip().splitlines()[-1])["erased"] == 1


def test_retention_purges_old_import_files(tmp_path: Path) -> None:
    from datetime import datetime

    from django.utils import timezone

    from winback.app.customers.privacy import purge_import_files
    from winback.app.imports.uploads import save_upload

    admin = _user("adm", Role.ADMIN)
    old = save_upload(admin, "customers", "old.csv", [b"customer_id\nX1\n"])
    meta = old.folder / "upload.json"
    stale = datetime(2020, 1, 1, tzinfo=timezone.get_current_timezone()).isoformat()
    meta.write_text(
        json.dumps({**json.loads(meta.read_text(encoding="utf-8")), "uploaded_at": stale}),
        encoding="utf-8",
    )
    fresh = save_upload(admin, "customers", "new.csv", [b"customer_id\nX2\n"])
    result = apply_retention(Actor.system("cron"), today=date.today())
    assert result.import_files["uploads_deleted"] == 1
    assert not old.folder.exists()
    assert fresh.folder.exists()
    with pytest.raises(PermissionDenied):
        purge_import_files(Actor.of(_user("sup", Role.SUPERVISOR)))


def test_exported_call_lists_lose_the_erased_customer(tmp_path: Path) -> None:
    from tests.factories.workbench import build_world
    from winback.app.customers.privacy import names_customer
    from winback.app.rounds.call_lists import export_round

    world = build_world()
    paths = export_round(world.round, tmp_path / "lists", role="supervisor")
    csvs = [p for p in paths if p.suffix == ".csv"]
    naming = {str(p) for p in paths if names_customer(p, [b"C-MINE"])}
    assert any(name.endswith(".xlsx") for name in naming)  # read inside the zip too
    assert any(name.endswith(".csv") for name in naming)
    result = erase_customers(Actor.system("cli"), external_ids=["C-MINE"])
    touched = set(result.files_rewritten) | set(result.files_deleted)
    assert naming <= touched
    for path in paths:
        assert not path.exists() or not names_customer(path, [b"C-MINE"])
    kept = [p for p in csvs if p.exists() and "C-THEIRS" in p.read_text(encoding="utf-8-sig")]
    assert kept, "the other agent's list keeps its customer"
