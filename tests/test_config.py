import pytest

from winback.config import INDUSTRIES, LifecycleThresholds, preset, profile_from_dict


@pytest.mark.parametrize("industry", INDUSTRIES)
def test_presets_round_trip(industry: str) -> None:
    profile = preset(industry)
    assert profile_from_dict(profile.to_dict()) == profile


def test_aesthetics_lifecycle_matches_the_clinic_rule() -> None:
    lc = preset("aesthetics").lifecycle
    assert (lc.silent_from, lc.sleeping_from, lc.lost_from) == (45, 90, 180)


def test_overrides_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        preset("retail", {"no_such_knob": 1})
    with pytest.raises(ValueError, match="between 1 and 5"):
        preset("retail", {"tiers": 7})
    with pytest.raises(ValueError, match="must increase"):
        LifecycleThresholds(90, 45, 180)


def test_nested_override() -> None:
    p = preset("retail", {"programme": {"contacts_per_round": 2}})
    assert p.programme.contacts_per_round == 2
