"""The supervisor's money view: the board and the dashboard show the monthly report's figures
(``winback report --format json``), the calls are counted one way everywhere, a round without
outcomes says so, and each agent's calls can be opened from the board."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from typer.testing import CliRunner

from tests.factories.business import MONTH, TZ, team
from tests.factories.business import build_world as build_business
from tests.factories.workbench import World, build_world
from winback.app.actors import Actor
from winback.cli import app
from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, ContactAttempt, Round
from winback.web.workbench.templatetags.workbench_tags import yuan

pytestmark = pytest.mark.django_db

REPORT_MONTH = date(2024, 9, 1)  # June's +90-day window has closed by September's end


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _supervisor() -> User:
    return User.objects.create(username="sup", role=Role.SUPERVISOR)


def _round_with_purchases(effect: float, seed: int) -> Round:
    """June's round of the small business, with purchases before it (CUPED) and in its +90
    days, treated customers coming back ``effect`` more often; some calls logged; an analysis
    dated at September's end so the report can be made."""
    from winback.app.rounds.service import log_contact, plan_round
    from winback.programme.inference import PRE_PERIOD_DAYS
    from winback.store.analysis.models import AnalysisRun
    from winback.store.customers.models import Order
    from winback.store.programme.models import RoundMember
    from winback.store.queries.rounds import refill_pre_periods

    build_business()
    rnd = plan_round(Actor.system(), month=MONTH, holdout=0.5, seed=seed, agents=team()).round
    members = list(RoundMember.objects.filter(round=rnd).values_list("customer_id", "arm"))
    rng = np.random.default_rng(seed)
    orders = []
    for k, (pk, arm) in enumerate(members):
        habit = rng.gamma(2.0, 0.5)
        for j in range(int(rng.poisson(habit))):
            day = rnd.round_start - timedelta(days=int(rng.integers(1, 90)))
            orders.append((f"pre-{k}-{j}", pk, day, int(rng.lognormal(5.0, 0.6) * 100)))
        p = min(0.95, 0.2 * habit + (effect if arm == "treated" else 0.0))
        if rng.random() < p:
            day = rnd.round_start + timedelta(days=int(rng.integers(0, 85)))
            orders.append((f"post-{k}", pk, day, int(rng.lognormal(5.5, 0.5) * 100)))
    Order.objects.bulk_create(
        [
            Order(
                order_key=key,
                customer_id=pk,
                ordered_at=datetime.combine(day, time(12), tzinfo=TZ),
                order_date=day,
                amount_cents=cents,
            )
            for key, pk, day, cents in orders
        ]
    )
    # written after the plan, as a late import's orders: the stored pre-period is refreshed
    refill_pre_periods(
        first=rnd.round_start - timedelta(days=PRE_PERIOD_DAYS),
        last=rnd.round_start + timedelta(days=90),
        days=PRE_PERIOD_DAYS,
    )
    for i, task in enumerate(CallTask.objects.filter(round=rnd).order_by("pk")[:9]):
        log_contact(
            task.pk,
            agent=task.agent,
            outcome=("reached", "not_reached", "refused")[i % 3],
            reason_code="price" if i % 3 == 0 else "",
            expected_version=task.version,
            occurred_at=datetime.combine(rnd.round_start, time(10), tzinfo=TZ)
            + timedelta(days=1, minutes=i),
        )
    AnalysisRun.objects.create(as_of=date(2024, 9, 30), customers=300, counts={}, audit={})
    return rnd


