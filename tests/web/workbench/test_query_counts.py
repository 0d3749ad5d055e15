"""Query counts pinned for the pages test_pages.py does not pin: the dashboard, the customer
list and the export. (The call list and the customer sheet are pinned in test_pages.py.)

Each is measured with a small and a larger world: the count must not depend on the data.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import AS_OF, build_world, task
from winback.store.accounts.models import User
from winback.store.customers.models import Customer
from winback.store.programme.models import Round

pytestmark = pytest.mark.django_db

NumQueries = Callable[..., AbstractContextManager[Any]]


def _more_rounds(count: int) -> None:
    """Extra rounds, each with a task, so per-round work would show as extra queries."""
    agent = User.objects.get(username="agent2")
    for i in range(count):
        rnd = Round.objects.create(
            month=date(2026, 10 - i, 1),
            seed=i,
            holdout_share=0.1,
            as_of=AS_OF,
            round_start=date(2026, 10 - i, 1),
            round_end=date(2026, 10 - i, 28),
        )
        customer = Customer.objects.create(external_id=f"C-R{i}", phone=f"1360000{i:04d}")
        task(rnd, customer, agent, 1, date(2026, 10 - i, 3))


@pytest.mark.parametrize(("extra", "rounds"), [(0, 0), (12, 4)])
def test_dashboard_query_count_does_not_grow(
    extra: int, rounds: int, django_assert_num_queries: NumQueries, monkeypatch: Any
) -> None:
    from winback.app.reports import dashboard

    world = build_world(extra_customers=extra)
    _more_rounds(rounds)
    client = Client()
    client.force_login(world.supervisor)
    # The programme's money is the monthly report's (pinned below, per round).
    monkeypatch.setattr(dashboard, "programme_money", lambda actor, month: _NO_MONEY)
    # session, user, latest analysis, the analyses of the last 13 months (stage trend), rounds,
    # tasks per round and status (one GROUP BY), members per round and arm (one GROUP BY),
    # attempts and reached per round (one GROUP BY); no session write (signed in under a
    # minute ago)
    with django_assert_num_queries(8):
        assert client.get(reverse("dashboard")).status_code == 200


_NO_MONEY: dict[str, Any] = {
    "month": "2026-11",
    "finding": "no_matured_rounds",
    "figures": [],
    "rounds": [],
    "matured_rounds": 0,
    "rounds_total": 0,
    "n_treated": 0,
    "n_control": 0,
}


@pytest.mark.slow
def test_the_programme_money_costs_the_same_queries_per_round() -> None:
    """The money reads each round of the twelve months as the report does (a handful of
    aggregates per round, whatever its size): the cost per round is a constant."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from winback.app.actors import Actor
    from winback.app.reports.money import programme_money

    build_world(extra_customers=3)
    actor = Actor.system()
    counts = []
    # from one extra round on: the first brings the one data-version query of the cache key
    for months in ((10,), (9,), (8, 7)):
        for m in months:
            Round.objects.create(
                month=date(2026, m, 1),
                seed=m,
                holdout_share=0.1,
                as_of=AS_OF,
                round_start=date(2026, m, 1),
                round_end=date(2026, m, 28),
            )
        cache.clear()  # the uncached cost: a closed round's measurement is cached once made
        with CaptureQueriesContext(connection) as ctx:
            programme_money(actor, date(2026, 11, 1))
        counts.append((Round.objects.count(), len(ctx.captured_queries)))
    (r1, q1), (r2, q2), (r4, q4) = counts
    per_round = (q2 - q1) // (r2 - r1)
    assert per_round > 0
    assert q4 - q2 == per_round * (r4 - r2)


@pytest.mark.parametrize("extra", [0, 30])
def test_customer_list_query_count_does_not_grow(
    extra: int, django_assert_num_queries: NumQueries
) -> None:
    world = build_world(extra_customers=extra, orders_per_customer=1)
    client = Client()
    client.force_login(world.supervisor)
    # session, user, the stores for the filter, latest analysis, count, the page's rows with
    # their customers; the page's spend, the saved segments, and for the bulk actions today
    # (time zone), the open rounds and the agents
    with django_assert_num_queries(6 + 5):
        assert client.get(reverse("customers"), {"q": "C-"}).status_code == 200


@pytest.mark.parametrize("extra", [0, 30])
def test_export_query_count_does_not_grow(
    extra: int, django_assert_num_queries: NumQueries
) -> None:
    world = build_world(extra_customers=extra, orders_per_customer=1)
    client = Client()
    client.force_login(world.supervisor)
    # session, user, the stores for the filter, latest analysis, the rows (one query, however
    # many), the rows' spend (one grouped query), today's exports, the audit row
    with django_assert_num_queries(8):
        assert client.post(reverse("customers_export"), {"format": "csv"}).status_code == 200
