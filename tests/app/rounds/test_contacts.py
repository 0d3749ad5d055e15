"""Logging contacts (R5, R13): optimistic locking, the per-round cap, do-not-contact at once."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories.business import MONTH, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db


def _planned() -> tuple[object, object]:
    from winback.app.rounds.service import plan_round

    build_world()
    rnd = plan_round(Actor.system(), month=MONTH, seed=9, agents=team()).round
    # The first call with an offer menu (under the round's offer budget some have none).
    return rnd, next(t for t in rnd.tasks.order_by("pk") if t.menu.codes)


def test_a_stale_version_is_refused_and_nothing_is_written() -> None:
    from winback.app.rounds.service import StaleWrite, log_contact
    from winback.store.customers.models import ContactLog

    _, task = _planned()
    updated = log_contact(task.pk, agent=task.agent, outcome="not_reached", expected_version=1)
    assert (updated.version, updated.attempts) == (2, 1)
    logs = ContactLog.objects.filter(customer_id=task.customer_id).count()
    with pytest.raises(StaleWrite):
        log_contact(task.pk, agent=task.agent, outcome="reached", expected_version=1)
    task.refresh_from_db()
    assert (task.version, task.attempts) == (2, 1)
    assert ContactLog.objects.filter(customer_id=task.customer_id).count() == logs


def test_the_contact_cap_per_round_holds() -> None:
    from winback.app.rounds.service import ContactNotAllowed, log_contact
    from winback.app.settings.profile import current_profile
    from winback.store.programme.models import ContactAttempt

    cap = current_profile().programme.contacts_per_round
    _, task = _planned()
    version = task.version
    for _ in range(cap):
        version = log_contact(
            task.pk, agent=task.agent, outcome="not_reached", expected_version=version
        ).version
    with pytest.raises(ContactNotAllowed) as refused:
        log_contact(task.pk, agent=task.agent, outcome="reached", expected_version=version)
    assert refused.value.code == "over_contact_cap"
    assert ContactAttempt.objects.filter(task=task).count() == cap


def test_contact_history_and_follow_up_dates_follow_the_rules() -> None:
    from winback.app.rounds.service import log_contact
    from winback.store.customers.models import ContactLog
    from winback.store.programme.models import RoundMember

    _, task = _planned()
    promised = timezone.localdate() + timedelta(days=20)  # a promise lies ahead of the call
    offer = task.menu.codes[0]  # an offer on this call's menu: nothing else is taken
    # The channel the plan chose, read before the call: a recorded reason may re-plan it.
    planned = RoundMember.objects.get(round_id=task.round_id, customer_id=task.customer_id)
    done = log_contact(
        task.pk,
        agent=task.agent,
        outcome="reached",
        reason_code="price",
        offer_code=offer,
        promised_return_date=promised,
        expected_version=task.version,
    )
    # promised return -> check 3 days after the promised date (docs/programme.md)
    assert done.next_due == promised + timedelta(days=3)
    assert done.reason_code == "price"
    log = ContactLog.objects.get(customer_id=task.customer_id, reason_code="price")
    assert planned.channel
    assert log.channel == planned.channel  # the channel the plan chose
    assert (log.offer_code, log.promised_return_date, log.direction) == (
        offer,
        promised,
        "outbound",
    )


def test_do_not_contact_takes_effect_everywhere_at_once(tmp_path: Path) -> None:
    from winback.app.rounds.service import export_round, log_contact, plan_round
    from winback.store.accounts.models import AuditLog
    from winback.store.customers.models import Customer
    from winback.store.programme.models import CallTask, Round, TaskStatus

    rnd, task = _planned()
    # The same customer also holds an open task in another round.
    other = Round.objects.create(
        month=date(2024, 7, 1),
        seed=1,
        holdout_share=0.1,
        as_of=date(2024, 7, 1),
        round_start=date(2024, 7, 1),
        round_end=date(2024, 7, 31),
    )
    CallTask.objects.create(round=other, customer_id=task.customer_id, agent=task.agent)
    log_contact(task.pk, agent=task.agent, outcome="do_not_contact", expected_version=1)

    customer = Customer.objects.get(pk=task.customer_id)
    assert customer.do_not_contact
    assert customer.do_not_contact_source == "contact"
    assert customer.do_not_contact_date is not None
    assert not CallTask.objects.filter(customer=customer, status=TaskStatus.OPEN).exists()
    assert AuditLog.objects.filter(action="do_not_contact", object_id=str(customer.pk)).exists()
    ids = set()
    for path in export_round(rnd, tmp_path, role="supervisor"):
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig") as handle:
                ids |= {row["customer_id"] for row in csv.DictReader(handle)}
    assert ids
    assert customer.external_id not in ids
    later = plan_round(Actor.system(), month=date(2024, 8, 1), seed=2, agents=team()).round
    assert not later.tasks.filter(customer=customer).exists()


def test_dnc_from_a_contact_survives_a_customer_reimport(tmp_path: Path) -> None:
    """The importer overwrites do_not_contact with the file's value when a row changed; the
    planner still honours the do-not-contact answer recorded in the contact log."""
    from winback.app.imports.service import import_file
    from winback.app.rounds.planning import prepare_plan
    from winback.app.rounds.service import ContactNotAllowed, log_contact
    from winback.store.customers.models import Customer
    from winback.store.programme.models import CallTask, Round

    _rnd, task = _planned()
    customer = Customer.objects.get(pk=task.customer_id)
    log_contact(task.pk, agent=task.agent, outcome="do_not_contact", expected_version=1)
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,name,phone,do_not_contact,consent_marketing\n"
        f"{customer.external_id},New Name,13900000000,no,yes\n",
        encoding="utf-8",
    )
    import_file("customers", path)
    customer.refresh_from_db()
    assert customer.name == "New Name"  # the import did update the row
    print(f"\nafter re-import do_not_contact = {customer.do_not_contact}")
    july = prepare_plan(date(2024, 7, 1), seed=4, agents=team()).plan
    cause = july.excluded.filter(customer_pk=customer.pk)["cause"].to_list()
    assert cause == ["do_not_contact"]
    # Even a task created by hand after the re-import cannot be worked.
    stray = CallTask.objects.create(
        round=Round.objects.create(
            month=date(2024, 8, 1),
            seed=1,
            holdout_share=0.1,
            as_of=date(2024, 8, 1),
            round_start=date(2024, 8, 1),
            round_end=date(2024, 8, 31),
        ),
        customer=customer,
        agent=task.agent,
    )
    with pytest.raises(ContactNotAllowed):
        log_contact(stray.pk, agent=task.agent, outcome="reached", expected_version=1)


def test_only_the_assigned_agent_logs_and_only_offered_codes_are_taken() -> None:
    """One rule for the workbench, the API and any other caller: log_contact checks it."""
    from django.core.exceptions import PermissionDenied

    from winback.app.contacts.service import InvalidChoice
    from winback.app.rounds.service import log_contact
    from winback.store.accounts.models import Role, User
    from winback.store.customers.models import ContactLog

    _, task = _planned()
    other = User.objects.exclude(pk=task.agent_id).filter(role=Role.AGENT).first()
    supervisor = User.objects.create(username="sup", role=Role.SUPERVISOR)
    before = ContactLog.objects.filter(customer_id=task.customer_id).count()
    for someone in (other, supervisor):
        with pytest.raises(PermissionDenied):
            log_contact(task.pk, agent=someone, outcome="reached", expected_version=1)
    with pytest.raises(InvalidChoice) as bad_offer:
        log_contact(
            task.pk, agent=task.agent, outcome="reached", offer_code="free_car", expected_version=1
        )
    assert bad_offer.value.code == "invalid_offer"
    with pytest.raises(InvalidChoice) as bad_reason:
        log_contact(
            task.pk, agent=task.agent, outcome="reached", reason_code="价格太贵", expected_version=1
        )
    assert bad_reason.value.code == "invalid_reason"
    assert ContactLog.objects.filter(customer_id=task.customer_id).count() == before
    offered = task.menu.codes[0]
    done = log_contact(
        task.pk,
        agent=task.agent,
        outcome="reached",
        reason_code="price",
        offer_code=offered,
        expected_version=1,
    )
    assert done.offer_code == offered