def _report_json(tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["report", "--month", f"{REPORT_MONTH:%Y-%m}", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return doc


def _figures(money: dict[str, Any]) -> dict[str, Any]:
    return {f.key: f for f in money["figures"]}


@pytest.mark.slow
def test_board_and_dashboard_money_equal_the_report_json(tmp_path: Path) -> None:
    rnd = _round_with_purchases(effect=0.3, seed=5)
    doc = _report_json(tmp_path)
    row = next(r for r in doc["rounds"] if r["round_id"] == rnd.pk)
    client = _signed_in(_supervisor())

    board = client.get(reverse("round_board", args=[rnd.pk]), {"month": "2024-09"})
    assert board.status_code == 200
    money = board.context["money"]
    got = _figures(money)
    n = row["n_treated"]
    assert money["n_treated"] == n
    assert money["matured"] is row["matured"] is True
    assert (got["revenue"].value, got["revenue"].low, got["revenue"].high) == (
        row["revenue_diff"] * n,
        row["revenue_low"] * n,
        row["revenue_high"] * n,
    )
    for key, (value, low, high) in {
        "margin": ("incremental_margin", "margin_low", "margin_high"),
        "net": ("net", "net_low", "net_high"),
        "roi": ("roi", "roi_low", "roi_high"),
    }.items():
        assert (got[key].value, got[key].low, got[key].high) == (row[value], row[low], row[high])
    assert got["cost"].value == row["cost"]
    assert got["cost_calls"].value + got["cost_offers"].value == pytest.approx(row["cost"])
    assert got["cost_calls"].value > 0  # nine calls were made
    page = board.content.decode()
    for value in (row["net"], row["net_low"], row["net_high"], row["cost"]):
        assert yuan(value) in page

    dashboard = client.get(reverse("dashboard"), {"month": "2024-09"})
    assert dashboard.status_code == 200
    verdict = doc["verdict"]
    pooled = dashboard.context["money"]
    assert pooled["decision"] == verdict["decision"]
    assert pooled["matured_rounds"] == verdict["rounds"] == 1
    got = _figures(pooled)
    n = verdict["n_treated"]
    assert got["revenue"].value == verdict["revenue_diff"] * n
    for key, (value, low, high) in {
        "net": ("net", "net_low", "net_high"),
        "roi": ("roi", "roi_low", "roi_high"),
    }.items():
        assert (got[key].value, got[key].low, got[key].high) == (
            verdict[value],
            verdict[low],
            verdict[high],
        )
    assert got["cost"].value == verdict["cost"]
    assert got["margin"].value == verdict["incremental_margin"]
    html = dashboard.content.decode()
    assert yuan(verdict["net"]) in html
    # the round's row on the dashboard shows its own (report) revenue won back
    assert yuan(row["revenue_diff"] * row["n_treated"]) in html


def test_money_is_not_known_when_the_interval_covers_zero() -> None:
    from winback.app.reports.money import NOT_KNOWN, PAYS, _finding

    assert _finding(-10.0, 20.0, 100) == NOT_KNOWN
    assert _finding(5.0, 20.0, 10) == NOT_KNOWN  # too few control customers
    assert _finding(5.0, 20.0, 100) == PAYS


# --- the world of the workbench tests: a round of November 2026 with no purchase yet ----------
@pytest.fixture
def world() -> World:
    return build_world(extra_customers=4)


def test_a_new_round_shows_no_outcomes_yet_instead_of_an_empty_chart(world: World) -> None:
    from django.utils import timezone

    today = timezone.localdate()
    Round.objects.filter(pk=world.round.pk).update(
        month=today.replace(day=1), round_start=today, round_end=today + timedelta(days=29)
    )
    client = _signed_in(world.supervisor)
    response = client.get(reverse("round_board", args=[world.round.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="no-outcomes"' in page
    assert 'id="uplift-chart"' not in page
    assert 'id="spend-chart"' not in page
    assert response.context["money"]["finding"] == "no_outcomes_yet"
    assert response.context["money"]["figures"] == []


def _log(task: CallTask, outcome: str, minutes: int) -> None:
    from winback.app.rounds.service import log_contact

    task.refresh_from_db()
    log_contact(
        task.pk,
        agent=task.agent,
        outcome=outcome,
        reason_code="price" if outcome == "reached" else "",
        expected_version=task.version,
        occurred_at=datetime(2026, 11, 3, 10, tzinfo=TZ) + timedelta(minutes=minutes),
    )


def test_attempts_reached_and_completed_are_counted_one_way(world: World) -> None:
    """Two not-reached attempts then a reached one on one task: 3 attempts, 1 reached (an
    attempt, not a task), 1 completed task; the board, the dashboard and the drill-down agree."""
    task = world.task_mine
    _log(task, "not_reached", 0)
    _log(task, "not_reached", 1)
    _log(task, "reached", 2)
    client = _signed_in(world.supervisor)
    board = client.get(reverse("round_board", args=[world.round.pk])).context
    mine = next(a for a in board["agents"] if a["agent"] == "agent1")
    assert (mine["attempts"], mine["reached"]) == (3, 1)
    assert mine["done"] == CallTask.objects.filter(agent=world.agent1, status="done").count()
    assert board["totals"]["attempts"] == board["attempts"] == ContactAttempt.objects.count()
    dash = client.get(reverse("dashboard")).context
    row = next(r for r in dash["rounds"] if r["round"].pk == world.round.pk)
    assert (row["attempts"], row["reached"], row["done"]) == (
        board["totals"]["attempts"],
        board["totals"]["reached"],
        board["totals"]["done"],
    )
    page = client.get(reverse("round_board", args=[world.round.pk])).content.decode()
    assert "Contact attempts: every call made" in page or "联系尝试" in page


@pytest.mark.slow
def test_agent_drill_down_lists_their_calls_with_links(world: World) -> None:
    from winback.store.customers.models import Order

    _log(world.task_mine, "reached", 0)
    Order.objects.create(
        order_key="back-1",
        customer=world.mine,
        ordered_at=datetime(2026, 11, 10, 12, tzinfo=TZ),
        order_date=date(2026, 11, 10),
        amount_cents=12_345,
    )
    client = _signed_in(world.supervisor)
    board = client.get(reverse("round_board", args=[world.round.pk])).content.decode()
    url = reverse("round_agent", args=[world.round.pk, world.agent1.pk])
    assert url in board
    response = client.get(url)
    assert response.status_code == 200
    ctx = response.context
    assert ctx["summary"]["tasks"] == CallTask.objects.filter(agent=world.agent1).count()
    assert (ctx["summary"]["attempts"], ctx["summary"]["reached"]) == (1, 1)
    assert ctx["summary"]["won_back"] == 1
    mine = next(t for t in ctx["tasks"] if t["task"].pk == world.task_mine.pk)
    assert mine["came_back"]
    assert mine["spend"] == pytest.approx(123.45)
    page = response.content.decode()
    assert reverse("call", args=[world.task_mine.pk]) in page
    # agents may not open it
    assert _signed_in(world.agent1).get(url).status_code == 403
    # an agent with no calls in the round: nothing to show
    assert (
        client.get(reverse("round_agent", args=[world.round.pk, world.admin.pk])).status_code == 403
    )
