"""The pure re-plan rules: which reason counts, which channels may reach a customer, and that
a promise already made stays on the menu."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from winback.programme.menus import MenuOffer, OfferMenu
from winback.programme.offers import OfferCatalogue
from winback.programme.playbooks import Playbooks
from winback.programme.replan import (
    finding,
    keep_promised,
    reason_in_force,
    replan,
    reserve,
)
from winback.programme.rounds import RoundConfig
from winback.programme.taxonomy import Taxonomy

START, END = date(2024, 6, 1), date(2024, 6, 30)


def test_only_a_finding_counts() -> None:
    assert finding("") is None
    assert finding("not_found") is None
    assert finding("attitude") == "attitude"
    # the latest finding wins; not_found falls back to what was known, never erases it
    assert reason_in_force("price", "attitude", "") == "price"
    assert reason_in_force("not_found", "attitude", "price") == "attitude"
    assert reason_in_force("not_found", "", "price") == "price"
    assert reason_in_force("not_found", "", "") == "not_found"
    assert reason_in_force("", "", "") == ""


def _snapshot(n: int, stage: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_pk": list(range(1, n + 1)),
            "stage": [stage] * n,
            "status": ["lost"] * n,
            "tier": [2] * n,
            "clv_365": [600.0] * n,
            "expected_interval_days": [30.0] * n,
            "days_since_last": [120] * n,
        }
    )


def _replan(  # type: ignore[no-untyped-def]
    tasks: dict[str, list],  # type: ignore[type-arg]
    stage: str = "silent",
    stage_channels: list[str] | None = None,
    **playbook: object,
):
    playbooks = Playbooks.default()
    if playbook:
        playbooks = playbooks.merge({"playbooks": [{"reason": "attitude", **playbook}]})
    if stage_channels:
        playbooks = playbooks.merge(
            {"stage_policies": [{"stage": stage, "channels": stage_channels}]}
        )
    frame = pl.DataFrame(tasks)
    return replan(
        _snapshot(frame.height, stage),
        frame.with_columns(customer_pk=pl.int_range(1, frame.height + 1)),
        pl.DataFrame(schema={"customer_pk": pl.Int64(), "category_code": pl.String()}),
        RoundConfig(round_start=START, round_end=END),
        playbooks,
        Taxonomy.default(),
        OfferCatalogue.default(),
        as_of=START,
    )


def test_a_channel_the_customer_cannot_be_reached_on_is_never_chosen() -> None:
    result = _replan(
        {
            "reason_code": ["attitude"] * 4,
            "current_channel": ["sms", "sms", "sms", "sms"],
            "has_phone": [True, True, False, False],
            "has_email": [True, False, False, True],
        },
        channel="email",
    ).channels.sort("customer_pk")
    assert result["wanted_channel"].to_list() == ["email"] * 4
    # 1: e-mail reaches them; 2: no address, SMS kept; 3: nothing reaches them, SMS stays;
    # 4: the address is there
    assert result["channel"].to_list() == ["email", "sms", "sms", "email"]
    assert result["channel_block"].to_list() == [None, "no_email", "no_email", None]


def test_the_stage_policy_gives_the_next_allowed_channel() -> None:
    tasks = {
        "reason_code": ["attitude", "attitude"],
        "current_channel": ["sms", "sms"],
        "has_phone": [False, False],
        "has_email": [True, False],
    }
    # attitude wants the phone; without a number neither the phone nor SMS reach them, the
    # stage's next channel (e-mail) does when they have an address; otherwise SMS stays
    result = _replan(tasks, stage_channels=["sms", "email"]).channels.sort("customer_pk")
    assert result["channel_block"].to_list() == ["no_phone", "no_phone"]
    assert result["channel"].to_list() == ["email", "sms"]


def test_the_reason_changes_the_menu_through_the_planners_rules() -> None:
    tasks = {"reason_code": ["attitude", "price"], "current_channel": ["sms", "sms"]}
    menus = _replan(tasks).menus.menu
    by = {pk: m["offer_code"].to_list() for (pk,), m in menus.group_by("customer_pk")}
    assert "priority_service" in by[1]  # a perk that fits attitude
    assert "price_relief_12" in by[2]  # only offered for price reasons


def test_a_promised_offer_stays_on_the_menu() -> None:
    old = OfferMenu((MenuOffer("welcome_back_20", 1, "voucher", 20.0, "", "2024-06-03"),))
    new = OfferMenu((MenuOffer("priority_service", 1, "priority_service", 5.0),))
    kept = keep_promised(new, old, "welcome_back_20")
    assert kept.codes == ("priority_service", "welcome_back_20")
    assert kept.find("welcome_back_20").cost == 20.0  # type: ignore[union-attr]
    assert keep_promised(new, old, "") == new
    assert keep_promised(new, old, "priority_service") == new
    assert reserve(kept) == pytest.approx(20.0)
    assert reserve(OfferMenu()) == 0.0
