"""Playbooks per reason and contact policies per stage (R5, R2)."""

from __future__ import annotations

import pytest

from winback.programme.playbooks import STAGES, Playbooks
from winback.programme.taxonomy import Taxonomy

T = Taxonomy.default()


def test_every_default_reason_has_a_bilingual_playbook_with_an_owner() -> None:
    pb = Playbooks.default()
    pb.check(T)
    assert pb.missing(T) == ()
    departments = {d.code for d in pb.departments}
    for code in T.codes:
        p = pb.for_reason(code)
        assert p.reason == code
        assert 2 <= len(p.talking_points("zh")) <= 4
        assert 2 <= len(p.talking_points("en")) <= 4
        assert p.fix("zh")
        assert p.fix("en")
        assert p.department in departments


def test_department_routing_follows_the_source_texts() -> None:
    pb = Playbooks.default()
    routes = {
        c: pb.for_reason(c).department
        for c in ("price", "attitude", "speed", "quality", "too_many_calls")
    }
    assert routes == {
        "price": "pricing_merchandising",
        "attitude": "store_operations",
        "speed": "operations",
        "quality": "product",
        "too_many_calls": "crm",
    }
    assert pb.for_reason("price").offer_preference == "price"
    assert pb.for_reason("attitude").offer_preference == "perk"
    assert pb.for_reason("attitude").seniority == 3


def test_stage_policies_get_gentler_with_time() -> None:
    pb = Playbooks.default()
    assert tuple(p.stage for p in pb.stage_policies) == STAGES
    assert pb.for_stage("active").incentive == "none"
    assert pb.for_stage("silent").incentive == "small"
    assert pb.for_stage("lost").team == "winback"
    # Contacts allowed per 30 days shrink as the customer drifts away.
    per_30 = [p.max_contacts * 30 / p.window_days for p in pb.stage_policies]
    assert per_30[1:] == sorted(per_30[1:], reverse=True)


def test_unknown_and_missing_reasons_fall_back_to_the_listening_playbook() -> None:
    pb = Playbooks.default()
    assert pb.for_reason(None).reason == "not_found"
    assert pb.for_reason("parking").reason == "not_found"
    t = T.merge(
        {"reasons": [{"code": "parking", "group": "our_fault", "zh": "停车难", "en": "Parking"}]}
    )
    assert pb.missing(t) == ("parking",)
    frame = pb.reason_frame(t)
    assert frame.filter(frame["reason_code"] == "parking")["department"][0] == "customer_service"


def test_merge_json_and_validation() -> None:
    pb = Playbooks.default().merge(
        {
            "playbooks": [{"reason": "price", "department": "marketing", "seniority": 1}],
            "stage_policies": [{"stage": "lost", "max_contacts": 1}],
        }
    )
    assert pb.for_reason("price").department == "marketing"
    assert pb.for_reason("price").talking_points_zh == (
        Playbooks.default().for_reason("price").talking_points_zh
    )
    assert pb.for_stage("lost").max_contacts == 1
    assert Playbooks.from_json(pb.to_json()) == pb
    with pytest.raises(ValueError, match="unknown department"):
        pb.merge({"playbooks": [{"reason": "price", "department": "nowhere"}]})
    with pytest.raises(ValueError, match="talking points"):
        pb.merge({"playbooks": [{"reason": "price", "talking_points_en": ["Only one."]}]})
    with pytest.raises(ValueError, match="channel"):
        pb.merge({"playbooks": [{"reason": "price", "channel": "pigeon"}]})
    with pytest.raises(ValueError, match="no fields"):
        pb.merge({"stage_policies": [{"stage": "lost", "colour": "red"}]})
    with pytest.raises(ValueError, match="taxonomy"):
        pb.merge({"playbooks": [{**pb.to_dict()["playbooks"][0], "reason": "ghost"}]}).check(T)
