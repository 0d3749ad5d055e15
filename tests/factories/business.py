"""A small business built with the ORM: customers, an analysis snapshot, contacts, complaints,
agents. Sizes and flags are drawn from a seeded generator so tests know every set exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

SNAPSHOT_DAY = date(2024, 5, 31)
MONTH = date(2024, 6, 1)
TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class World:
    customer_ids: list[int]
    dnc: set[int]
    no_consent: set[int]
    over_cap: set[int]
    complaint: set[int]
    candidates: set[int]  # status lost / at risk in the snapshot
    agents: list[int]


def build_world(
    n: int = 300, seed: int = 7, agent_capacity: int = 5, control_floor: int | None = 0
) -> World:
    """``control_floor``: the profile's floor of control customers per round. This world's
    rounds hold about 17 control customers, below the default floor of 30, so the world
    lowers it unless a test asks for another (``None``: the profile's default)."""
    from winback.app.settings.profile import set_profile
    from winback.store.accounts.models import Role, User
    from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
    from winback.store.customers.models import ContactLog, Customer, EngagementEvent

    if control_floor is not None:
        set_profile(overrides={"programme": {"control_floor": control_floor}})
    rng = np.random.default_rng(seed)
    flags = rng.random((n, 4))
    customers = Customer.objects.bulk_create(
        [
            Customer(
                external_id=f"EXT-{i:05d}",
                name=f"客户{i}",
                phone=f"138{i:08d}",
                consent_marketing=bool(flags[i, 1] >= 0.08),
                do_not_contact=bool(flags[i, 0] < 0.08),
            )
            for i in range(n)
        ]
    )
    if customers[0].pk is None:  # databases that do not return keys from bulk inserts
        customers = list(Customer.objects.order_by("external_id"))
    ids = [c.pk for c in customers]
    AnalysisRun.objects.create(as_of=SNAPSHOT_DAY, customers=n)
    statuses = rng.choice(["lost", "at_risk", "active"], size=n, p=[0.45, 0.35, 0.2])
    stages = rng.choice(["silent", "sleeping", "lost"], size=n)
    tiers = rng.integers(1, 6, size=n)
    CustomerSnapshot.objects.bulk_create(
        [
            CustomerSnapshot(
                customer_id=pk,
                as_of=SNAPSHOT_DAY,
                stage=str(stages[i]),
                customer_type="regular",
                status=str(statuses[i]),
                churn_score=float(rng.uniform(0, 100)),
                p_alive=float(rng.uniform(0.05, 0.9)),
                clv_365=float(rng.gamma(2.0, 300.0)),
                tier=int(tiers[i]),
                days_since_last=int(rng.integers(40, 400)),
                expected_interval_days=float(rng.uniform(15, 90)),
            )
            for i, pk in enumerate(ids)
        ]
    )
    over_cap = {pk for i, pk in enumerate(ids) if 0.08 <= flags[i, 2] < 0.16}
    complaint = {pk for i, pk in enumerate(ids) if 0.16 <= flags[i, 2] < 0.22}
    recent = SNAPSHOT_DAY - timedelta(days=5)
    ContactLog.objects.bulk_create(
        [
            ContactLog(
                source_key=f"hist-{pk}-{k}",
                customer_id=pk,
                channel="phone",
                outcome="not_reached",
                occurred_at=datetime.combine(recent - timedelta(days=k), time(10), tzinfo=TZ),
                occurred_date=recent - timedelta(days=k),
            )
            for pk in sorted(over_cap)
            for k in range(4)
        ]
    )
    EngagementEvent.objects.bulk_create(
        [
            EngagementEvent(
                source_key=f"complaint-{pk}",
                customer_id=pk,
                event_type="complaint",
                occurred_at=datetime.combine(recent, time(9), tzinfo=TZ),
                occurred_date=recent,
                resolved=False,
            )
            for pk in sorted(complaint)
        ]
    )
    agents = [
        User.objects.create(
            username=f"a{s}{k}", role=Role.AGENT, seniority=s, daily_capacity=agent_capacity
        ).pk
        for s in (3, 2, 1)
        for k in range(2)
    ]
    return World(
        customer_ids=ids,
        dnc={pk for i, pk in enumerate(ids) if flags[i, 0] < 0.08},
        no_consent={pk for i, pk in enumerate(ids) if flags[i, 1] < 0.08},
        over_cap=over_cap,
        complaint=complaint,
        candidates={pk for i, pk in enumerate(ids) if statuses[i] in ("lost", "at_risk")},
        agents=agents,
    )


def team() -> list:  # type: ignore[type-arg]
    from winback.store.accounts.models import Role, User

    return list(User.objects.filter(role=Role.AGENT).order_by("pk"))
