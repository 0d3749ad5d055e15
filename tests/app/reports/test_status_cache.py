"""A closed round's measurement is cached (the dashboard reads twelve months of rounds on every
visit) and made again as soon as anything it reads changes; a running round is never cached."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.app.reports.test_verdict_wiring import _purchases
from tests.factories.business import TZ

# each test plans a round and measures it several times (about 6 s)
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

AS_OF = date(2024, 9, 30)  # June's round closed long before


def _statuses(rnd: object, as_of: date) -> tuple[dict[str, object], int]:
    from winback.app.rounds.monitoring import round_statuses_cached

    with CaptureQueriesContext(connection) as queries:
        status = round_statuses_cached([rnd], as_of, n_boot=100)[0]  # type: ignore[list-item]
    return status, len(queries)


def test_a_closed_rounds_status_is_cached_until_its_data_changes() -> None:
    from winback.store.customers.models import Order

    made = _purchases(effect=0.0, seed=3)
    rnd = made["round"]
    first, computed = _statuses(rnd, AS_OF)
    again, cached = _statuses(rnd, AS_OF)
    assert again == first
    assert cached <= 2 < computed  # the profile and the version read only
    # a late order of a treated member inside the window: measured again, and it shows
    treated = next(pk for pk, arm in made["members"] if arm == "treated")
    Order.objects.create(
        order_key="late-1",
        customer_id=treated,
        ordered_at=datetime.combine(date(2024, 7, 2), time(12), tzinfo=TZ),
        order_date=date(2024, 7, 2),
        amount_cents=5_000_000,
    )
    changed, recomputed = _statuses(rnd, AS_OF)
    assert recomputed > 8

    def spend(status: dict[str, object]) -> float:
        looks = status["horizons"]
        assert isinstance(looks, list)
        return float(next(h["spend_treated"] for h in looks if h["horizon"] == 90))

    assert spend(changed) > spend(first)
    # another day is another key
    _, other_day = _statuses(rnd, date(2024, 10, 31))
    assert other_day > 8


def test_a_running_round_is_measured_on_every_look() -> None:
    made = _purchases(effect=0.0, seed=3)
    during = date(2024, 6, 20)
    first, computed = _statuses(made["round"], during)
    again, recomputed = _statuses(made["round"], during)
    assert again == first
    assert computed > 8
    assert recomputed > 8
