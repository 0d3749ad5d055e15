"""Extraction from the store into the analytics frames, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from winback.analytics import frames as contracts
from winback.analytics.frames import AnalyticsFrames

AS_OF = date(2024, 3, 31)
SHANGHAI = "Asia/Shanghai"


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def build_store() -> dict[str, int]:
    """A handful of customers whose as-of fate is known by construction; returns their pks."""
    from winback.store.customers import models as m

    shop = m.Store.objects.create(code="S1", name="总店")
    daily = m.Category.objects.create(
        code="FOOD", necessity=m.Necessity.NECESSARY, replenishment_days=30
    )
    treat = m.Category.objects.create(code="TREAT", necessity=m.Necessity.DISCRETIONARY)
    cake = m.Product.objects.create(sku="P1", category=treat)
    c = m.Customer.objects
    ann = c.create(
        external_id="A-001",
        join_date=date(2023, 1, 1),
        birthday=date(1960, 5, 6),
        store=shop,
        consent_marketing=True,
    )
    stub = c.create(external_id="B-002", is_stub=True, consent_marketing=False)
    late_joiner = c.create(external_id="C-003", join_date=date(2024, 6, 1), do_not_contact=True)
    future = c.create(external_id="D-004", join_date=date(2024, 5, 1))
    prospect = c.create(external_id="E-005")
    later_buyer = c.create(external_id="F-006")

    def order(key: str, who: m.Customer, day: str, cents: int, coupon: str = "") -> m.Order:
        return m.Order.objects.create(
            order_key=key,
            customer=who,
            ordered_at=at(day),
            order_date=date.fromisoformat(day),
            amount_cents=cents,
            coupon_code=coupon,
        )

    o1 = order("O1", ann, "2024-01-10", 10000, "SPRING")
    o2 = order("O2", ann, "2024-04-15", 3000)
    order("O3", ann, "2024-02-01", -500)
    o4 = order("O4", stub, "2023-12-31", 2000)
    order("O5", late_joiner, "2024-02-01", 1500)
    order("O6", later_buyer, "2024-05-01", 900)
    line = m.OrderLine.objects
    line.create(order=o1, line_no=1, category=daily, quantity=Decimal("2"), amount_cents=6000)
    line.create(order=o1, line_no=2, product=cake, quantity=Decimal("1.5"), amount_cents=4000)
    line.create(order=o2, line_no=1, category=daily, quantity=Decimal("1"), amount_cents=3000)
    line.create(order=o4, line_no=1, quantity=Decimal("1"), amount_cents=2000)

    def event(key: str, who: m.Customer, kind: str, day: str, **extra: object) -> None:
        m.EngagementEvent.objects.create(
            source_key=key,
            customer=who,
            event_type=kind,
            occurred_at=at(day),
            occurred_date=date.fromisoformat(day),
            **extra,
        )

    # Resolved at 20:00 UTC on 10 March = 04:00 on 11 March in Shanghai.
    event("E1", ann, "complaint", "2024-03-01", resolved=True, resolved_at=at("2024-03-10", 20))
    event("E2", ann, "complaint", "2024-03-20", resolved=True, resolved_at=at("2024-04-05"))
    event("E3", ann, "referral", "2024-02-10", referred_customer=stub, referred_bought=True)
    event("E4", stub, "survey_response", "2024-03-02", score=9)
    event("E5", ann, "suggestion", "2024-04-02", adopted=True)

    def contact(key: str, who: m.Customer, day: str, outcome: str) -> None:
        m.ContactLog.objects.create(
            source_key=key,
            customer=who,
            channel="phone",
            direction="outbound",
            outcome=outcome,
            occurred_at=at(day),
            occurred_date=date.fromisoformat(day),
        )

    contact("K1", ann, "2024-03-05", "reached")
    contact("K2", ann, "2024-04-09", "not_reached")
    contact("K3", future, "2024-03-01", "not_reached")
    return {
        "ann": ann.pk,
        "stub": stub.pk,
        "late_joiner": late_joiner.pk,
        "future": future.pk,
        "prospect": prospect.pk,
        "later_buyer": later_buyer.pk,
        "o1": o1.pk,
    }


def extract(as_of: date) -> AnalyticsFrames:
    from winback.app.analysis.service import extract as extract_frames

    return extract_frames(as_of, SHANGHAI)


def check_contract(frame: pl.DataFrame, contract: dict[str, pl.DataType]) -> None:
    assert frame.schema == pl.Schema(contract)


@pytest.mark.django_db(transaction=True)
def test_frames_follow_the_contracts_and_the_as_of_date() -> None:
    build_store()
    frames = extract(AS_OF)
    for frame, contract in [
        (frames.customers, contracts.CUSTOMERS),
        (frames.orders, contracts.ORDERS),
        (frames.order_lines, contracts.ORDER_LINES),
        (frames.events, contracts.EVENTS),
        (frames.contacts, contracts.CONTACTS),
    ]:
        check_contract(frame, contract)

    customers = {row["external_id"]: row for row in frames.customers.to_dicts()}
    # D joined after the as-of date and F first bought after it; E has no date at all.
    assert set(customers) == {"A-001", "B-002", "C-003", "E-005"}
    ann = customers["A-001"]
    assert ann["join_date"] == date(2023, 1, 1)
    assert ann["birthday"] == date(1960, 5, 6)
    assert ann["store_code"] == "S1"
    assert (ann["is_stub"], ann["consent_marketing"], ann["do_not_contact"]) == (
        False,
        True,
        False,
    )
    assert customers["B-002"]["is_stub"] is True
    assert customers["B-002"]["store_code"] is None
    # C bought before joining: kept, but a join date in the future was not known yet.
    assert customers["C-003"]["join_date"] is None
    assert customers["C-003"]["do_not_contact"] is True

    orders = frames.orders.sort("order_date")
    assert orders["order_date"].to_list() == [
        date(2023, 12, 31),
        date(2024, 1, 10),
        date(2024, 2, 1),
        date(2024, 2, 1),
    ]
    assert sorted(orders["amount_cents"].to_list()) == [-500, 1500, 2000, 10000]
    assert frames.orders.filter(pl.col("amount_cents") == 10000)["coupon_code"].item() == "SPRING"
    assert frames.orders.filter(pl.col("amount_cents") == -500)["coupon_code"].item() is None


@pytest.mark.django_db(transaction=True)
def test_order_lines_carry_order_date_customer_and_category() -> None:
    pk = build_store()
    lines = extract(AS_OF).order_lines.sort("amount_cents")
    assert lines.height == 3  # the line of the April order is after the as-of date
    assert lines.to_dicts() == [
        {
            "order_pk": lines["order_pk"][0],
            "customer_pk": pk["stub"],
            "order_date": date(2023, 12, 31),
            "category_code": None,
            "necessity": None,
            "replenishment_days": None,
            "quantity": 1.0,
            "amount_cents": 2000,
        },
        {
            "order_pk": pk["o1"],
            "customer_pk": pk["ann"],
            "order_date": date(2024, 1, 10),
            "category_code": "TREAT",  # from the product: the line names no category
            "necessity": "discretionary",
            "replenishment_days": None,
            "quantity": 1.5,
            "amount_cents": 4000,
        },
        {
            "order_pk": pk["o1"],
            "customer_pk": pk["ann"],
            "order_date": date(2024, 1, 10),
            "category_code": "FOOD",
            "necessity": "necessary",
            "replenishment_days": 30,
            "quantity": 2.0,
            "amount_cents": 6000,
        },
    ]


@pytest.mark.django_db(transaction=True)
def test_events_resolution_is_judged_on_the_as_of_date_in_local_time() -> None:
    pk = build_store()
    events = extract(AS_OF).events
    assert sorted(events["event_type"].to_list()) == [
        "complaint",
        "complaint",
        "referral",
        "survey_response",
    ]
    complaints = events.filter(pl.col("event_type") == "complaint").sort("occurred_date")
    assert complaints["resolved"].to_list() == [True, False]  # the second one only in April
    assert complaints["resolved_date"].to_list() == [date(2024, 3, 11), None]
    referral = events.filter(pl.col("event_type") == "referral").row(0, named=True)
    assert referral["referred_customer_pk"] == pk["stub"]
    assert referral["referred_bought"] is True
    assert events.filter(pl.col("event_type") == "survey_response")["score"].item() == 9

    later = extract(date(2024, 4, 30)).events
    assert later.filter(pl.col("event_type") == "complaint")["resolved"].to_list() == [True, True]
    assert "suggestion" in later["event_type"].to_list()


@pytest.mark.django_db(transaction=True)
def test_contacts_up_to_the_as_of_date_of_known_customers() -> None:
    pk = build_store()
    contacts = extract(AS_OF).contacts
    assert contacts.to_dicts() == [
        {
            "customer_pk": pk["ann"],
            "occurred_date": date(2024, 3, 5),
            "channel": "phone",
            "direction": "outbound",
            "outcome": "reached",
        }
    ]


@pytest.mark.django_db(transaction=True)
def test_an_empty_store_gives_empty_frames_with_the_contract_types() -> None:
    frames = extract(AS_OF)
    check_contract(frames.customers, contracts.CUSTOMERS)
    check_contract(frames.order_lines, contracts.ORDER_LINES)
    check_contract(frames.events, contracts.EVENTS)
    assert frames.customers.height == frames.orders.height == 0


def build_rounds(pk: dict[str, int]) -> dict[str, int]:
    """Two rounds around the as-of date: March's (treated, control, a contact attempt after the
    as-of date) and April's (started after it: not known on the as-of date)."""
    from winback.store.programme import models as p

    def round_of(month: date, end: date) -> p.Round:
        return p.Round.objects.create(
            month=month,
            seed=1,
            holdout_share=0.2,
            as_of=month,
            round_start=month,
            round_end=end,
        )

    march = round_of(date(2024, 3, 1), date(2024, 3, 31))
    april = round_of(date(2024, 4, 1), date(2024, 4, 30))

    def member(rnd: p.Round, who: int, arm: str) -> None:
        p.RoundMember.objects.create(
            round=rnd, customer_id=who, arm=arm, stage="lost", priority_rank=1
        )

    member(march, pk["ann"], p.Arm.TREATED)
    member(march, pk["stub"], p.Arm.CONTROL)
    member(march, pk["late_joiner"], p.Arm.TREATED)
    member(march, pk["future"], p.Arm.TREATED)  # not known on the as-of date
    member(april, pk["ann"], p.Arm.TREATED)

    def attempt(who: int, day: str) -> None:
        task = p.CallTask.objects.get_or_create(round=march, customer_id=who)[0]
        p.ContactAttempt.objects.create(
            task=task,
            outcome="not_reached",
            occurred_at=at(day),
            occurred_date=date.fromisoformat(day),
        )

    attempt(pk["ann"], "2024-03-12")
    attempt(pk["late_joiner"], "2024-04-03")  # after the as-of date: not yet contacted
    return {"march": march.pk, "april": april.pk}


