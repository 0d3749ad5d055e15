"""The round board shows offer redemption and category match (R7), defined and labelled: the
figures ``round status --json`` gives, on a round whose purchases are known by hand."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.business import TZ

pytestmark = pytest.mark.django_db
START = date(2024, 3, 1)


def _round():  # type: ignore[no-untyped-def]
    """Four treated customers (0-2 chose the 10% offer on category A01, 3 chose nothing) and
    two control. 0 buys in A01 with the coupon on day 10; 1 buys in A01 without it on day 40;
    2 buys in another category on day 20; control 4 buys on day 15."""
    from winback.store.accounts.models import User
    from winback.store.customers.models import Category, Customer, Order, OrderLine
    from winback.store.programme.models import CallTask, Round, RoundMember

    rnd = Round.objects.create(
        month=START,
        seed=3,
        holdout_share=0.3,
        as_of=START,
        round_start=START,
        round_end=date(2024, 3, 31),
    )
    agent = User.objects.create(username="hand", role="agent", seniority=3)
    a01 = Category.objects.create(code="A01", name="护肤", name_en="Skin care")
    b02 = Category.objects.create(code="B02", name="彩妆", name_en="Make-up")
    people = [Customer.objects.create(external_id=f"P{i}") for i in range(6)]
    for i, person in enumerate(people):
        RoundMember.objects.create(
            round=rnd,
            customer=person,
            arm="treated" if i < 4 else "control",
            tier=1,
            stage="lost",
            priority_rank=i + 1,
        )
    menu = [
        {
            "offer_code": "favourite_category_10",
            "kind": "percent_off",
            "cost": 12.0,
            "category_code": "A01",
            "menu_rank": 1,
        }
    ]
    for i, person in enumerate(people[:4]):
        CallTask.objects.create(
            round=rnd,
            customer=person,
            agent=agent,
            offer_menu=menu,
            offer_code="favourite_category_10" if i < 3 else "",
        )
    buys = [
        (0, 10, "favourite_category_10", a01),
        (1, 40, "", a01),
        (2, 20, "", b02),
        (4, 15, "", a01),
    ]
    for k, (who, day, coupon, category) in enumerate(buys):
        d = START + timedelta(days=day)
        order = Order.objects.create(
            order_key=f"P-O{k}",
            customer=people[who],
            amount_cents=8000,
            coupon_code=coupon,
            ordered_at=datetime.combine(d, time(12), tzinfo=TZ),
            order_date=d,
        )
        OrderLine.objects.create(order=order, line_no=1, category=category, amount_cents=8000)
    return rnd


def _cells(page: str, horizon: int) -> dict[str, str]:
    row = re.search(rf'<tr data-horizon="{horizon}".*?</tr>', page, re.S)
    assert row is not None
    return dict(re.findall(r'data-figure="(\w+)">([^<]*)<', row.group(0)))


@pytest.mark.slow  # the board bootstraps its intervals
def test_board_shows_redemption_and_category_match_per_look() -> None:
    from winback.app.rounds.monitoring import round_status
    from winback.store.accounts.models import Role, User

    rnd = _round()
    status = {h["horizon"]: h for h in round_status(rnd, date.today(), n_boot=200)["horizons"]}
    assert status[90]["offer_redemption_rate"] == pytest.approx(1 / 3)
    assert status[90]["category_match_rate"] == pytest.approx(2 / 3)
    client = Client(headers={"accept-language": "en"})
    client.force_login(User.objects.create(username="sup", role=Role.SUPERVISOR))
    page = client.get(reverse("round_board", args=[rnd.pk])).content.decode()
    assert _cells(page, 30) == {"offer_redemption_rate": "33.3%", "category_match_rate": "33.3%"}
    assert _cells(page, 90) == {"offer_redemption_rate": "33.3%", "category_match_rate": "66.7%"}
    assert "Offer redeemed" in page
    assert "Category matched" in page
    assert "the share who bought with its coupon" in page  # defined under the table
