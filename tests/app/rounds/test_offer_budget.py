"""The round's offer budget at planning and at outcome logging; offer learning counts (R5)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from tests.factories.business import MONTH, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db


def _planned() -> object:
    from winback.app.rounds.service import plan_round

    build_world()
    return plan_round(Actor.system(), month=MONTH, seed=9, agents=team()).round


def _with_menus(rnd: object, n: int) -> list:  # type: ignore[type-arg]
    return [t for t in rnd.tasks.order_by("pk") if t.menu.codes][:n]  # type: ignore[attr-defined]


def test_every_round_has_an_offer_budget_from_the_programme_rule_and_menus_fit_it() -> None:
    from winback.app.settings.profile import current_profile
    from winback.programme.menus import OfferMenu

    rnd = _planned()
    offers = rnd.summary["offers"]  # type: ignore[attr-defined]
    per_treated = current_profile().programme.offer_budget_per_treated
    assert offers["budget"] == pytest.approx(per_treated * rnd.summary["treated"])  # type: ignore[attr-defined]
    # What the stored menus reserve (each customer's dearest option) fits the budget.
    reserved = sum(
        max((o.cost or 0.0 for o in OfferMenu.from_json(t.offer_menu).offers), default=0.0)
        for t in rnd.tasks.all()  # type: ignore[attr-defined]
    )
    assert reserved <= offers["budget"] + 0.01 * rnd.tasks.count()  # stored costs are rounded  # type: ignore[attr-defined]
    learning = offers["learning"]
    assert learning["policy"] == "thompson_sampling"
    assert learning["floor"] == current_profile().programme.offer_exploration_floor
    assert learning["seed"] == rnd.seed  # type: ignore[attr-defined]


def test_an_accepted_offer_past_the_rounds_budget_is_refused_and_nothing_is_written() -> None:
    from winback.app.contacts.offer_budget import OfferOverBudget, committed_cost
    from winback.app.rounds.service import log_contact
    from winback.store.customers.models import ContactLog
    from winback.store.programme.models import ContactAttempt

    rnd = _planned()
    first, second = _with_menus(rnd, 2)
    dear = max(first.menu.offers, key=lambda o: o.cost or 0.0)
    cheap = min(first.menu.offers, key=lambda o: o.cost or 0.0)
    other = second.menu.offers[0]
    # A budget that holds the first call's dearest offer, and less than that plus the second's.
    rnd.summary["offers"]["budget"] = (dear.cost or 0.0) + (other.cost or 0.0) - 0.01  # type: ignore[attr-defined]
    rnd.save(update_fields=["summary"])  # type: ignore[attr-defined]

    log_contact(
        first.pk,
        agent=first.agent,
        outcome="reached",
        simulated=True,  # no reason given: a reason would re-plan the menus under test
        offer_code=dear.code,
        expected_version=1,
    )
    stored = ContactAttempt.objects.get(task=first)
    assert stored.offer_cost == pytest.approx(dear.cost)
    assert committed_cost(rnd.pk) == pytest.approx(dear.cost)  # type: ignore[attr-defined]

    before = ContactLog.objects.count(), ContactAttempt.objects.count()
    with pytest.raises(OfferOverBudget) as refused:
        log_contact(
            second.pk,
            agent=second.agent,
            outcome="reached",
            simulated=True,
            offer_code=other.code,
            expected_version=1,
        )
    assert refused.value.code == "offer_over_budget"
    assert f"{other.cost:.2f}" in refused.value.detail
    assert (ContactLog.objects.count(), ContactAttempt.objects.count()) == before
    second.refresh_from_db()
    assert (second.version, second.offer_code) == (1, "")

    # The first customer changes their mind to the cheapest offer: the task's new choice
    # replaces the old one (never counted twice), and the room it frees lets the second
    # customer's offer in.
    first.refresh_from_db()
    log_contact(
        first.pk,
        agent=first.agent,
        outcome="reached",
        simulated=True,
        offer_code=cheap.code,
        expected_version=first.version,
    )
    assert committed_cost(rnd.pk) == pytest.approx(cheap.cost)  # type: ignore[attr-defined]
    assert (cheap.cost or 0.0) < (dear.cost or 0.0)  # the world's menus differ in cost
    log_contact(
        second.pk,
        agent=second.agent,
        outcome="reached",
        simulated=True,
        offer_code=other.code,
        expected_version=1,
    )
    assert committed_cost(rnd.pk) == pytest.approx((cheap.cost or 0.0) + (other.cost or 0.0))  # type: ignore[attr-defined]


def test_offer_counts_read_what_reached_treated_members_were_presented() -> None:
    from winback.app.rounds.offer_learning import offer_counts
    from winback.app.rounds.service import log_contact

    rnd = _planned()
    tasks = _with_menus(rnd, 6)
    chosen = {}
    for i, task in enumerate(tasks):
        if i == 5:  # not reached: never presented anything
            log_contact(task.pk, agent=task.agent, outcome="not_reached", expected_version=1)
            continue
        # Every other reached customer accepts the menu's last option; the rest hear the first.
        code = task.menu.offers[-1].code if i % 2 else ""
        log_contact(
            task.pk,
            agent=task.agent,
            outcome="reached",
            reason_code="price",
            offer_code=code,
            expected_version=1,
        )
        task.refresh_from_db()  # the reason re-plans the menu of a declined offer
        chosen[task.customer_id] = code or task.menu.offers[0].code
    # Nothing has matured on the round's first day; 91 days on, the round has.
    assert offer_counts(MONTH).height == 0
    counts = offer_counts(MONTH + timedelta(days=91))
    assert int(counts["presented"].sum()) == len(chosen)
    expected: dict[str, int] = {}
    for code in chosen.values():
        expected[code] = expected.get(code, 0) + 1
    by_code = {
        code: int(n)
        for code, n in counts.group_by("offer_code").agg(pl.col("presented").sum()).iter_rows()
    }
    assert by_code == expected
    assert (counts["came_back"] <= counts["presented"]).all()
