"""Where the business profile lives: one settings row, the "retail" preset until it is set."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import is_dataclass, replace
from typing import Any

from django.db import transaction

from winback.config import BusinessProfile, preset, profile_from_dict

DEFAULT_INDUSTRY = "retail"
SETTINGS_PK = 1


def current_profile() -> BusinessProfile:
    """The stored business profile, or the default preset when none has been set."""
    from winback.store.analysis.models import BusinessSettings

    row = BusinessSettings.objects.filter(pk=SETTINGS_PK).first()
    if row is None or not row.profile:
        return preset(DEFAULT_INDUSTRY)
    return profile_from_dict(row.profile)


def save_profile(profile: BusinessProfile) -> BusinessProfile:
    from winback.store.analysis.models import BusinessSettings

    with transaction.atomic():
        BusinessSettings.objects.update_or_create(
            pk=SETTINGS_PK, defaults={"profile": profile.to_dict()}
        )
    return profile


def set_profile(
    industry: str | None = None, overrides: Mapping[str, Any] | None = None
) -> BusinessProfile:
    """Store a profile: the industry's preset (or the current profile) with ``overrides``.

    Choosing an industry starts again from its preset; without one the overrides apply to the
    profile in force. Invalid values raise ``ValueError`` and nothing is stored.
    """
    base = preset(industry) if industry else current_profile()
    try:
        profile = base.with_overrides(coerce(base, overrides or {}))
    except TypeError as exc:  # a dataclass check comparing a misfit value
        raise ValueError(str(exc)) from exc
    return save_profile(with_holdout_seed(profile))


def with_holdout_seed(profile: BusinessProfile) -> BusinessProfile:
    """The profile with its global holdout's seed fixed the first time the holdout is on: the
    seed then stays, so the same customers stay held out (changing it is a deliberate act)."""
    rules = profile.programme
    if rules.global_holdout_share <= 0 or rules.global_holdout_seed is not None:
        return profile
    seeded = replace(rules, global_holdout_seed=secrets.randbelow(2**31))
    return replace(profile, programme=seeded)


def parse_assignments(assignments: Iterable[str]) -> dict[str, Any]:
    """``["lifecycle.lost_from=200", "name=Shop"]`` -> nested overrides.

    Values are read as JSON when they parse (numbers, true/false, lists), else kept as text.
    """
    overrides: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{item!r}: use key=value (nested keys: lifecycle.lost_from=200)")
        parts = [p.strip() for p in key.split(".")]
        target = overrides
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"{item!r}: {part!r} is set to a value and to sub-keys")
        target[parts[-1]] = parse_value(raw.strip())
    return overrides


def coerce(obj: Any, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Give each override the type of the setting it replaces (``30`` -> ``30.0``).

    A value that cannot take that type (text for a number) raises ``ValueError``; unknown keys
    pass through and are refused by the profile itself.
    """
    result: dict[str, Any] = {}
    for key, value in overrides.items():
        current = getattr(obj, key, None)
        if is_dataclass(current) and isinstance(value, Mapping):
            result[key] = coerce(current, value)
        elif current is None:
            result[key] = value
        else:
            result[key] = coerce_leaf(key, current, value)
    return result


def coerce_leaf(key: str, current: Any, value: Any) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value
    if isinstance(current, int | float):
        if not is_number or (isinstance(current, int) and not float(value).is_integer()):
            kind = "a whole number" if isinstance(current, int) else "a number"
            raise ValueError(f"{key}: expected {kind}, got {value!r}")
        return type(current)(value)
    if isinstance(current, str):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return value


def parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
