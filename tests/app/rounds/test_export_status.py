"""Call list exports (R13) and round monitoring against a hand computation (R7)."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from tests.factories.business import MONTH, TZ, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_export_has_customer_ids_masked_phones_guarded_cells_and_audit(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from winback.app.rounds.service import export_round, plan_round
    from winback.store.accounts.models import AuditLog
    from winback.store.customers.models import Customer

    build_world()
    rnd = plan_round(Actor.system(), month=MONTH, seed=2, agents=team()).round
    evil = rnd.tasks.order_by("pk").first().customer
    Customer.objects.filter(pk=evil.pk).update(name='=HYPERLINK("http://x")')
    paths = export_round(rnd, tmp_path, role="supervisor")
    csvs = [p for p in paths if p.suffix == ".csv"]
    assert len(csvs) == rnd.tasks.values("agent").distinct().count()
    ids = dict(rnd.tasks.values_list("customer__external_id", "customer__phone"))
    seen = set()
    for path in csvs:
        for row in _rows(path):
            assert row["customer_id"] in ids
            seen.add(row["customer_id"])
            assert re.fullmatch(r"138\*{4}\d{4}", row["phone"]), row["phone"]
            assert ids[row["customer_id"]] != row["phone"]
            if row["customer_id"] == evil.external_id:
                assert row["name"].startswith("'=")
    assert seen == set(ids)
    book = load_workbook(next(p for p in paths if p.suffix == ".xlsx"), read_only=True)
    header, *cells = list(book.active.iter_rows(values_only=True))
    assert header[0] == "customer_id"
    assert all(r[0] in ids for r in cells)
    entry = AuditLog.objects.get(action="export_call_list", object_id=str(rnd.pk))
    assert entry.detail["rows"] == len(ids)
    assert not any(phone in str(entry.detail) for phone in ids.values())


def test_an_agent_sees_full_numbers_of_their_own_customers_only(tmp_path: Path) -> None:
    from winback.app.rounds.service import export_round, plan_round

    build_world()
    rnd = plan_round(Actor.system(), month=MONTH, seed=2, agents=team()).round
    agent = rnd.tasks.first().agent
    paths = export_round(rnd, tmp_path, role="agent", user=agent)
    own = dict(
        rnd.tasks.filter(agent=agent).values_list("customer__external_id", "customer__phone")
    )
    rows = [r for p in paths if p.suffix == ".csv" for r in _rows(p)]
    assert {r["customer_id"] for r in rows} == set(own)
    assert all(own[r["customer_id"]] == r["phone"] for r in rows)


def _hand_round() -> tuple[object, dict[str, float]]:
    """Six treated and four control customers with known purchases after the round start."""
    from winback.store.accounts.models import User
    from winback.store.customers.models import ContactLog, Customer, Order
    from winback.store.programme.models import CallTask, ContactAttempt, Round, RoundMember

    start = date(2024, 3, 1)
    rnd = Round.objects.create(
        month=start,
        seed=1,
        holdout_share=0.4,
        as_of=start,
        round_start=start,
        round_end=date(2024, 3, 31),
    )
    agent = User.objects.create(username="hand", role="agent", seniority=3)
    people = [Customer.objects.create(external_id=f"H{i}") for i in range(10)]
    arms = ["treated"] * 6 + ["control"] * 4
    for person, arm in zip(people, arms, strict=True):
        RoundMember.objects.create(
            round=rnd, customer=person, arm=arm, tier=1, stage="lost", priority_rank=1
        )
    menu = [{"offer_code": "V20", "cost": 20.0, "category_code": None}]
    tasks = [
        CallTask.objects.create(round=rnd, customer=p, agent=agent, offer_menu=menu)
        for p in people[:6]
    ]
    # Treated: 0 buys 100 with the voucher on day 10, 1 buys 50 on day 40, 2 buys 30 on day 70.
    # Control: 6 buys 40 on day 20. A purchase before the start and one on day 95 do not count.
    buys = [(0, 10, 10000, "V20"), (1, 40, 5000, ""), (2, 70, 3000, ""), (6, 20, 4000, "")]
    buys += [(3, -5, 9900, ""), (7, 95, 9900, "")]
    for k, (who, day, cents, coupon) in enumerate(buys):
        d = start + timedelta(days=day)
        Order.objects.create(
            order_key=f"O{k}",
            customer=people[who],
            ordered_at=datetime.combine(d, time(12), tzinfo=TZ),
            order_date=d,
            amount_cents=cents,
            coupon_code=coupon,
        )
    CallTask.objects.filter(pk=tasks[0].pk).update(offer_code="V20")
    # Three calls of 10 minutes each (duration in the log), one without duration (6 min default).
    for k, (task, seconds) in enumerate(zip(tasks[:4], [600, 600, 600, None], strict=True)):
        when = datetime.combine(start + timedelta(days=2), time(10), tzinfo=TZ)
        log = ContactLog.objects.create(
            source_key=f"c{k}",
            customer_id=task.customer_id,
            channel="phone",
            outcome="reached",
            occurred_at=when,
            occurred_date=when.date(),
            duration_seconds=seconds,
        )
        ContactAttempt.objects.create(
            task=task,
            agent=agent,
            outcome="reached",
            occurred_at=when,
            occurred_date=when.date(),
            contact_log=log,
        )
    return rnd, {"agent_cost": (30 + 6) * 1.0, "offer_cost": 20.0}


def test_round_status_matches_a_hand_computation() -> None:
    from winback.app.rounds.service import round_status
    from winback.app.settings.profile import current_profile

    rnd, cost = _hand_round()
    status = round_status(rnd, date(2024, 7, 1), n_boot=400)
    by_h = {h["horizon"]: h for h in status["horizons"]}
    # +30: treated 1/6 (day 10), control 1/4 (day 20)
    assert by_h[30]["p_treated"] == pytest.approx(1 / 6)
    assert by_h[30]["p_control"] == pytest.approx(1 / 4)
    # +90: treated 3/6, control 1/4; uplift 0.25
    h90 = by_h[90]
    assert (h90["returned_treated"], h90["returned_control"]) == (3, 1)
    assert h90["uplift"] == pytest.approx(0.5 - 0.25)
    assert h90["uplift_low"] < 0.25 < h90["uplift_high"]
    # spend per customer: treated (100 + 50 + 30) / 6 = 30, control 40 / 4 = 10
    assert h90["revenue_uplift"] == pytest.approx(30.0 - 10.0)
    assert h90["incremental_revenue"] == pytest.approx(20.0 * 6)
    assert h90["revenue_uplift_low"] <= 20.0 <= h90["revenue_uplift_high"]
    assert h90["agent_cost"] == pytest.approx(cost["agent_cost"])
    assert h90["offer_cost"] == pytest.approx(cost["offer_cost"])
    total = cost["agent_cost"] + cost["offer_cost"]
    margin = 120.0 * current_profile().gross_margin
    assert h90["roi"] == pytest.approx((margin - total) / total)
    assert h90["offer_redemption_rate"] == pytest.approx(1.0)
    assert status["treated"] == 6
    assert status["control"] == 4


def test_status_ignores_what_has_not_happened_yet() -> None:
    from winback.app.rounds.service import round_status

    rnd, _ = _hand_round()
    status = round_status(rnd, date(2024, 3, 15), n_boot=200)
    by_h = {h["horizon"]: h for h in status["horizons"]}
    assert by_h[90]["returned_treated"] == 1
    assert by_h[90]["returned_control"] == 0
    assert not by_h[30]["matured"]


def test_returns_are_recorded_once_the_window_has_passed() -> None:
    from winback.app.rounds.planning import refresh_returned
    from winback.store.programme.models import RoundMember

    rnd, _ = _hand_round()
    assert refresh_returned(date(2024, 5, 1)) == 0  # 90 days not yet passed
    refresh_returned(date(2024, 6, 1))
    returned = dict(
        RoundMember.objects.filter(round=rnd).values_list("customer__external_id", "returned")
    )
    # bought on days 10, 40, 70 (H0-H2) and 20 (H6); H3 only before, H7 only on day 95
    assert {k for k, v in returned.items() if v} == {"H0", "H1", "H2", "H6"}
    assert all(v is False for k, v in returned.items() if k not in {"H0", "H1", "H2", "H6"})
    rnd.refresh_from_db()
    assert rnd.status == "closed"
