"""A small, fully known world for the workbench tests: two agents, a supervisor, customers with
orders, a round with call tasks and an analysis run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from winback.store.accounts.models import Role, User
from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
from winback.store.customers.models import (
    Category,
    ContactLog,
    Customer,
    EngagementEvent,
    Order,
    OrderLine,
)
from winback.store.programme.models import CallTask, Round, RoundMember

PASSWORD = "a-long-test-password-42"
TZ = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 10, 31)


@dataclass
class World:
    agent1: User
    agent2: User
    supervisor: User
    admin: User
    round: Round
    mine: Customer  # assigned to agent1
    theirs: Customer  # assigned to agent2
    task_mine: CallTask
    task_theirs: CallTask


def user(username: str, role: str) -> User:
    u = User(username=username, role=role, seniority=3)
    u.set_password(PASSWORD)
    u.save()
    return u


def customer(external_id: str, phone: str, **extra: object) -> Customer:
    return Customer.objects.create(
        external_id=external_id, name=f"Name {external_id}", phone=phone, **extra
    )


def orders(c: Customer, amounts_cents: list[int], category: Category, start: date) -> None:
    for i, cents in enumerate(amounts_cents):
        day = start + timedelta(days=35 * i)
        o = Order.objects.create(
            order_key=f"{c.external_id}-o{i}",
            customer=c,
            ordered_at=datetime(day.year, day.month, day.day, 12, tzinfo=TZ),
            order_date=day,
            amount_cents=cents,
        )
        OrderLine.objects.create(order=o, line_no=1, category=category, amount_cents=cents)


def snapshot(c: Customer, stage: str, status: str, tier: int | None, score: float) -> None:
    CustomerSnapshot.objects.create(
        customer=c,
        as_of=AS_OF,
        stage=stage,
        customer_type="alert",
        status=status,
        churn_score=score,
        tier=tier,
    )


def task(rnd: Round, c: Customer, agent: User, rank: int, due: date, **extra: object) -> CallTask:
    RoundMember.objects.create(
        round=rnd,
        customer=c,
        arm="treated",
        tier=2,
        stage="sleeping",
        priority_rank=rank,
        reason_code=str(extra.get("reason_code", "")),
        channel="phone",
    )
    menu = [
        {"offer_code": "expert_advice", "kind": "expert_advice", "cost": 15.0, "menu_rank": 1},
        {"offer_code": "free_delivery", "kind": "free_delivery", "cost": 8.0, "menu_rank": 2},
    ]
    return CallTask.objects.create(
        round=rnd,
        customer=c,
        agent=agent,
        planned_date=due,
        next_due=due,
        offer_menu=menu,
        **extra,
    )


def build_world(extra_customers: int = 0, orders_per_customer: int = 3) -> World:
    agent1, agent2 = user("agent1", Role.AGENT), user("agent2", Role.AGENT)
    supervisor, admin = user("supervisor", Role.SUPERVISOR), user("admin", Role.ADMIN)
    cat = Category.objects.create(code="A01", name="护肤", name_en="Skin care")
    rnd = Round.objects.create(
        month=date(2026, 11, 1),
        seed=1,
        holdout_share=0.1,
        as_of=AS_OF,
        round_start=date(2026, 11, 1),
        round_end=date(2026, 11, 30),
    )
    AnalysisRun.objects.create(
        as_of=AS_OF,
        customers=2,
        counts={"stage": {"lost": 1, "sleeping": 1}, "status": {"at_risk": 2}, "tier": {"2": 2}},
    )
    mine = customer("C-MINE", "13812345678", notes="Prefers evening calls")
    theirs = customer("C-THEIRS", "13987654321")
    amounts = [12_000, 45_600, 7_800, 9_900, 30_000, 5_000][:orders_per_customer]
    for c in (mine, theirs):
        orders(c, amounts, cat, date(2025, 1, 10))
    snapshot(mine, "sleeping", "at_risk", 2, 71.0)
    snapshot(theirs, "lost", "lost", 1, 88.0)
    EngagementEvent.objects.create(
        source_key="e1",
        customer=mine,
        event_type="complaint",
        occurred_at=datetime(2025, 6, 1, 9, tzinfo=TZ),
        occurred_date=date(2025, 6, 1),
        # Resolved: a complaint still open would route C-MINE to the complaints team.
        resolved=True,
        resolved_at=datetime(2025, 6, 3, 9, tzinfo=TZ),
    )
    ContactLog.objects.create(
        source_key="c1",
        customer=mine,
        channel="phone",
        outcome="not_reached",
        occurred_at=datetime(2026, 9, 1, 9, tzinfo=TZ),
        occurred_date=date(2026, 9, 1),
        notes="No answer",
    )
    task_mine = task(rnd, mine, agent1, 5, date(2026, 11, 3), reason_code="price")
    task_theirs = task(rnd, theirs, agent2, 1, date(2026, 11, 2))
    for i in range(extra_customers):
        c = customer(f"C-X{i:03d}", f"1370000{i:04d}")
        orders(c, amounts, cat, date(2025, 2, 1))
        snapshot(c, "silent", "active", 3, 40.0 + i)
        task(rnd, c, agent1, 10 + i, date(2026, 11, 5))
    return World(agent1, agent2, supervisor, admin, rnd, mine, theirs, task_mine, task_theirs)


def gate_query_count() -> int:
    """The queries one question to the contact gate costs (the same for any number of
    customers: it reads sparse facts, one query each)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from winback.app.contacts import gate

    on = gate.today()
    with CaptureQueriesContext(connection) as asked:
        gate.verdicts([1, 2, 3], on=on)
    return len(asked)
