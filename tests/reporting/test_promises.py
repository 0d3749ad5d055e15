"""Offer redemption and category match (R7) in the monthly report: the rounds' own figures
(``round_status`` per look), carried to the looks, to each round at its pre-registered horizon,
and into a sentence that defines them."""

from __future__ import annotations

from typing import Any

from winback.reporting import metrics
from winback.reporting.json_report import to_json
from winback.reporting.text import sentences

from . import rounds_world
from .test_report_text import inputs


def _status(
    round_id: int, month: str, looks: dict[int, tuple[float | None, float | None]]
) -> dict[str, Any]:
    """A generated round whose looks at these horizons carry these (redemption, match) rates;
    the 90-day look is its pre-registered one."""
    status = rounds_world.status(round_id, month, seed=round_id)
    base = status["horizons"][0]
    status["horizons"] = [
        {**base, "horizon": h, "offer_redemption_rate": r, "category_match_rate": m}
        for h, (r, m) in sorted(looks.items())
    ]
    return status


def test_rates_reach_the_looks_and_each_round_at_its_primary_horizon() -> None:
    first = _status(1, "2024-03", {30: (0.1, 0.2), 60: (0.3, 0.4), 90: (0.5, 0.75)})
    second = _status(2, "2024-04", {30: (0.25, None), 90: (0.8, None)})
    report = metrics.build_report(inputs([first, second]))
    doc = to_json(report)
    looks = {(r["round_id"], r["horizon"]): r for r in doc["looks"]}
    assert looks[(1, 60)]["offer_redemption_rate"] == 0.3
    assert looks[(1, 60)]["category_match_rate"] == 0.4
    assert looks[(2, 30)]["category_match_rate"] is None
    rounds = {r["round_id"]: r for r in doc["rounds"]}
    assert (rounds[1]["offer_redemption_rate"], rounds[1]["category_match_rate"]) == (0.5, 0.75)
    assert (rounds[2]["offer_redemption_rate"], rounds[2]["category_match_rate"]) == (0.8, None)

    words = " ".join(sentences(report, "en")["rounds"])
    assert "offer redeemed" in words
    assert "category matched" in words
    assert "65.0%" in words  # (0.5 + 0.8) / 2 at the rounds' pre-registered horizons
    assert "75.0%" in words  # the one round with a category promise
    zh = " ".join(sentences(report, "zh")["rounds"])
    assert "优惠核销率" in zh
    assert "品类匹配率" in zh
    assert "65.0%" in zh


def test_without_a_chosen_offer_the_sentence_says_so() -> None:
    report = metrics.build_report(inputs([_status(1, "2024-03", {90: (None, None)})]))
    assert to_json(report)["rounds"][0]["offer_redemption_rate"] is None
    words = " ".join(sentences(report, "en")["rounds"])
    assert "No offer has been chosen on a call yet" in words
