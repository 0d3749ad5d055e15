"""The customer and early-warning lists that act: sort, spend and value columns, prospects
left out by default, saved segments, bulk add to a round through the contact gate, audited
exports, and the early-warning wording from the actual days since the last purchase."""

from __future__ import annotations

import csv
import io
from datetime import date

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import AS_OF, World, build_world, customer, snapshot
from winback.app.customers import bulk, lists, segments
from winback.store.accounts.models import AuditLog
from winback.store.analysis.models import CustomerSnapshot
from winback.store.customers.models import Customer, SavedSegment
from winback.store.programme.models import CallTask, Round, RoundMember

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 10)  # inside the world's round of 2026-11


def scored(external_id: str, *, clv: float, churn: float, stage: str = "sleeping") -> Customer:
    c = customer(external_id, f"1350000{abs(hash(external_id)) % 10000:04d}")
    CustomerSnapshot.objects.create(
        customer=c,
        as_of=AS_OF,
        stage=stage,
        customer_type="alert",
        status="at_risk",
        churn_score=churn * 100,
        churn_probability=churn,
        clv_365=clv,
        tier=2,
    )
    return c


def shown_ids(html: str) -> list[str]:
    import re

    return re.findall(r'<a href="/customers/\d+/">([^<]+)</a>', html)


@pytest.fixture
def world() -> World:
    return build_world()


def staff(world: World) -> Client:
    client = Client()
    client.force_login(world.supervisor)
    return client


# --- sort, columns, prospects -------------------------------------------------------------------


