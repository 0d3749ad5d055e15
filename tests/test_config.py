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


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hoped_effect", 0.0, "hoped_effect"),
        ("hoped_effect", 1.5, "hoped_effect"),
        ("design_alpha", 0.5, "design_alpha"),
        ("design_power", 0.3, "design_power"),
        ("default_base_rate", 1.0, "default_base_rate"),
        ("control_floor", -1, "control_floor"),
        ("recently_treated_days", 1000, "recently_treated_days"),
        ("global_holdout_share", 0.6, "global_holdout_share"),
        ("global_holdout_seed", -3, "global_holdout_seed"),
        ("holdout_share", 1.0, "holdout_share"),
    ],
)
def test_measurement_settings_are_range_checked(key: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        preset("retail", {"programme": {key: value}})


def test_measurement_settings_round_trip() -> None:
    p = preset(
        "dental",
        {
            "programme": {
                "control_floor": 50,
                "global_holdout_share": 0.05,
                "global_holdout_seed": 9,
            }
        },
    )
    again = profile_from_dict(p.to_dict())
    assert again.programme.control_floor == 50
    assert again.programme.global_holdout_seed == 9
    assert preset("retail").programme.recently_treated_days == 90
