"""The contact gate: its reasons one by one, every path that puts a customer in front of an
agent or a message asking it, and the expiry of a closed round's leftover tasks.

The business is built the way production builds it: customers and their flags through the
import service, rounds through ``plan_round``, contacts through ``log_contact``; only the
analysis snapshot is written as rows of the analysis table (the shape ``analyze`` writes).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import time_machine
from django.test import Client

from winback.app.actors import Actor

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
SNAPSHOT_DAY = date(2024, 5, 31)
JUNE = date(2024, 6, 1)
JULY = date(2024, 7, 1)
DAY = date(2024, 7, 10)  # inside both rounds' measurement windows
N = 60


def _import(kind: str, tmp_path: Path, name: str, rows: list[dict[str, object]]) -> None:
    from winback.app.imports.service import import_file

    path = tmp_path / name
    frame = pl.DataFrame(rows)
    frame.write_csv(path)
    summary = import_file(kind, path, lang="en")
    assert summary.rejected == 0, summary.rejected_by_reason


def _customers(tmp_path: Path, name: str, rows: list[dict[str, object]]) -> None:
    _import("customers", tmp_path, name, rows)


def _customer_row(i: int, *, consent: bool = True, dnc: bool = False) -> dict[str, object]:
    return {
        "customer_id": f"C{i:04d}",
        "name": f"Customer {i}",
        "phone": f"139{i:08d}",
        "birthday": "1990-07-12",
        "consent_marketing": "true" if consent else "false",
        "do_not_contact": "true" if dnc else "false",
    }


def _snapshot(as_of: date = SNAPSHOT_DAY, *, stage: str = "sleeping") -> None:
    """The analysis rows of every customer: at risk, class A, early warning raised."""
    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
    from winback.store.customers.models import Customer

    customers = list(Customer.objects.order_by("external_id"))
    AnalysisRun.objects.create(as_of=as_of, customers=len(customers))
    CustomerSnapshot.objects.bulk_create(
        [
            CustomerSnapshot(
                customer=c,
                as_of=as_of,
                stage=stage,
                customer_type="vulnerable",
                status="at_risk",
                churn_score=50.0 + k % 40,
                p_alive=0.5,
                clv_365=400.0 + 10 * k,
                tier=1 + k % 3,
                abc_class="A",
                early_warning=True,
                days_since_last=100,
                expected_interval_days=30.0,
            )
            for k, c in enumerate(customers)
        ]
    )


def _agents() -> list:  # type: ignore[type-arg]
    from winback.app.rounds.service import ensure_agents

    return ensure_agents(
        {"username": f"agent{k}", "seniority": 3, "daily_capacity": 10} for k in range(3)
    )


def _pk(external_id: str) -> int:
    from winback.store.customers.models import Customer

    return int(Customer.objects.get(external_id=external_id).pk)


# --- the gate's reasons -----------------------------------------------------------------------
def test_each_reason_is_given_for_the_rule_that_applies(tmp_path: Path) -> None:
    from winback.app.contacts import gate
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import RoundMember

    _customers(
        tmp_path,
        "customers.csv",
        [
            _customer_row(1),
            _customer_row(2, dnc=True),
            _customer_row(3, consent=False),
            _customer_row(4),
            _customer_row(5),
            *(_customer_row(i) for i in range(10, 30)),
        ],
    )
    # Customer 4 complained and nobody has resolved it; customer 5 got four calls this month.
    _import(
        "events",
        tmp_path,
        "events.csv",
        [
            {
                "event_id": "E1",
                "customer_id": "C0004",
                "event_type": "complaint",
                "occurred_at": "2024-06-20 09:00:00",
                "resolved": "false",
            }
        ],
    )
    _import(
        "contacts",
        tmp_path,
        "contacts.csv",
        [
            {
                "contact_id": f"K{k}",
                "customer_id": "C0005",
                "channel": "phone" if k % 2 else "sms",
                "direction": "outbound",
                "outcome": "not_reached",
                "occurred_at": f"2024-06-{20 + k:02d} 10:00:00",
            }
            for k in range(4)
        ],
    )
    _snapshot()
    rnd = plan_round(
        Actor.system(), month=JUNE, holdout=0.5, seed=3, agents=_agents(), allow_small_control=True
    ).round
    control = (
        RoundMember.objects.filter(round=rnd, arm="control", customer__external_id__gte="C0010")
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        .first()
    )
    assert control is not None
    _customers(tmp_path, "newcomer.csv", [_customer_row(6)])  # in no round
    ids = [_pk("C0006"), _pk("C0002"), _pk("C0003"), _pk("C0004"), _pk("C0005"), control]

    judged = gate.verdicts(ids, on=date(2024, 6, 25))

    reasons = dict(zip(judged["customer_pk"], judged["reason"], strict=True))
    assert reasons == {
        ids[0]: None,
        ids[1]: "do_not_contact",
        ids[2]: "no_consent",
        ids[3]: "open_complaint",
        ids[4]: "over_contact_cap",
        control: "control_group",
    }
    assert judged.filter(pl.col("reason").is_null())["allowed"].to_list() == [True]
    # Consent only matters where the contact is marketing.
    service = gate.verdicts([ids[2]], on=date(2024, 6, 25), marketing=False)
    assert service["allowed"].to_list() == [True]
    # The caps look back over their windows: a month later the business cap (4 in 30 days)
    # is clear but the sleeping stage's (2 in 60 days) is not; two months later both are.
    month_later = gate.verdicts([ids[4]], on=date(2024, 7, 26))
    assert month_later["reason"].to_list() == ["over_contact_cap"]
    later = gate.verdicts([ids[4]], on=date(2024, 8, 23))
    assert later["reason"].to_list() == [None]
    # The control group is measured until round start + the last horizon, then free again.
    from winback.programme.attribution import MEASUREMENT_DAYS

    last_day = JUNE + timedelta(days=MEASUREMENT_DAYS - 1)
    with pytest.raises(gate.ContactNotAllowed) as refused:
        gate.check(control, on=last_day)
    assert refused.value.code == "control_group"
    gate.check(control, on=last_day + timedelta(days=1))


def test_a_do_not_contact_answer_in_the_log_outlives_an_import_clearing_the_flag(
    tmp_path: Path,
) -> None:
    from winback.app.contacts import gate

    _customers(tmp_path, "customers.csv", [_customer_row(1)])
    _import(
        "contacts",
        tmp_path,
        "contacts.csv",
        [
            {
                "contact_id": "K1",
                "customer_id": "C0001",
                "channel": "phone",
                "outcome": "do_not_contact",
                "occurred_at": "2023-01-05 10:00:00",
            }
        ],
    )
    _customers(tmp_path, "again.csv", [_customer_row(1, dnc=False)])

    assert gate.verdicts([_pk("C0001")], on=DAY)["reason"].to_list() == ["do_not_contact"]


# --- every path asks the gate -----------------------------------------------------------------
@dataclass
class Business:
    agents: list  # type: ignore[type-arg]
    june_id: int
    july_id: int
    blocked: dict[str, int]  # what -> customer pk


@pytest.fixture
def business(tmp_path: Path) -> Business:
    """Two rounds: June and July. Blocked on DAY: a June control customer, a July control
    customer with a June task left open, a June treated customer who later asked not to be
    contacted, and one who withdrew consent (both told to us by a customer-file import)."""
    from winback.app.rounds.service import plan_round
    from winback.app.settings.profile import set_profile
    from winback.store.programme.models import CallTask, RoundMember

    _customers(tmp_path, "customers.csv", [_customer_row(i) for i in range(1, N + 1)])
    _snapshot()
    # June's round stays open into July (it closes a month after its end), so a June task is
    # still open when its customer is drawn into July's control group.
    set_profile(overrides={"programme": {"round_close_after_days": 31}})
    agents = _agents()
    june = plan_round(
        Actor.system(), month=JUNE, holdout=0.5, seed=11, agents=agents, allow_small_control=True
    ).round
    june_open = list(
        CallTask.objects.filter(round=june, status="open")
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )
    june_control = set(
        RoundMember.objects.filter(round=june, arm="control").values_list("customer_id", flat=True)
    )
    assert len(june_open) >= 10
    assert june_control
    dnc, no_consent = june_open[0], june_open[1]
    ext = dict(
        CallTask.objects.filter(round=june).values_list("customer_id", "customer__external_id")
    )
    _customers(
        tmp_path,
        "update.csv",
        [
            _customer_row(int(ext[dnc][1:]), dnc=True),
            _customer_row(int(ext[no_consent][1:]), consent=False),
        ],
    )
    # A July control customer who was treated in June only happens with the control hygiene
    # off (recently_treated_days = 0, or rounds planned before it existed); the gate must
    # still hold them.
    set_profile(overrides={"programme": {"recently_treated_days": 0}})
    july = plan_round(
        Actor.system(), month=JULY, holdout=0.5, seed=12, agents=agents, allow_small_control=True
    ).round
    july_control = set(
        RoundMember.objects.filter(round=july, arm="control").values_list("customer_id", flat=True)
    )
    leftover = sorted(july_control & set(june_open) - {dnc, no_consent})
    assert leftover, "a July control customer with a June task still open"
    return Business(
        agents=agents,
        june_id=june.pk,
        july_id=july.pk,
        blocked={
            "june_control": min(june_control),
            "july_control_with_june_task": leftover[0],
            "do_not_contact": dnc,
            "no_consent": no_consent,
        },
    )


@pytest.fixture
def on_day() -> Iterator[None]:
    with time_machine.travel(datetime.combine(DAY, time(10), tzinfo=TZ), tick=False):
        yield


def _lists_shown(b: Business) -> dict[str, set[int]]:
    """Every list that puts customers in front of an agent or a message, on DAY."""
    from winback.app.care.service import care_plan
    from winback.app.customers.pages import CustomerFilters, early_warnings, my_calls
    from winback.app.rounds.call_lists import call_list
    from winback.store.customers.models import Customer
    from winback.store.programme.models import CallTask, Round, RoundMember

    pk_of = dict(Customer.objects.values_list("external_id", "pk"))
    shown: dict[str, set[int]] = {}
    july = Round.objects.get(pk=b.july_id)
    shown["july treated"] = set(
        RoundMember.objects.filter(round=july, arm="treated").values_list("customer_id", flat=True)
    )
    shown["july tasks"] = set(
        CallTask.objects.filter(round=july).values_list("customer_id", flat=True)
    )
    shown["my calls"] = {
        row.task.customer_id for agent in b.agents for row in my_calls(agent, today=DAY, lang="en")
    }
    shown["api tasks"] = set()
    for agent in b.agents:
        client = Client()
        client.force_login(agent)
        for page in (1, 2, 3, 4):
            body = client.get("/api/tasks", {"status": "open", "page": page, "page_size": 100})
            assert body.status_code == 200
            shown["api tasks"] |= {t["customer_id"] for t in json.loads(body.content)["items"]}
    for rnd in Round.objects.all():
        shown[f"call list {rnd.month:%Y-%m}"] = set(call_list(rnd)["customer_pk"])
    plan = care_plan(DAY, days=7, capacity=500)
    shown["care due"] = {pk_of[e] for e in plan.contacts_due["external_id"]}
    shown["greetings"] = {pk_of[e] for e in plan.greetings["external_id"]}
    shown["day list"] = {pk_of[e] for e in plan.day_list["external_id"]}
    warned: set[int] = set()
    for page in (1, 2):
        result = early_warnings(CustomerFilters(), page, lang="en")
        warned |= {item["customer"].pk for item in result["items"]}
    shown["early warnings"] = warned
    return shown


def _contacts_tried(b: Business) -> tuple[dict[str, set[int]], dict[int, set[str]]]:
    """Manual contacts on every open task of the blocked customers: workbench page, workbench
    form, API and the service itself. Returns the customers each path accepted a contact
    for, and the refusal codes each customer got."""
    from winback.app.rounds.service import ContactNotAllowed, log_contact
    from winback.store.programme.models import CallTask

    accepted: dict[str, set[int]] = {
        "call page": set(),
        "workbench form": set(),
        "api": set(),
        "log_contact": set(),
    }
    refused: dict[int, set[str]] = {}
    tasks = CallTask.objects.filter(customer_id__in=b.blocked.values(), status="open")
    for task in tasks.select_related("agent"):
        client = Client()
        client.force_login(task.agent)
        page = client.get(f"/calls/{task.pk}/")
        assert page.status_code == 200
        if b'name="outcome"' in page.content:
            accepted["call page"].add(task.customer_id)
        posted = client.post(
            f"/calls/{task.pk}/",
            {"outcome": "reached", "expected_version": task.version},
        )
        if posted.status_code == 302:  # saved; a refusal answers 422 with the reason
            accepted["workbench form"].add(task.customer_id)
        task.refresh_from_db()
        answer = client.post(
            "/api/contacts",
            json.dumps(
                {"task_id": task.pk, "expected_version": task.version, "outcome": "reached"}
            ),
            content_type="application/json",
        )
        if answer.status_code == 201:
            accepted["api"].add(task.customer_id)
        else:
            refused.setdefault(task.customer_id, set()).add(json.loads(answer.content)["code"])
        task.refresh_from_db()
        try:
            log_contact(
                task.pk,
                agent=task.agent,
                outcome="reached",
                expected_version=task.version,
                occurred_at=datetime.combine(DAY, time(11), tzinfo=TZ),
            )
        except ContactNotAllowed as exc:
            refused.setdefault(task.customer_id, set()).add(exc.code)
        else:
            accepted["log_contact"].add(task.customer_id)
    return accepted, refused


def test_no_path_lists_or_contacts_a_blocked_customer_during_the_measurement_window(
    business: Business, on_day: None
) -> None:
    from winback.store.programme.models import CallTask

    blocked = set(business.blocked.values())

    shown = _lists_shown(business)
    # Every list shows someone: an empty list would pass for the wrong reason.
    assert all(shown.values()), shown
    leaks = {name: sorted(ids & blocked) for name, ids in shown.items() if ids & blocked}
    assert leaks == {}, f"blocked customers {business.blocked} shown in {leaks}"

    accepted, refused = _contacts_tried(business)
    leaks = {name: sorted(ids & blocked) for name, ids in accepted.items() if ids & blocked}
    assert leaks == {}, f"contacts accepted for blocked customers {business.blocked}: {leaks}"
    # The import that set do-not-contact / withdrew consent closed their open tasks at once,
    # so only the control-group member still has an open task to try, and it is refused.
    assert refused == {business.blocked["july_control_with_june_task"]: {"control_group"}}
    uncontactable = [business.blocked["do_not_contact"], business.blocked["no_consent"]]
    tasks = CallTask.objects.filter(customer_id__in=uncontactable)
    assert tasks.exists()
    assert set(tasks.values_list("status", flat=True)) == {"closed"}


# --- a closed round leaves no task open --------------------------------------------------------
def test_closing_a_round_expires_its_open_tasks(tmp_path: Path) -> None:
    from winback.app.rounds.planning import refresh_returned
    from winback.app.rounds.service import ContactNotAllowed, log_contact, plan_round
    from winback.store.programme.models import CallTask, Round

    _customers(tmp_path, "customers.csv", [_customer_row(i) for i in range(1, 31)])
    _snapshot()
    june = plan_round(
        Actor.system(), month=JUNE, holdout=0.2, seed=5, agents=_agents(), allow_small_control=True
    ).round
    tasks = CallTask.objects.filter(round=june)
    worked = tasks.order_by("pk").first()
    assert worked is not None
    assert tasks.count() > 1
    log_contact(
        worked.pk,
        agent=worked.agent,
        outcome="refused",
        expected_version=worked.version,
        occurred_at=datetime.combine(JUNE + timedelta(days=3), time(10), tzinfo=TZ),
    )
    still_open = set(tasks.filter(status="open").values_list("pk", flat=True))
    assert still_open

    # The round closes the day after its last day (round_close_after_days 0, decision 0037).
    refresh_returned(june.round_end)  # not over yet
    assert Round.objects.get(pk=june.pk).status == "active"
    assert set(tasks.filter(status="open").values_list("pk", flat=True)) == still_open

    refresh_returned(june.round_end + timedelta(days=1))

    assert Round.objects.get(pk=june.pk).status == "closed"
    assert not tasks.filter(status="open").exists()
    assert set(tasks.filter(status="expired").values_list("pk", flat=True)) == still_open
    assert tasks.get(pk=worked.pk).status == "done"
    leftover = tasks.get(pk=min(still_open))
    with pytest.raises(ContactNotAllowed) as refused:
        log_contact(
            leftover.pk,
            agent=leftover.agent,
            outcome="reached",
            expected_version=leftover.version,
            occurred_at=datetime.combine(JUNE + timedelta(days=95), time(10), tzinfo=TZ),
        )
    assert refused.value.code == "task_closed"


# --- the global holdout -------------------------------------------------------------------------
@pytest.mark.slow
def test_no_path_lists_or_contacts_a_global_holdout_customer(
    business: Business, on_day: None
) -> None:
    from winback.app.contacts import gate
    from winback.app.settings.profile import current_profile, set_profile
    from winback.programme.holdout import in_global_holdout
    from winback.store.customers.models import Customer

    before = _lists_shown(business)
    set_profile(overrides={"programme": {"global_holdout_share": 0.3}})
    rules = current_profile().programme
    assert rules.global_holdout_seed is not None  # fixed when the holdout was turned on
    ids = list(Customer.objects.values_list("pk", flat=True))
    held = {
        pk
        for pk, h in zip(
            ids,
            in_global_holdout(ids, share=0.3, seed=rules.global_holdout_seed),
            strict=True,
        )
        if h
    }
    # The rounds' own rows were written before the holdout was on; every list served
    # through the gate must drop the held-out customers from then on.
    served = {
        k: v for k, v in _lists_shown(business).items() if k not in ("july treated", "july tasks")
    }
    listed_before = set().union(*(v for k, v in before.items() if k in served))
    assert held & listed_before, "no held-out customer was listed before: the test proves nothing"
    leaks = {name: sorted(ids & held) for name, ids in served.items() if ids & held}
    assert leaks == {}
    reasons = gate.verdicts(sorted(held), on=DAY)
    assert not reasons["allowed"].any()
    assert "global_holdout" in set(reasons["reason"])

    # Nobody held out is contacted through any path either.
    b = Business(
        agents=business.agents,
        june_id=business.june_id,
        july_id=business.july_id,
        blocked={str(pk): pk for pk in sorted(held)},
    )
    accepted, refused = _contacts_tried(b)
    assert {name: ids & held for name, ids in accepted.items() if ids & held} == {}
    assert refused, "no held-out customer had an open task: the test proves nothing"
    # the turning-on of the holdout does not change the seed later
    set_profile(overrides={"programme": {"global_holdout_share": 0.2}})
    assert current_profile().programme.global_holdout_seed == rules.global_holdout_seed