def test_the_list_opens_on_value_at_risk_without_prospects(world: World) -> None:
    scored("C-HIGH", clv=2000.0, churn=0.5)  # 1,000 at risk
    scored("C-LOW", clv=100.0, churn=0.9)  # 90 at risk
    scored("C-MID", clv=1000.0, churn=0.4)  # 400 at risk
    prospect = customer("C-PROSPECT", "13500009999")
    snapshot(prospect, "prospect", "active", None, 0.0)
    page = staff(world).get(reverse("customers"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    order = shown_ids(page)
    assert order[:3] == ["C-HIGH", "C-MID", "C-LOW"]  # unscored value (the world's) after
    assert "C-PROSPECT" not in order
    assert "¥1,000" in page
    assert "¥2,000" in page
    assert "50.0%" in page  # churn probability
    asked = staff(world).get(reverse("customers"), {"prospects": "on"}).content.decode()
    assert "C-PROSPECT" in shown_ids(asked)
    only = staff(world).get(reverse("customers"), {"stage": "prospect"}).content.decode()
    assert shown_ids(only) == ["C-PROSPECT"]


def test_columns_sort_both_ways_and_the_header_flips(world: World) -> None:
    scored("C-A", clv=10.0, churn=0.2)
    scored("C-B", clv=30.0, churn=0.1)
    scored("C-C", clv=20.0, churn=0.3)
    client = staff(world)
    down = shown_ids(client.get(reverse("customers"), {"sort": "-clv"}).content.decode())
    up = shown_ids(client.get(reverse("customers"), {"sort": "clv"}).content.decode())
    assert down[:3] == ["C-B", "C-C", "C-A"]
    assert [c for c in up if c.startswith("C-") and c in ("C-A", "C-B", "C-C")] == [
        "C-A",
        "C-C",
        "C-B",
    ]
    page = client.get(reverse("customers"), {"sort": "-clv", "stage": "sleeping"}).content.decode()
    assert 'aria-sort="descending"><a href="?stage=sleeping&amp;sort=clv"' in page
    by_id = shown_ids(client.get(reverse("customers"), {"sort": "id"}).content.decode())
    assert by_id == sorted(by_id)


def test_spend_columns_total_and_last_12_months(world: World) -> None:
    # C-MINE: orders of 120, 456 and 78 yuan on 2025-01-10, 2025-02-14 and 2025-03-21; the
    # analysis is of 2026-10-31, so none is in the last 12 months.
    spend = lists.spend_by_customer([world.mine.pk], AS_OF)
    assert spend[world.mine.pk] == {"total": 654.0, "recent": 0.0}
    spend = lists.spend_by_customer([world.mine.pk], date(2026, 2, 1))
    assert spend[world.mine.pk] == {"total": 654.0, "recent": 456.0 + 78.0}
    order = shown_ids(staff(world).get(reverse("customers"), {"sort": "-spend"}).content.decode())
    assert order.index("C-MINE") < order.index("C-THEIRS") or order[:2] == ["C-MINE", "C-THEIRS"]
    assert "¥654" in staff(world).get(reverse("customers")).content.decode()


# --- saved segments ------------------------------------------------------------------------------


def test_a_segment_is_saved_listed_and_reapplied(world: World) -> None:
    client = staff(world)
    answer = client.post(
        reverse("segment_save", args=["customers"]),
        {"name": "Lost ones", "stage": "lost", "sort": "-spend"},
    )
    assert answer.status_code == 302
    segment = SavedSegment.objects.get()
    assert segment.owner == world.supervisor
    assert segment.query == {"stage": "lost", "sort": "-spend"}
    page = client.get(reverse("customers")).content.decode()
    query = segments.segments_for(world.supervisor, "customers")[0]["query"]
    assert query == "sort=-spend&stage=lost"
    assert 'href="?sort=-spend&amp;stage=lost"' in page
    assert "Lost ones" in page
    applied = client.get(f"{reverse('customers')}?{query}").content.decode()
    assert shown_ids(applied) == ["C-THEIRS"]  # the only lost customer
    # not shared: another supervisor does not see it, nor may delete it
    from tests.factories.workbench import user

    other = user("supervisor2", "supervisor")
    assert segments.segments_for(other, "customers") == []
    with pytest.raises(PermissionDenied):
        segments.delete_segment(other, segment.pk)
    segment.shared = True
    segment.save()
    assert [s["segment"].name for s in segments.segments_for(other, "customers")] == ["Lost ones"]
    client.post(reverse("segment_delete", args=[segment.pk]))
    assert not SavedSegment.objects.exists()


def test_agents_cannot_save_segments_or_act_on_lists(world: World) -> None:
    client = Client()
    client.force_login(world.agent1)
    assert (
        client.post(reverse("segment_save", args=["customers"]), {"name": "x"}).status_code == 403
    )
    answer = client.post(
        reverse("list_bulk", args=["customers"]), {"action": "export", "scope": "all"}
    )
    assert answer.status_code == 403
    with pytest.raises(PermissionDenied):
        bulk.add_to_round(world.agent1, [world.mine.pk], round_id=world.round.pk, today=TODAY)


# --- add to a round through the gate -------------------------------------------------------------


def _control_elsewhere(c: Customer) -> None:
    """``c`` in the control group of last month's round, still measured."""
    past = Round.objects.create(
        month=date(2026, 10, 1),
        seed=5,
        holdout_share=0.1,
        as_of=date(2026, 9, 30),
        round_start=date(2026, 10, 1),
        round_end=date(2026, 10, 31),
    )
    RoundMember.objects.create(
        round=past, customer=c, arm="control", stage="sleeping", priority_rank=1
    )


def test_the_gate_refuses_control_and_the_rest_are_randomised(world: World) -> None:
    controlled = scored("C-CONTROL", clv=500.0, churn=0.5)
    _control_elsewhere(controlled)
    refused = scored("C-DNC", clv=500.0, churn=0.5)
    Customer.objects.filter(pk=refused.pk).update(do_not_contact=True)
    no_phone = scored("C-NOPHONE", clv=500.0, churn=0.5)
    Customer.objects.filter(pk=no_phone.pk).update(phone="")
    fresh = [scored(f"C-NEW{i:02d}", clv=100.0 + i, churn=0.3).pk for i in range(40)]
    asked = [controlled.pk, refused.pk, no_phone.pk, world.mine.pk, *fresh]

    result = bulk.add_to_round(world.supervisor, asked, round_id=world.round.pk, today=TODAY)

    assert result.refused == {
        "already_in_round": 1,
        "control_group": 1,
        "do_not_contact": 1,
        "no_phone": 1,
    }
    assert result.treated + result.control == 40
    assert 0 < result.control < 15  # the round's 10% share, drawn per customer
    added = RoundMember.objects.filter(round=world.round, selected_by="manual")
    assert added.count() == 40
    assert not added.filter(customer_id__in=[controlled.pk, refused.pk, no_phone.pk]).exists()
    treated = set(added.filter(arm="treated").values_list("customer_id", flat=True))
    tasks = CallTask.objects.filter(round=world.round, customer_id__in=fresh)
    assert set(tasks.values_list("customer_id", flat=True)) == treated  # control: no call
    assert not CallTask.objects.filter(round=world.round, customer=controlled).exists()
    assert set(tasks.values_list("agent_id", flat=True)) == {world.agent1.pk, world.agent2.pk}
    assert set(tasks.values_list("next_due", flat=True)) == {TODAY}
    audit = AuditLog.objects.get(action="add_to_round")
    assert audit.detail["refused"]["control_group"] == 1
    assert audit.detail["treated"] == result.treated
    # the same draw again: nobody added twice
    again = bulk.add_to_round(world.supervisor, asked, round_id=world.round.pk, today=TODAY)
    assert again.treated == again.control == 0


def test_a_closed_or_finished_round_takes_no_one(world: World) -> None:
    with pytest.raises(bulk.RoundNotOpen):
        bulk.add_to_round(
            world.supervisor, [world.mine.pk], round_id=world.round.pk, today=date(2026, 12, 1)
        )
    Round.objects.filter(pk=world.round.pk).update(status="closed")
    with pytest.raises(bulk.RoundNotOpen):
        bulk.add_to_round(world.supervisor, [world.mine.pk], round_id=world.round.pk, today=TODAY)


def test_flagged_active_customers_become_retention_calls_from_the_warning_list(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from winback.app.contacts import gate

    monkeypatch.setattr(gate, "today", lambda: TODAY)
    active = scored("C-ACTIVE", clv=800.0, churn=0.2, stage="active")
    CustomerSnapshot.objects.filter(customer=active).update(early_warning=True, status="active")
    client = staff(world)
    page = client.get(reverse("warnings")).content.decode()
    assert 'id="bulk-add"' in page
    answer = client.post(
        reverse("list_bulk", args=["warnings"]),
        {"action": "add_to_round", "scope": "all", "round": world.round.pk},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 302
    member = RoundMember.objects.get(round=world.round, customer=active)
    assert member.stage == "active"
    assert member.selected_by == "manual"
    notice = client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Added:" in notice


# --- export --------------------------------------------------------------------------------------


def test_the_warning_list_export_is_audited_and_holds_the_ticked_customers(world: World) -> None:
    a = scored("C-W1", clv=100.0, churn=0.5)
    b = scored("C-W2", clv=200.0, churn=0.5)
    CustomerSnapshot.objects.filter(customer__in=[a, b]).update(early_warning=True)
    answer = staff(world).post(
        reverse("list_bulk", args=["warnings"]),
        {"action": "export", "scope": "selected", "c": [a.pk], "format": "csv"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Customer id", "Name", "Phone"]
    assert "Total spend (yuan)" in rows[0]
    assert [r[0] for r in rows[1:]] == ["C-W1"]
    audit = AuditLog.objects.get(action="export_customers")
    assert audit.detail["list"] == "warnings"
    assert audit.detail["rows"] == 1
    assert audit.detail["filters"]["selected"] == 1


# --- defect 12: the early-warning wording ---------------------------------------------------------


def test_the_warning_page_never_says_still_buying_for_a_long_lapsed_customer(world: World) -> None:
    c = scored("C-LAPSED", clv=300.0, churn=0.6, stage="silent")
    CustomerSnapshot.objects.filter(customer=c).update(
        early_warning=True, days_since_last=226, expected_interval_days=60.0
    )
    client = staff(world)
    zh = client.get(reverse("warnings"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    en = client.get(reverse("warnings"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "仍在消费" not in zh
    assert "still buying" not in en
    assert "Last purchase 226 days ago: 166 days past the usual 60-day rhythm" in en
    assert "226" in zh


def test_last_purchase_words_follow_the_days_and_the_stage() -> None:
    from django.utils import translation

    with translation.override("en"):
        assert lists.last_purchase_words(None, None, "active") == "No purchase recorded"
        assert "within the usual 30-day rhythm" in lists.last_purchase_words(20, 30.0, "active")
        assert lists.last_purchase_words(200, None, "sleeping").endswith("no purchase since")
        assert lists.last_purchase_words(1, None, "active") == "Last purchase 1 day ago"


def test_added_customers_get_the_offer_menu_a_planned_task_gets(world: World) -> None:
    from winback.app.contacts import replan
    from winback.app.settings.rules import current_rules
    from winback.programme.menus import OfferMenu, menu_json

    fresh = [scored(f"C-MENU{i:02d}", clv=300.0 + i, churn=0.4).pk for i in range(12)]
    bulk.add_to_round(world.supervisor, fresh, round_id=world.round.pk, today=TODAY)
    tasks = list(CallTask.objects.filter(round=world.round, customer_id__in=fresh))
    assert tasks  # the control share leaves most of them treated
    catalogue = {o.code for o in current_rules().catalogue.offers}
    for t in tasks:
        assert t.menu.codes, t.customer_id  # was an empty menu
        assert set(t.menu.codes) <= catalogue
    # The planner's own rules for the same customer give the same menu.
    first = tasks[0]
    asked = pl.DataFrame(
        {
            "customer_pk": [first.customer_id],
            "reason_code": [None],
            "current_channel": ["phone"],
            "expected_value": [0.0],
            "has_phone": [True],
            "has_email": [False],
        },
        schema=replan.PLAN_SCHEMA,
    )
    planned = replan.plan_for(world.round, asked, budget_left=None)
    assert planned is not None
    import json

    expected = OfferMenu.from_json(json.loads(menu_json(planned.menus.menu)["offer_menu"][0]))
    assert first.menu.codes == expected.codes
