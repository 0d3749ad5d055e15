"""The configurable reason taxonomy (R4)."""

from __future__ import annotations

import pytest

from winback.programme.reasons import DEFAULT_REASONS, GROUPS, REASON_CODES, group_label, label
from winback.programme.taxonomy import Taxonomy


def test_default_keeps_every_shipped_code_and_group() -> None:
    t = Taxonomy.default()
    assert t.codes == REASON_CODES
    assert t.group_codes == tuple(GROUPS)
    assert {r.code for r in t.reasons_in("outside")} == {
        "moved_away",
        "competitor",
        "budget_cut",
        "contact_changed",
        "off_season",
        "restructured",
    }
    assert t.sensitive_codes == {r.code for r in DEFAULT_REASONS if r.sensitive}
    assert t.label("price", "zh-hans") == label("price", "zh") == "价格偏高"
    assert t.group_label("need_gone", "en") == group_label("need_gone", "en") == "Need gone"


def test_merge_adds_relabels_and_hides() -> None:
    t = Taxonomy.default().merge(
        {
            "groups": [{"code": "service", "zh": "服务流程", "en": "Service process"}],
            "reasons": [
                {
                    "code": "parking",
                    "group": "service",
                    "zh": "停车难",
                    "en": "Parking",
                    "keywords_zh": ["停车"],
                    "keywords_en": ["parking"],
                },
                {"code": "price", "en": "Prices too high"},
            ],
            "hidden": ["restructured"],
        }
    )
    assert t.codes[-1] == "parking"
    assert t.group_of("parking") == "service"
    assert t.label("price", "en") == "Prices too high"
    assert t.label("price", "zh") == "价格偏高"  # untouched fields stay
    assert t.keywords_zh["parking"] == ("停车",)
    assert "restructured" not in {r.code for r in t.visible()}
    assert "restructured" in t.codes  # still valid for history
    assert Taxonomy.default().merge({}) == Taxonomy.default()


def test_json_round_trip() -> None:
    t = Taxonomy.default().merge({"hidden": ["values"]})
    assert Taxonomy.from_json(t.to_json()) == t


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"reasons": [{"code": "x", "group": "nowhere", "zh": "x", "en": "x"}]}, "unknown group"),
        ({"reasons": [{"code": "x", "group": "outside"}]}, "lacks"),
        (
            {"reasons": [{"code": "Bad Code", "group": "outside", "zh": "x", "en": "x"}]},
            "lower-case",
        ),
        ({"hidden": ["not_found"]}, "cannot be hidden"),
        ({"hidden": ["ghost"]}, "unknown reasons"),
        ({"reasons": [{"code": "price", "keywords_zh": ["贵", ""]}]}, "empty keyword"),
        ({"colours": []}, "unknown taxonomy keys"),
    ],
)
def test_invalid_configurations_are_rejected(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Taxonomy.default().merge(overrides)


def test_a_taxonomy_must_keep_the_fallback_reason() -> None:
    data = Taxonomy.default().to_dict()
    data["reasons"] = [r for r in data["reasons"] if r["code"] != "not_found"]
    with pytest.raises(ValueError, match="fallback"):
        Taxonomy.from_dict(data)
