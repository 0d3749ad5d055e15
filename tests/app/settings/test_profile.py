"""The stored business profile and the `winback profile` commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from winback.config import PRESETS


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.django_db
def test_retail_until_set_then_what_was_stored() -> None:
    from winback.app.settings.profile import current_profile, set_profile

    assert current_profile() == PRESETS["retail"]
    set_profile("dental", {"lifecycle": {"lost_from": 500}, "name": "牙科诊所"})
    profile = current_profile()
    assert profile.industry == "dental"
    assert profile.lifecycle.lost_from == 500
    assert profile.lifecycle.silent_from == PRESETS["dental"].lifecycle.silent_from
    assert profile.expected_return_days == PRESETS["dental"].expected_return_days
    assert profile.name == "牙科诊所"


@pytest.mark.django_db
def test_overrides_without_industry_keep_the_profile_in_force() -> None:
    from winback.app.settings.profile import current_profile, set_profile

    set_profile("restaurant")
    set_profile(None, {"gross_margin": 0.6})
    profile = current_profile()
    assert profile.industry == "restaurant"
    assert profile.gross_margin == pytest.approx(0.6)
    assert profile.lifecycle == PRESETS["restaurant"].lifecycle


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"gross_margin": "high"},
        {"lifecycle": {"lost_from": 10}},  # below the sleeping threshold
        {"tiers": 9},
        {"no_such_setting": 1},
        {"tiers": 2.5},
    ],
)
def test_invalid_settings_are_refused_and_nothing_changes(overrides: dict[str, object]) -> None:
    from winback.app.settings.profile import current_profile, set_profile

    set_profile("aesthetics")
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        set_profile(None, overrides)
    assert current_profile() == PRESETS["aesthetics"]


def test_assignments_nest_on_dots_and_read_json_values() -> None:
    from winback.app.settings.profile import parse_assignments

    assert parse_assignments(
        ["lifecycle.lost_from=200", "lifecycle.silent_from=40", "name=Shop 1", "tiers=4"]
    ) == {"lifecycle": {"lost_from": 200, "silent_from": 40}, "name": "Shop 1", "tiers": 4}
    with pytest.raises(ValueError, match="key=value"):
        parse_assignments(["lifecycle.lost_from"])


@pytest.mark.django_db(transaction=True)
def test_cli_set_and_show(runner: CliRunner) -> None:
    from winback.cli import app

    result = runner.invoke(
        app, ["profile", "set", "--industry", "b2b", "--set", "lifecycle.lost_from=300"]
    )
    assert result.exit_code == 0, result.output
    shown = runner.invoke(app, ["profile", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["industry"] == "b2b"
    assert data["lifecycle"]["lost_from"] == 300
    assert data["gross_margin"] == PRESETS["b2b"].gross_margin

    refused = runner.invoke(app, ["profile", "set", "--set", "tiers=many"])
    assert refused.exit_code == 2
    assert json.loads(runner.invoke(app, ["profile", "show", "--json"]).stdout)["tiers"] == 5