@pytest.mark.django_db(transaction=True)
def test_treatments_are_memberships_of_rounds_started_by_the_as_of_date() -> None:
    pk = build_store()
    rounds = build_rounds(pk)
    treatments = extract(AS_OF).treatments
    check_contract(treatments, contracts.TREATMENTS)
    march = {
        "round_pk": rounds["march"],
        "planned_date": date(2024, 3, 1),
        "round_start": date(2024, 3, 1),
        "round_end": date(2024, 3, 31),
    }
    assert treatments.sort("customer_pk").to_dicts() == sorted(
        [
            {"customer_pk": pk["ann"], **march, "arm": "treated", "contacted": True},
            {"customer_pk": pk["stub"], **march, "arm": "control", "contacted": False},
            {"customer_pk": pk["late_joiner"], **march, "arm": "treated", "contacted": False},
        ],
        key=lambda row: int(str(row["customer_pk"])),
    )

    later = extract(date(2024, 4, 30)).treatments
    assert later.filter(pl.col("round_pk") == rounds["april"])["customer_pk"].to_list() == [
        pk["ann"]
    ]
    contacted = later.filter(pl.col("customer_pk") == pk["late_joiner"])["contacted"]
    assert contacted.to_list() == [True]


@pytest.mark.django_db(transaction=True)
def test_a_store_without_rounds_gives_an_empty_treatments_frame() -> None:
    build_store()
    treatments = extract(AS_OF).treatments
    check_contract(treatments, contracts.TREATMENTS)
    assert treatments.height == 0
