"""Supervisor quality review: the daily sample, ratings, averages per agent, the monthly report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import TZ, World, build_world
from winback.app.contacts import quality as svc
from winback.app.rounds.service import log_contact
from winback.programme.taxonomy import Taxonomy
from winback.reporting import metrics
from winback.store.accounts.models import User
from winback.store.programme.models import CallTask, ContactAttempt, ContactReview

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 20)


@pytest.fixture
def world() -> World:
    w = build_world(extra_customers=14)
    outcomes = ("reached", "not_reached", "refused", "call_back")
    for i, task in enumerate(CallTask.objects.order_by("pk")):
        when = datetime(2026, 11, 3, 10, tzinfo=TZ) + timedelta(days=i % 12, minutes=i)
        log_contact(
            task.pk,
            agent=task.agent,
            outcome=outcomes[i % 4],
            reason_code="price" if i % 3 == 0 or outcomes[i % 4] == "reached" else "",
            notes=f"note {i}",
            expected_version=task.version,
            occurred_at=when,
        )
    return w


def scored(score: str) -> dict[str, str]:
    """The review form with every criterion of the scorecard given ``score``."""
    return {f"score_{c.code}": score for c in svc.scorecard().criteria}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_agents_get_403(world: World) -> None:
    client = signed_in(world.agent1)
    attempt = ContactAttempt.objects.first()
    assert attempt is not None
    assert client.get(reverse("quality")).status_code == 403
    assert client.post(reverse("quality_review", args=[attempt.pk]), scored("5")).status_code == 403
    assert not ContactReview.objects.exists()


def test_the_sample_is_reproducible_per_day_and_supervisor(world: World) -> None:
    attempts = ContactAttempt.objects.count()
    assert attempts == 16
    first = svc.sample_ids(DAY, world.supervisor)
    assert len(first) == svc.SAMPLE_SIZE
    assert svc.sample_ids(DAY, world.supervisor) == first
    other_days = {
        tuple(svc.sample_ids(DAY + timedelta(days=d), world.supervisor)) for d in range(5)
    }
    assert len(other_days) > 1
    assert svc.sample_ids(DAY, world.admin) != first
    # Attempts after the review day are not drawn.
    assert svc.sample_ids(date(2026, 11, 1), world.supervisor) == []


def test_the_page_shows_agent_outcome_reason_offer_and_notes(world: World) -> None:
    client = signed_in(world.supervisor)
    response = client.get(reverse("quality"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    items = response.context["items"]
    assert len(items) == svc.SAMPLE_SIZE
    page = response.content.decode()
    for item in items:
        assert f'id="attempt-{item.attempt.pk}"' in page
        assert item.attempt.notes in page
        assert item.agent in ("agent1", "agent2")
    price = Taxonomy.default().label("price", "en")
    with_reason = [i for i in items if i.attempt.reason_code == "price"]
    assert with_reason
    assert all(i.reason == price for i in with_reason)
    assert price in page
    assert {i.outcome for i in items} <= {"Reached", "Not reached", "Refused", "Call back later"}


def test_ratings_persist_update_and_average_per_agent(world: World) -> None:
    sup = signed_in(world.supervisor)
    a1 = list(ContactAttempt.objects.filter(agent=world.agent1).order_by("pk")[:2])
    a2 = ContactAttempt.objects.filter(agent=world.agent2).first()
    assert a2 is not None
    url = lambda a: reverse("quality_review", args=[a.pk])  # noqa: E731
    assert sup.post(url(a1[0]), {**scored("2"), "comments": "too quick"}).status_code == 302
    assert sup.post(url(a1[1]), scored("5")).status_code == 302
    assert sup.post(url(a2), {**scored("4"), "comments": "good"}).status_code == 302
    # Changing one's mind updates the same review.
    assert sup.post(url(a1[0]), {**scored("3"), "comments": "fine"}).status_code == 302
    assert ContactReview.objects.count() == 3
    review = ContactReview.objects.get(attempt=a1[0])
    assert (review.rating, review.comments, review.reviewer) == (3, "fine", world.supervisor)
    # A second reviewer's rating counts too.
    signed_in(world.admin).post(url(a2), scored("2"))
    averages = {r["agent"]: (r["reviews"], r["average"]) for r in svc.ratings_by_agent()}
    assert averages == {"agent1": (2, 4.0), "agent2": (2, 3.0)}
    page = sup.get(reverse("quality")).content.decode()
    assert (
        'data-agent="agent1"><td>agent1</td><td class="num">2</td><td class="num avg">4.00<' in page
    )


def test_invalid_ratings_are_refused(world: World) -> None:
    sup = signed_in(world.supervisor)
    attempt = ContactAttempt.objects.first()
    assert attempt is not None
    for bad in ("0", "6", "", "x"):
        response = sup.post(
            reverse("quality_review", args=[attempt.pk]), scored(bad), HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 422
    assert not ContactReview.objects.exists()
    assert sup.post(reverse("quality_review", args=[999_999]), scored("3")).status_code == 404


def test_htmx_save_returns_the_item_and_the_new_averages(world: World) -> None:
    sup = signed_in(world.supervisor)
    attempt = ContactAttempt.objects.filter(agent=world.agent2).first()
    assert attempt is not None
    response = sup.post(
        reverse("quality_review", args=[attempt.pk]), scored("4"), HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith(f'<li class="review-item" id="attempt-{attempt.pk}"')
    assert 'id="by-agent-card" hx-swap-oob="true"' in page
    assert "4.00" in page


# --- the monthly report's agent section -----------------------------------------------------------
def test_agent_effort_carries_the_average_rating() -> None:
    frame = pl.DataFrame(
        {
            "agent": ["a", "a", "b"],
            "outcome": ["reached", "not_reached", "reached"],
            "simulated": [False, False, False],
            "attempts": [3, 1, 2],
            "tasks": [3, 1, 2],
            "tasks_returned": [1, 0, 0],
        }
    )
    ratings = pl.DataFrame({"agent": ["a", "a", "a"], "rating": [5, 4, 3]}, schema=metrics.RATINGS)
    effort = metrics.agent_effort(frame, ratings)
    table = {r["agent"]: r for r in effort["table"].to_dicts()}
    assert table["a"]["avg_rating"] == 4.0
    assert table["a"]["reviews"] == 3
    assert table["b"]["avg_rating"] is None
    assert table["b"]["reviews"] == 0
    assert effort["avg_rating"] == 4.0
    assert effort["reviews"] == 3
    unrated = metrics.agent_effort(frame)
    assert unrated["reviews"] == 0
    assert unrated["avg_rating"] is None


def test_the_report_reads_the_ratings_of_the_months_contacts(world: World) -> None:
    from winback.app.reports.service import _ratings
    from winback.reporting import text

    sup = signed_in(world.supervisor)
    attempts = list(ContactAttempt.objects.filter(agent=world.agent1).order_by("pk")[:3])
    for attempt, rating in zip(attempts, ("5", "4", "2"), strict=True):
        sup.post(reverse("quality_review", args=[attempt.pk]), scored(rating))
    ratings = _ratings(metrics.month_window(date(2026, 11, 1)))
    assert sorted(ratings["rating"].to_list()) == [2, 4, 5]
    assert set(ratings["agent"].to_list()) == {"agent1"}
    assert _ratings(metrics.month_window(date(2026, 10, 1))).height == 0
    frame = pl.DataFrame(
        {
            "agent": ["agent1"],
            "outcome": ["reached"],
            "simulated": [False],
            "attempts": [3],
            "tasks": [3],
            "tasks_returned": [0],
        }
    )
    report = {"agents": metrics.agent_effort(frame, ratings)}
    en = text._agents(report, False, None)
    assert any("average rating 3.67 out of 5" in line for line in en)
    zh = text._agents(report, True, None)
    assert any("平均评分 3.67" in line for line in zh)


@pytest.mark.parametrize("reviews", [1, 8])
def test_quality_page_query_count_does_not_grow(
    reviews: int, world: World, django_assert_max_num_queries: Any
) -> None:
    sup = signed_in(world.supervisor)
    for attempt in ContactAttempt.objects.order_by("pk")[:reviews]:
        sup.post(reverse("quality_review", args=[attempt.pk]), scored("3"))
    # session, user, latest day, sample ids, scorecard, own reviews, rule overrides, attempts,
    # averages, criterion averages, latest ratings
    with django_assert_max_num_queries(11):
        assert sup.get(reverse("quality")).status_code == 200
