"""The round wizard and the round board through the Django test client (R6, R7, R13)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from typer.testing import CliRunner

from tests.factories.business import MONTH, World, build_world
from winback.app.rounds.service import log_contact
from winback.store.accounts.models import Role, User
from winback.store.programme.models import CallTask, Round, RoundMember, RoundRequest

pytestmark = pytest.mark.django_db

NumQueries = Callable[..., AbstractContextManager[Any]]
POOL = {"month": "2024-06", "statuses": ["lost", "at_risk"]}


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def supervisor() -> User:
    return User.objects.create(username="sup", role=Role.SUPERVISOR)


def signed_in(user: User) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def cli_plan(*args: str) -> dict[str, Any]:
    from winback.cli import app

    result = CliRunner().invoke(app, ["round", "plan", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def walk_to_step4(client: Client, holdout: str = "0.2", seed: str = "17") -> Any:
    return client.get(reverse("round_new"), {**POOL, "step": "4", "holdout": holdout, "seed": seed})


def create(client: Client, token: str, seed: str = "17", *, follow: bool = False) -> Any:
    return client.post(
        reverse("round_new"),
        {**POOL, "holdout": "0.2", "seed": seed, "token": token},
        follow=follow,
    )


# --- permissions ---------------------------------------------------------------------------------
def test_agents_get_403_and_anonymous_users_the_sign_in_page(world: World) -> None:
    rnd = Round.objects.create(
        month=MONTH,
        seed=1,
        holdout_share=0.1,
        as_of=MONTH,
        round_start=MONTH,
        round_end=MONTH.replace(day=30),
    )
    agent = User.objects.get(pk=world.agents[0])
    client = signed_in(agent)
    for url in (reverse("rounds"), reverse("round_new"), reverse("round_board", args=[rnd.pk])):
        assert client.get(url).status_code == 403
    assert client.get(reverse("round_new"), {**POOL, "step": "2"}).status_code == 403
    assert create(client, "agent-token").status_code == 403
    assert Round.objects.count() == 1
    anonymous = Client().get(reverse("rounds"))
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("login"))


# --- the wizard ----------------------------------------------------------------------------------
def test_step1_offers_statuses_tiers_and_stages(world: World, supervisor: User) -> None:
    page = signed_in(supervisor).get(reverse("round_new")).content.decode()
    assert 'name="month"' in page
    assert page.count('name="statuses"') == 2
    assert page.count('name="tiers"') == 5
    assert page.count('name="stages"') == 4
    assert 'value="2"' in page  # the next step


def test_exclusion_preview_counts_equal_the_cli_plan(world: World, supervisor: User) -> None:
    response = signed_in(supervisor).get(reverse("round_new"), {**POOL, "step": "2"})
    assert response.status_code == 200
    preview = response.context["preview"]
    page = response.content.decode()
    plan = cli_plan("--month", "2024-06", "--seed", "3")
    assert preview["excluded_by_cause"] == plan["excluded_by_cause"]
    assert preview["candidates"] == plan["candidates"] == len(world.candidates)
    assert plan["excluded_by_cause"]["do_not_contact"] == len(world.candidates & world.dnc) > 0
    assert plan["excluded_by_cause"]["open_complaint"] > 0
    for cause, n in plan["excluded_by_cause"].items():
        row = re.search(rf'data-cause="{cause}"><td>[^<]*</td><td class="num">(\d+)<', page)
        assert row is not None, cause
        assert int(row.group(1)) == n
    assert f'id="excluded-total">{plan["excluded"]}<' in page
    # The preview stored nothing; the CLI's plan is the only round.
    assert Round.objects.count() == 1


def test_pool_filters_reach_the_planner(world: World, supervisor: User) -> None:
    from winback.store.analysis.models import CustomerSnapshot

    client = signed_in(supervisor)
    query = {**POOL, "tiers": ["1", "2"], "stages": ["lost"], "step": "2"}
    preview = client.get(reverse("round_new"), query).context["preview"]
    expected = CustomerSnapshot.objects.filter(
        customer_id__in=world.candidates, tier__in=[1, 2], stage="lost"
    ).count()
    assert 0 < preview["candidates"] == expected < len(world.candidates)
    lost_only = client.get(reverse("round_new"), {**POOL, "statuses": ["lost"], "step": "2"})
    assert lost_only.context["preview"]["candidates"] < len(world.candidates)


def test_invalid_pool_goes_back_to_step1(world: World, supervisor: User) -> None:
    response = signed_in(supervisor).get(reverse("round_new"), {"month": "June", "step": "2"})
    assert response.status_code == 422
    assert response.context["step"] == 1


def test_htmx_steps_return_the_wizard_box_only(world: World, supervisor: User) -> None:
    client = signed_in(supervisor)
    response = client.get(reverse("round_new"), {**POOL, "step": "3"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="wizard"') or 'id="wizard"' in page[:200]
    assert "<html" not in page
    assert 'name="holdout"' in page
    assert 'name="seed"' in page


def test_assignment_preview_then_create_stores_treated_and_control(
    world: World, supervisor: User
) -> None:
    client = signed_in(supervisor)
    step4 = walk_to_step4(client)
    assert step4.status_code == 200
    preview = step4.context["preview"]
    token = step4.context["create_form"].initial["token"]
    agents = {a["username"]: a for a in preview["agents"]}
    assert len(agents) == len(world.agents)
    assert all(a["capacity"] == 5 * preview["working_days"] for a in agents.values())
    assert sum(a["assigned"] for a in agents.values()) == preview["summary"]["treated"] > 0

    response = create(client, token)
    rnd = Round.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("round_board", args=[rnd.pk])
    assert rnd.created_by == supervisor
    assert rnd.seed == 17
    assert rnd.holdout_share == 0.2
    assert rnd.config["statuses"] == ["lost", "at_risk"]
    treated = set(
        RoundMember.objects.filter(round=rnd, arm="treated").values_list("customer_id", flat=True)
    )
    control = set(
        RoundMember.objects.filter(round=rnd, arm="control").values_list("customer_id", flat=True)
    )
    tasks = set(CallTask.objects.filter(round=rnd).values_list("customer_id", flat=True))
    assert len(treated) == preview["summary"]["treated"]
    assert len(control) == preview["summary"]["control"] > 0
    assert tasks == treated  # control customers are never called
    # What was created is what step 4 showed: same seed, same inputs, same plan.
    by_agent = {
        u: n
        for u, n in CallTask.objects.filter(round=rnd)
        .values_list("agent__username")
        .order_by()
        .annotate(n=Count("pk"))
    }
    assert by_agent == {u: a["assigned"] for u, a in agents.items() if a["assigned"]}
    # The same plan the CLI makes with that seed.
    assert rnd.summary["excluded_by_cause"] == preview["summary"]["excluded_by_cause"]


def test_a_double_click_creates_one_round(world: World, supervisor: User) -> None:
    client = signed_in(supervisor)
    token = walk_to_step4(client).context["create_form"].initial["token"]
    first = create(client, token)
    second = create(client, token)
    assert Round.objects.count() == 1
    assert CallTask.objects.count() == Round.objects.get().summary["assigned"]
    assert first.url == second.url
    assert RoundRequest.objects.get().round_id == Round.objects.get().pk


def test_a_second_round_for_the_same_month_is_refused(world: World, supervisor: User) -> None:
    client = signed_in(supervisor)
    create(client, "first-press")
    rnd = Round.objects.get()
    other = signed_in(User.objects.create(username="sup2", role=Role.SUPERVISOR))
    response = other.post(
        reverse("round_new"),
        {**POOL, "holdout": "0.1", "seed": "5", "token": "another-press"},
        follow=True,
    )
    assert Round.objects.count() == 1
    assert response.redirect_chain[-1][0] == reverse("round_board", args=[rnd.pk])
    assert "already exists" in response.content.decode()
    step2 = other.get(reverse("round_new"), {**POOL, "step": "2"}).content.decode()
    assert "already exists" in step2


def test_a_failed_plan_lets_the_month_be_created_again(world: World, supervisor: User) -> None:
    from winback.store.analysis.models import AnalysisRun

    client = signed_in(supervisor)
    runs = list(AnalysisRun.objects.values())
    AnalysisRun.objects.all().delete()
    response = create(client, "press-without-analysis", follow=True)
    assert "No analysis" in response.content.decode()
    assert not RoundRequest.objects.exists()
    AnalysisRun.objects.bulk_create([AnalysisRun(**r) for r in runs])
    create(client, "press-again")
    assert Round.objects.count() == 1


# --- the board -----------------------------------------------------------------------------------
def _round_with_calls(client: Client) -> Round:
    create(client, "board")
    rnd = Round.objects.get()
    for i, task in enumerate(CallTask.objects.filter(round=rnd).order_by("pk")[:6]):
        outcome = ("reached", "not_reached", "refused")[i % 3]
        log_contact(
            task.pk,
            agent=task.agent,
            outcome=outcome,
            reason_code="price" if outcome == "reached" else "",
            notes=f"call {i}",
            expected_version=task.version,
        )
    return rnd


def test_board_shows_progress_outcomes_and_effects(world: World, supervisor: User) -> None:
    client = signed_in(supervisor)
    rnd = _round_with_calls(client)
    response = client.get(reverse("round_board", args=[rnd.pk]))
    assert response.status_code == 200
    ctx = response.context
    assert ctx["totals"]["tasks"] == CallTask.objects.filter(round=rnd).count()
    assert ctx["totals"]["reached"] == 4  # reached and refused count as reached
    assert ctx["attempts"] == 6
    outcomes = {code: n for code, _, n in ctx["outcomes"]}
    assert outcomes == {
        "reached": 2,
        "not_reached": 2,
        "refused": 2,
        "call_back": 0,
        "do_not_contact": 0,
        "wrong_number": 0,
    }
    assert [h["horizon"] for h in ctx["horizons"]] == [30, 60, 90]
    assert ctx["horizons"][0]["n_treated"] == rnd.summary["treated"]
    assert ctx["horizons"][0]["n_control"] == rnd.summary["control"]
    page = response.content.decode()
    assert 'data-horizon="90"' in page
    assert "95%" in page
    listing = client.get(reverse("rounds")).content.decode()
    assert reverse("round_board", args=[rnd.pk]) in listing


def test_board_draws_the_reports_uplift_chart_with_intervals(
    world: World, supervisor: User
) -> None:
    from winback.app.rounds.monitoring import round_status
    from winback.app.rounds.wizard import BOARD_BOOTSTRAP, round_board
    from winback.reporting.charts import rounds_chart, to_svg
    from winback.reporting.metrics import round_table

    client = signed_in(supervisor)
    rnd = _round_with_calls(client)
    day = MONTH.replace(month=10)  # every horizon has passed
    board = round_board(rnd, as_of=day, lang="en")
    assert all(h["matured"] for h in board["horizons"])
    assert all(h["uplift_low"] <= h["uplift"] <= h["uplift_high"] for h in board["horizons"])
    expected = to_svg(
        rounds_chart({"looks": round_table([round_status(rnd, day, n_boot=BOARD_BOOTSTRAP)])}, "en")
    )
    assert board["charts"]["uplift"] == expected


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["pre-registered", "progress", "Net margin (incremental margin minus cost)"]),
        ("zh-hans", ["预先登记", "进度", "净额（增量毛利减成本）"]),
    ],
)
def test_board_reads_the_round_at_its_pre_registered_horizon_with_intervals(
    lang: str, words: list[str], world: World, supervisor: User
) -> None:
    client = signed_in(supervisor)
    rnd = _round_with_calls(client)
    response = client.get(reverse("round_board", args=[rnd.pk]), HTTP_ACCEPT_LANGUAGE=lang)
    page = response.content.decode()
    estimate = response.context["estimate"]
    assert estimate["horizon"] == 90
    assert [h["primary"] for h in response.context["horizons"]] == [False, False, True]
    assert 'data-primary="1"' in page
    assert 'id="estimate"' in page
    assert len(estimate["rows"]) == 4  # return rate, revenue, net margin, ROI
    for word in words:
        assert word in page, word


def test_board_shows_results_per_offer_option_and_the_offer_budget(
    world: World, supervisor: User
) -> None:
    from winback.app.contacts.offer_budget import committed_cost

    client = signed_in(supervisor)
    create(client, "board")
    rnd = Round.objects.get()
    tasks = [t for t in CallTask.objects.filter(round=rnd).order_by("pk") if t.menu.codes][:5]
    presented: dict[str, int] = {}
    for i, task in enumerate(tasks):
        # Reached: three accept the menu's last option, one hears the first and declines; the
        # fifth is not reached and was presented nothing.
        reached = i < 4
        code = task.menu.offers[-1].code if i < 3 else ""
        log_contact(
            task.pk,
            agent=task.agent,
            outcome="reached" if reached else "not_reached",
            reason_code="price" if reached else "",
            offer_code=code,
            expected_version=task.version,
        )
        if reached:
            task.refresh_from_db()  # the reason re-plans the menu of a declined offer
            shown = code or task.menu.offers[0].code
            presented[shown] = presented.get(shown, 0) + 1
    response = client.get(reverse("round_board", args=[rnd.pk]))
    options = response.context["offer_options"]
    got: dict[str, int] = {}
    for o in options:
        got[o["offer_code"]] = got.get(o["offer_code"], 0) + o["presented"]
    assert got == presented
    # Nobody has bought yet: nothing redeemed, nobody came back.
    assert all(o["redeemed"] == 0 and o["came_back"] == 0 for o in options)
    page = response.content.decode()
    assert 'id="offer-options"' in page
    for code in presented:
        assert f'data-offer="{code}"' in page
    budget = response.context["offer_budget"]
    assert budget["committed"] == f"{committed_cost(rnd.pk):,.0f}"
    assert 'id="offer-budget"' in page
    assert "Offers: results per option" in page


@pytest.mark.parametrize("calls", [2, 9])
def test_board_query_count_does_not_grow(
    calls: int, world: World, supervisor: User, django_assert_max_num_queries: NumQueries
) -> None:
    client = signed_in(supervisor)
    create(client, "board")
    rnd = Round.objects.get()
    for task in CallTask.objects.filter(round=rnd).order_by("pk")[:calls]:
        log_contact(
            task.pk,
            agent=task.agent,
            outcome="reached",
            reason_code="price",
            expected_version=task.version,
        )
    # session, user, round, progress (tasks per agent and status, with whether the agent is
    # active: the lifecycle's holders come from it), attempts per agent and outcome (the
    # progress's attempts and reached and the outcomes table), 14 for the effects (the profile's
    # closing days and the round's data version: the round ended long ago, so its measurement
    # may come from the cache; members, orders, lines, events, offers, contacts, the stored
    # pre-period spend and visits, memberships, the profile twice, the offers presented: tasks
    # and members), the offer rules and the committed offer cost, the profile for the
    # currency, the session save (3 with its savepoint)
    with django_assert_max_num_queries(23):
        assert client.get(reverse("round_board", args=[rnd.pk])).status_code == 200
    # session, user, rounds, arm sizes, task progress, session save (3)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("rounds")).status_code == 200


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_presses_create_one_round() -> None:
    """Eight requests at once, four with the same token and four from another supervisor's
    page: one round is planned, the same-token presses are sent to it, the others refused."""
    import threading

    from django.db import connection

    build_world()
    sup = User.objects.create(username="sup", role=Role.SUPERVISOR)
    presses = 8
    start = threading.Barrier(presses)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def press(k: int) -> None:
        try:
            client = signed_in(sup)
            start.wait()
            token = "same-token" if k % 2 == 0 else f"other-{k}"
            response = client.post(
                reverse("round_new"), {**POOL, "holdout": "0.2", "seed": "17", "token": token}
            )
            with lock:
                answers.append((response.status_code, response.url))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(k,)) for k in range(presses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Round.objects.count() == 1
    rnd = Round.objects.get()
    assert CallTask.objects.filter(round=rnd).count() == rnd.summary["assigned"]
    assert all(status == 302 for status, _ in answers)
    assert len(answers) == presses
    board = reverse("round_board", args=[rnd.pk])
    # Every press lands on the round, or on the list while it is still being planned.
    assert {url for _, url in answers} <= {board, reverse("rounds")}
    assert RoundRequest.objects.get().round_id == rnd.pk


def test_a_press_that_died_while_planning_stops_holding_the_month(
    world: World, supervisor: User
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from winback.app.rounds.service import STALE_REQUEST

    client = signed_in(supervisor)
    RoundRequest.objects.create(token="dead", month=MONTH, created_by=supervisor)
    create(client, "fresh")
    assert not Round.objects.exists()  # a press still planning holds the month
    RoundRequest.objects.filter(token="dead").update(
        created_at=timezone.now() - STALE_REQUEST - timedelta(minutes=1)
    )
    create(client, "fresh")
    assert Round.objects.count() == 1
    assert list(RoundRequest.objects.values_list("token", flat=True)) == ["fresh"]


# --- the design and the control floor ------------------------------------------------------------
def test_step4_shows_the_design_and_a_too_small_control_group_needs_the_box(
    supervisor: User,
) -> None:
    build_world(control_floor=None)  # the default floor of 30; this world has fewer controls
    client = signed_in(supervisor)
    step4 = walk_to_step4(client, holdout="0.1")
    page = step4.content.decode()
    design = step4.context["preview"]["design"]
    assert design["n_control"] == step4.context["preview"]["summary"]["control"] < 30
    assert 'id="design-warning"' in page  # too small to detect the hoped-for effect
    assert 'id="floor-warning"' in page
    assert f"about {design['needed_control']} control customers" in page
    assert 'name="allow_small_control"' in page
    token = step4.context["create_form"].initial["token"]

    refused = client.post(
        reverse("round_new"), {**POOL, "holdout": "0.1", "seed": "17", "token": token}, follow=True
    )
    assert not Round.objects.exists()
    assert "below the floor of 30" in refused.content.decode()
    assert refused.redirect_chain[-1][0].startswith(reverse("round_new"))

    client.post(
        reverse("round_new"),
        {**POOL, "holdout": "0.1", "seed": "17", "token": token, "allow_small_control": "on"},
    )
    rnd = Round.objects.get()
    assert rnd.design["small_control_allowed"] is True
    assert rnd.design["n_control"] == design["n_control"]


def test_a_large_enough_control_group_shows_no_warning(world: World, supervisor: User) -> None:
    from winback.app.settings.profile import set_profile

    set_profile(overrides={"programme": {"hoped_effect": 0.6}})  # a large effect is easy to see
    page = walk_to_step4(signed_in(supervisor), holdout="0.5").content.decode()
    assert 'id="design"' in page
    assert 'id="design-warning"' not in page
    assert 'id="floor-warning"' not in page
    assert 'name="allow_small_control"' not in page


def test_the_cli_refuses_a_small_control_group_and_records_the_override(
    supervisor: User,
) -> None:
    from winback.cli import app

    build_world(control_floor=None)
    refused = CliRunner().invoke(app, ["round", "plan", "--month", "2024-06", "--seed", "3"])
    assert refused.exit_code == 2
    assert "--allow-small-control" in refused.output
    assert not Round.objects.exists()
    data = cli_plan("--month", "2024-06", "--seed", "3", "--allow-small-control")
    assert data["design"]["small_control_allowed"] is True
    assert "control_too_small_for_hoped_effect" in data["design"]["warnings"]
    assert data["uplift"]["source"] == "defaults"
    again = CliRunner().invoke(app, ["round", "plan", "--month", "2024-06", "--seed", "4"])
    assert again.exit_code == 2
    assert "--replace" in again.output
    replaced = cli_plan("--month", "2024-06", "--seed", "4", "--replace", "--allow-small-control")
    assert replaced["round_id"] != data["round_id"]
    assert Round.objects.get().seed == 4
