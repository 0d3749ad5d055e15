"""The stored offer menu: what the planner writes is what every reader reads."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from winback.programme.frames import OFFER_MENU
from winback.programme.menus import MenuOffer, OfferMenu, menu_json


def _offers() -> pl.DataFrame:
    """Two customers; customer 1's rows are out of rank order and its best offer sorts last
    by code, so neither the row order nor the codes give the menu order."""
    rows = [
        (1, 2, "a_gift", "gift", False, True, 5.004, 0.1, 0.5, None, date(2024, 6, 4)),
        (1, 1, "z_voucher", "voucher", True, False, 20.0, 0.2, 0.9, "A01", date(2024, 6, 3)),
        (1, 3, "m_advice", "expert_advice", False, True, 15.0, 0.1, 0.4, None, None),
        (2, 1, "b_delivery", "free_delivery", True, False, 8.0, 0.1, 0.7, None, None),
    ]
    return pl.DataFrame(rows, schema=OFFER_MENU, orient="row")


def test_the_written_menu_reads_back_in_rank_order_with_every_field() -> None:
    written = dict(menu_json(_offers()).iter_rows())
    assert set(written) == {1, 2}
    menu = OfferMenu.from_json(json.loads(written[1]))
    assert menu.codes == ("z_voucher", "a_gift", "m_advice")
    assert [o.rank for o in menu.offers] == [1, 2, 3]
    best = menu.offers[0]
    assert (best.kind, best.cost, best.category, best.contact_date) == (
        "voucher",
        20.0,
        "A01",
        "2024-06-03",
    )
    assert menu.offers[1].cost == 5.0  # rounded to cents once, when written
    assert menu.find("m_advice") == MenuOffer("m_advice", 3, "expert_advice", 15.0, "", "")
    assert menu.find("nope") is None
    # The object writes exactly the layout the column-wise writer produces.
    assert menu.to_json() == json.loads(written[1])


def test_menus_stored_without_a_rank_keep_their_order() -> None:
    stored = [
        {"offer_code": "z_voucher", "kind": "voucher", "cost": 20.0},
        {"offer_code": "a_gift", "kind": "gift", "cost": None},
    ]
    menu = OfferMenu.from_json(stored)
    assert [(o.code, o.rank) for o in menu.offers] == [("z_voucher", 1), ("a_gift", 2)]
    assert menu.first is not None
    assert menu.first.code == "z_voucher"


def test_malformed_values_read_as_what_can_be_used() -> None:
    assert OfferMenu.from_json(None) == OfferMenu()
    assert OfferMenu.from_json({"offer_code": "x"}) == OfferMenu()
    assert OfferMenu().first is None
    menu = OfferMenu.from_json(
        ["junk", {"kind": "no code"}, {"offer_code": "v", "cost": float("nan"), "menu_rank": True}]
    )
    assert menu.offers == (MenuOffer("v", 3, "", None, "", ""),)


codes = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)
offers = st.builds(
    MenuOffer,
    code=codes,
    rank=st.integers(min_value=1, max_value=20),
    kind=st.sampled_from(["", "voucher", "gift"]),
    cost=st.none() | st.floats(min_value=0, max_value=1e6).map(lambda x: round(x, 2)),
    category=st.sampled_from(["", "A01"]),
    contact_date=st.sampled_from(["", "2024-02-29"]),
)


@given(st.lists(offers, max_size=6, unique_by=lambda o: o.rank))
def test_json_round_trip(items: list[MenuOffer]) -> None:
    menu = OfferMenu(tuple(sorted(items, key=lambda o: o.rank)))
    again = OfferMenu.from_json(json.loads(json.dumps(menu.to_json())))
    assert again == menu
