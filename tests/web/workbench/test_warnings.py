"""The early-warning list: flagged customers only, their signs in words, staff only."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import AS_OF, build_world, gate_query_count
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import Customer

pytestmark = pytest.mark.django_db

NumQueries = Callable[..., AbstractContextManager[Any]]
SIGNS = [
    {"code": "late_vs_rhythm", "days_late": 42, "usual_interval_days": 12},
    {"code": "spend_down", "pct": 60},
]


def flag(count: int) -> list[str]:
    """``count`` more customers with snapshots, every other one flagged; the flagged ids."""
    flagged = []
    for i in range(count):
        c = Customer.objects.create(external_id=f"C-W{i:03d}", phone=f"1370000{i:04d}")
        warned = i % 2 == 0
        CustomerSnapshot.objects.create(
            customer=c,
            as_of=AS_OF,
            stage="silent",
            customer_type="alert",
            status="at_risk",
            churn_score=50.0 + i / 10,
            tier=1 + i % 5,
            early_warning=warned,
            retention_action="light_touch_incentive",
            top_signals=SIGNS if warned else [],
        )
        if warned:
            flagged.append(c.external_id)
    return flagged


def test_only_flagged_customers_are_listed_with_their_signs_in_the_users_language() -> None:
    world = build_world()
    flagged = flag(6)
    client = Client()
    client.force_login(world.supervisor)
    zh = client.get(reverse("warnings"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for i in range(6):
        assert (f"C-W{i:03d}" in zh) == (f"C-W{i:03d}" in flagged)
    assert "C-MINE" not in zh  # not flagged
    assert "比平常 12 天的购买周期晚了 42 天" in zh
    assert "定期轻度接触，配小额激励" in zh
    en = client.get(reverse("warnings"), {"tier": 1}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "42 days late against a usual 12-day rhythm" in en
    assert "Spend down 60% year on year" in en
    tier_one = [x for x in flagged if int(x[-3:]) % 5 == 0]
    assert all(x in en for x in tier_one)
    assert not any(x in en for x in set(flagged) - set(tier_one))


def test_the_customer_sheet_shows_the_signs() -> None:
    world = build_world()
    CustomerSnapshot.objects.filter(customer=world.mine).update(
        top_signals=SIGNS, retention_action="targeted_offer"
    )
    client = Client()
    client.force_login(world.agent1)
    page = client.get(
        reverse("customer", args=[world.mine.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Spend down 60% year on year" in page
    assert "Few contacts, a targeted offer" in page


def test_agents_are_refused() -> None:
    world = build_world()
    client = Client()
    client.force_login(world.agent1)
    assert client.get(reverse("warnings")).status_code == 403


@pytest.mark.parametrize("extra", [0, 40])
def test_query_count_does_not_grow(extra: int, django_assert_num_queries: NumQueries) -> None:
    world = build_world()
    flag(2 + extra)
    client = Client()
    client.force_login(world.supervisor)
    # session, user, the stores for the filter, latest analysis, count, one page of snapshots
    # joined with their customers; plus the business's time zone (today), the flagged
    # customers and the contact gate's fixed number of queries; plus the page's spend, the
    # saved segments, and for the bulk actions today (time zone), the open rounds, the agents
    with django_assert_num_queries(6 + 2 + 5 + gate_query_count()):
        assert client.get(reverse("warnings")).status_code == 200


def test_customer_list_filters_by_type_octant_and_store() -> None:
    from winback.store.customers.models import Store

    world = build_world()
    north, south = Store.objects.create(code="N1", name="北店"), Store.objects.create(code="S1")
    wanted = Customer.objects.create(external_id="C-WANTED", store=north)
    for external_id, store, kind, octant in (
        ("C-WANTED", north, "evergreen", "important_keep"),
        ("C-OTHER-STORE", south, "evergreen", "important_keep"),
        ("C-OTHER-TYPE", north, "alert", "important_keep"),
        ("C-OTHER-OCTANT", north, "evergreen", "general_retain"),
    ):
        c = (
            wanted
            if external_id == "C-WANTED"
            else Customer.objects.create(external_id=external_id, store=store)
        )
        CustomerSnapshot.objects.create(
            customer=c,
            as_of=AS_OF,
            stage="active",
            customer_type=kind,
            status="active",
            churn_score=10.0,
            tier=1,
            rfm_octant=octant,
        )
    client = Client()
    client.force_login(world.supervisor)
    page = client.get(
        reverse("customers"),
        {"customer_type": "evergreen", "rfm_octant": "important_keep", "store": "N1"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    listed = {
        x for x in ("C-WANTED", "C-OTHER-STORE", "C-OTHER-TYPE", "C-OTHER-OCTANT") if x in page
    }
    assert listed == {"C-WANTED"}
    assert "重要保持客户" in page  # the octant's Chinese name in the filter
    assert "北店" in page
