"""Partial updates, sticky consent, open tasks closed at once, failed batches (SQLite and
PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.factories.business import MONTH, build_world, team
from winback.app.imports.service import import_file
from winback.ingest.messages import FileError, ImportFileError
from winback.store.accounts.models import AuditLog
from winback.store.customers.models import Customer
from winback.store.imports.models import ImportBatch, ImportStatus
from winback.store.programme.models import CallTask, TaskStatus

pytestmark = pytest.mark.django_db

HEADER = (
    "customer_id,name,phone,email,gender,birthday,join_date,channel,decision_style,tags,"
    "consent_marketing,do_not_contact,notes"
)
BOOKKEEPING = {"updated_at", "row_hash"}


def _full_file(tmp_path: Path, n: int = 12) -> Path:
    rows = [
        f"C{i:03d},客户{i},1380000{i:04d},c{i}@example.cn,{'MF'[i % 2]},"
        f"198{i % 10}-0{1 + i % 9}-15,"
        f'2020-01-0{1 + i % 9},wechat,{"rational" if i % 2 else "emotional"},"vip,tag{i}",'
        f"yes,no,note {i}"
        for i in range(n)
    ]
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _columns(exclude: set[str]) -> list[str]:
    return [
        f.attname for f in Customer._meta.concrete_fields if f.attname not in exclude | BOOKKEEPING
    ]


def _checksum(columns: list[str]) -> str:
    rows = Customer.objects.order_by("external_id").values_list(*columns)
    return hashlib.sha256(repr(list(rows)).encode()).hexdigest()


def test_a_two_column_do_not_contact_file_changes_exactly_one_column(tmp_path: Path) -> None:
    import_file("customers", _full_file(tmp_path))
    others = _columns({"do_not_contact"})
    before = _checksum(others)
    flags_before = dict(Customer.objects.values_list("external_id", "do_not_contact"))
    listed = ["C001", "C004", "C007"]
    dnc = _write(
        tmp_path,
        "dnc.csv",
        "customer_id,do_not_contact\n" + "\n".join(f"{c},yes" for c in listed) + "\n",
    )

    summary = import_file("customers", dnc)

    assert (summary.updated, summary.unchanged, summary.inserted) == (3, 0, 0)
    assert summary.partial_columns == ["do_not_contact"]
    assert _checksum(others) == before  # every other column of every customer row
    flags_after = dict(Customer.objects.values_list("external_id", "do_not_contact"))
    changed = {c for c in flags_after if flags_after[c] != flags_before[c]}
    assert changed == set(listed)
    assert import_file("customers", dnc).updated == 0  # the same file again changes nothing


def test_replace_empties_the_columns_a_file_lacks(tmp_path: Path) -> None:
    import_file("customers", _full_file(tmp_path))
    names = _write(tmp_path, "names.csv", "customer_id,name\nC002,新名字\n")
    import_file("customers", names)
    kept = Customer.objects.get(external_id="C002")
    assert (kept.name, kept.phone, kept.tags) == ("新名字", "13800000002", ["vip", "tag2"])

    import_file("customers", names, replace=True)
    replaced = Customer.objects.get(external_id="C002")
    assert (replaced.name, replaced.phone, replaced.tags) == ("新名字", "", [])


def test_do_not_contact_is_lifted_only_by_a_later_dated_reconsent(tmp_path: Path) -> None:
    full = _full_file(tmp_path)
    import_file("customers", full)
    import_file(
        "customers",
        _write(tmp_path, "dnc.csv", "customer_id,do_not_contact,勿扰日期\nC003,yes,2024-05-01\n"),
    )
    import_file("customers", full)  # the old export says "no": the request stands
    import_file("customers", full, replace=True)
    stale = _write(
        tmp_path,
        "stale.csv",
        "customer_id,do_not_contact,reconsent_date\nC003,no,2024-04-30\n",
    )
    import_file("customers", stale)  # a re-consent older than the request does not lift it
    assert Customer.objects.get(external_id="C003").do_not_contact

    lifted = _write(
        tmp_path,
        "reconsent.csv",
        "customer_id,do_not_contact,reconsent_date\nC003,no,2024-06-10\n",
    )
    import_file("customers", lifted)
    customer = Customer.objects.get(external_id="C003")
    assert not customer.do_not_contact
    assert customer.reconsent_date == date(2024, 6, 10)


def test_a_withdrawn_consent_stays_until_a_reconsent(tmp_path: Path) -> None:
    full = _full_file(tmp_path)
    import_file("customers", full)
    withdraw = _write(tmp_path, "w.csv", "customer_id,consent_marketing\nC005,no\n")
    import_file("customers", withdraw)
    withdrawn = Customer.objects.get(external_id="C005")
    assert not withdrawn.consent_marketing
    assert withdrawn.consent_withdrawn_date is not None

    import_file("customers", full)  # says "yes", with no re-consent
    assert not Customer.objects.get(external_id="C005").consent_marketing

    later = withdrawn.consent_withdrawn_date + timedelta(days=1)
    again = _write(
        tmp_path,
        "again.csv",
        f"customer_id,consent_marketing,重新同意日期\nC005,yes,{later.isoformat()}\n",
    )
    import_file("customers", again)
    back = Customer.objects.get(external_id="C005")
    assert back.consent_marketing
    assert back.consent_withdrawn_date is None


@pytest.mark.slow  # a business and a planned round
@pytest.mark.django_db(transaction=True)
def test_a_do_not_contact_import_closes_open_tasks_at_once(tmp_path: Path) -> None:
    from winback.app.accounts import permissions
    from winback.app.actors import Actor
    from winback.app.customers.pages import call_page, my_calls
    from winback.app.rounds.service import plan_round

    build_world()
    plan_round(Actor.system("cli"), month=MONTH, seed=5, agents=team())
    open_tasks = CallTask.objects.filter(status=TaskStatus.OPEN, agent__isnull=False)
    task = open_tasks.select_related("customer", "agent").order_by("pk").first()
    assert task is not None
    assert task.agent is not None
    other = open_tasks.exclude(customer_id=task.customer_id).select_related("customer").first()
    assert other is not None
    dnc = _write(
        tmp_path,
        "dnc.csv",
        f"customer_id,do_not_contact\n{task.customer.external_id},yes\n",
    )
    consent = _write(
        tmp_path,
        "consent.csv",
        f"customer_id,consent_marketing\n{other.customer.external_id},no\n",
    )

    first = import_file("customers", dnc)
    second = import_file("customers", consent)

    assert first.tasks_closed == {"do_not_contact": 1}
    assert second.tasks_closed == {"no_consent": 1}
    for closed in (task, other):
        closed.refresh_from_db()
        assert closed.status == TaskStatus.CLOSED
        assert closed.next_due is None
    causes = AuditLog.objects.filter(action="import_closed_tasks").values_list("detail", flat=True)
    assert sorted(str(d["tasks_closed"]) for d in causes) == sorted(
        [str({"do_not_contact": 1}), str({"no_consent": 1})]
    )
    assert permissions.phone_visible(task.agent, CallTask(agent_id=task.agent_id, status="open"))
    listed = {row.task.pk for row in my_calls(task.agent, today=MONTH, lang="en")}
    assert task.pk not in listed
    page = call_page(task.agent, task.pk, lang="en")
    assert task.customer.phone not in page.sheet.phone
    assert not page.can_log
    with pytest.raises(PermissionDenied):
        call_page(task.agent, task.pk, lang="en", reveal=True)
    assert not permissions.phone_visible(task.agent, task)  # the API's rule for the number


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_ends_the_batch_failed_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from winback.store import import_writers

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full\nsecond line of detail")

    monkeypatch.setattr(import_writers, "insert_rows", broken)
    with pytest.raises(ImportFileError) as caught:
        import_file("customers", _full_file(tmp_path))
    assert caught.value.code is FileError.WRITE_FAILED
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    assert batch.finished_at is not None
    assert batch.summary["message"].count("\n") == 0
    assert "disk full" in batch.summary["message"]
    assert "second line" not in batch.summary["message"]
    assert batch.finished_at <= timezone.now()


def test_a_categories_file_without_parents_keeps_the_stored_parents(tmp_path: Path) -> None:
    from winback.store.customers.models import Category

    tree = _write(
        tmp_path, "tree.csv", "category_code,name,parent_code\nFOOD,食品,\nFRUIT,水果,FOOD\n"
    )
    import_file("categories", tree)
    renamed = _write(tmp_path, "names.csv", "category_code,name\nFRUIT,鲜果\n")
    import_file("categories", renamed)
    fruit = Category.objects.select_related("parent").get(code="FRUIT")
    assert fruit.name == "鲜果"
    assert fruit.parent is not None
    assert fruit.parent.code == "FOOD"
