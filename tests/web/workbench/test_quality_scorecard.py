"""The quality review's scorecard (weighted criteria, configurable) and its sample stratified
across agents."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import TZ, World, build_world
from winback.app.contacts import quality as svc
from winback.programme.scorecard import Criterion, Scorecard, ScorecardError, stratified_sample
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.programme.models import (
    CallTask,
    ContactAttempt,
    ContactReview,
    ProgrammeSettings,
)

DAY = date(2026, 11, 20)


# --- the pure core -----------------------------------------------------------------------------
def _attempts(per_agent: dict[int, int]) -> pl.DataFrame:
    agents = [a for a, n in per_agent.items() for _ in range(n)]
    return pl.DataFrame({"id": list(range(1, len(agents) + 1)), "agent": agents})


def _counts(frame: pl.DataFrame, ids: list[int]) -> dict[int, int]:
    picked = frame.filter(pl.col("id").is_in(ids)).group_by("agent").len()
    return dict(picked.iter_rows())


@pytest.mark.parametrize("seed", range(20))
def test_ten_samples_over_five_agents_are_two_each(seed: int) -> None:
    frame = _attempts({1: 40, 2: 3, 3: 5, 4: 2, 5: 12})
    ids = stratified_sample(frame, 10, seed)
    assert len(ids) == 10 == len(set(ids))
    assert _counts(frame, ids) == {1: 2, 2: 2, 3: 2, 4: 2, 5: 2}


def test_an_agent_short_of_attempts_leaves_the_places_to_the_others() -> None:
    frame = _attempts({1: 40, 2: 1, 3: 5, 4: 5, 5: 5})
    counts = _counts(frame, stratified_sample(frame, 10, 3))
    assert counts[2] == 1
    assert sum(counts.values()) == 10
    assert max(counts.values()) - min(v for a, v in counts.items() if a != 2) <= 1
    assert stratified_sample(frame, 10, 3) == stratified_sample(frame, 10, 3)
    assert stratified_sample(frame.head(0), 10, 3) == []


def test_the_rating_is_the_weighted_mean_of_the_scores_rounded() -> None:
    card = Scorecard(
        (
            Criterion("greeting", "问候", "Greeting", 1.0),
            Criterion("compliance", "合规", "Compliance", 3.0),
        )
    )
    assert card.overall({"greeting": 5, "compliance": 1}) == pytest.approx(2.0)
    assert card.rating({"greeting": 5, "compliance": 1}) == 2
    assert card.rating({"greeting": 1, "compliance": 4}) == 3  # 3.25
    assert card.rating({"greeting": 3, "compliance": 4}) == 4  # 3.75
    with pytest.raises(ScorecardError):
        card.rating({"greeting": 5})
    with pytest.raises(ScorecardError):
        card.rating({"greeting": 5, "compliance": 6})
    record = card.record({"greeting": 5, "compliance": 1})
    assert record["criteria"][1] == {"code": "compliance", "weight": 3.0, "score": 1}
    assert Scorecard.from_json(card.to_json()) == card
    assert Scorecard.from_json({}) == Scorecard.default()
    with pytest.raises(ScorecardError):
        Scorecard((Criterion("a", "甲", "A", 1.0), Criterion("a", "乙", "B", 1.0))).check()
    with pytest.raises(ScorecardError):
        Scorecard((Criterion("a", "甲", "A", 0.0),)).check()


# --- through the database ----------------------------------------------------------------------
def _five_agents_world() -> World:
    """Five agents: agent1 made 12 attempts, the other four 3 each (agent1 alone made as many
    as the four others together: a sample drawn from the attempts would be mostly hers)."""
    from winback.app.rounds.service import log_contact

    w = build_world(extra_customers=22)
    others = [User.objects.create(username=f"agent{i}", role=Role.AGENT) for i in range(3, 6)]
    tasks = list(CallTask.objects.order_by("pk"))
    owners = [world_agent for world_agent in (w.agent2, *others) for _ in range(3)]
    for task, agent in zip(tasks[:12], owners, strict=False):
        task.agent = agent
        task.save(update_fields=["agent"])
    for t in tasks[12:]:
        t.agent = w.agent1
        t.save(update_fields=["agent"])
    for i, task in enumerate(CallTask.objects.order_by("pk")[:24]):
        log_contact(
            task.pk,
            agent=task.agent,
            outcome="reached",
            reason_code="price",
            expected_version=task.version,
            occurred_at=datetime(2026, 11, 3, 10, tzinfo=TZ) + timedelta(days=i % 12, minutes=i),
        )
    return w


@pytest.mark.django_db
def test_the_daily_sample_represents_every_agent_equally() -> None:
    w = _five_agents_world()
    ids = svc.sample_ids(DAY, w.supervisor, size=10)
    agents = list(ContactAttempt.objects.filter(pk__in=ids).values_list("agent_id", flat=True))
    counts = {a: agents.count(a) for a in set(agents)}
    assert len(counts) == 5
    assert set(counts.values()) == {2}
    assert svc.sample_ids(DAY, w.supervisor, size=10) == ids  # the same all day


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_review_scores_each_criterion_and_the_rating_is_their_weighted_mean() -> None:
    from winback.app.rounds.service import log_contact

    w = build_world()
    task = w.task_mine
    log_contact(
        task.pk,
        agent=task.agent,
        outcome="reached",
        reason_code="price",
        expected_version=task.version,
    )
    attempt = ContactAttempt.objects.get()
    card = svc.scorecard()
    assert card == Scorecard.default()
    scores = {c.code: 5 for c in card.criteria} | {"compliance": 1}
    client = _signed_in(w.supervisor)
    form = {f"score_{k}": str(v) for k, v in scores.items()}
    response = client.post(reverse("quality_review", args=[attempt.pk]), form)
    assert response.status_code == 302
    review = ContactReview.objects.get()
    assert review.rating == card.rating(scores) == 4  # (1+2+2+1)*5 + 3*1 = 33 / 9 = 3.67
    assert review.scores["overall"] == pytest.approx(33 / 9)
    assert {c["code"]: c["score"] for c in review.scores["criteria"]} == scores
    # one criterion left out: refused
    del form["score_close"]
    response = client.post(
        reverse("quality_review", args=[attempt.pk]), form, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    # the per-criterion averages show per agent
    page = client.get(reverse("quality"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Compliance (consent, do not contact)" in page
    by_agent = {r["agent"]: r for r in svc.ratings_by_agent("en")}
    criteria = dict(by_agent["agent1"]["criteria"])
    assert criteria["Compliance (consent, do not contact)"] == 1.0


@pytest.mark.django_db
def test_admins_change_the_scorecard_supervisors_may_not() -> None:
    w = build_world()
    form = {
        "criteria-TOTAL_FORMS": "3",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "12",
        "criteria-0-code": "greeting",
        "criteria-0-label_zh": "问候",
        "criteria-0-label_en": "Greeting",
        "criteria-0-weight": "1",
        "criteria-1-code": "empathy",
        "criteria-1-label_zh": "共情",
        "criteria-1-label_en": "Empathy",
        "criteria-1-weight": "2.5",
        "criteria-2-code": "",
    }
    url = reverse("quality_scorecard")
    assert _signed_in(w.supervisor).post(url, form).status_code == 403
    admin = _signed_in(w.admin)
    assert admin.post(url, form).status_code == 302
    card = svc.scorecard()
    assert [(c.code, c.weight) for c in card.criteria] == [("greeting", 1.0), ("empathy", 2.5)]
    assert ProgrammeSettings.objects.get().quality_scorecard == card.to_json()
    assert AuditLog.objects.filter(object_type="programme_quality_scorecard").count() == 1
    # the same code twice is refused, in the user's language
    twice = form | {"criteria-1-code": "greeting"}
    response = admin.post(url, twice, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert "used twice" in response.content.decode()
    # a code without a weight
    response = admin.post(url, form | {"criteria-1-weight": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    assert svc.scorecard() == card
