"""Playbooks per leave reason and contact policies per lifecycle stage (R5, R6, R2).

A playbook answers, for one reason: what to say at the second contact (2-4 talking points in
Chinese and English), through which channel, how senior the caller must be, which kind of offer
fits (price offers for price reasons, non-price perks for service reasons) and what the business
should fix first, owned by which department. The stage policy answers how hard to push a
customer in a given lifecycle stage (seed 004: active - care, little selling; silent - light
touches, small incentives; sleeping - few contacts, targeted offers; lost - minimal contact, big
campaigns only, a dedicated win-back team) and caps the contacts per window.

All of it is data: :meth:`Playbooks.default` loads the shipped defaults, :meth:`Playbooks.merge`
applies a business's JSON-shaped overrides, and validation checks codes against the taxonomy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import polars as pl

from winback import vocabulary
from winback.programme.defaults.playbooks import DEPARTMENTS, PLAYBOOKS, STAGE_POLICIES
from winback.programme.reasons import FALLBACK_CODE
from winback.programme.rule_errors import Problem, RuleError, problem, raise_if
from winback.programme.taxonomy import Taxonomy

CHANNELS = vocabulary.CHANNELS
STAGES = vocabulary.BUYER_STAGES
OFFER_PREFERENCES = ("price", "perk")
INCENTIVES = ("none", "small", "targeted", "campaign")


@dataclass(frozen=True)
class Department:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Playbook:
    reason: str
    department: str
    action: str  # code of the first fix, e.g. "service_training"
    fix_zh: str
    fix_en: str
    talking_points_zh: tuple[str, ...]
    talking_points_en: tuple[str, ...]
    channel: str = "phone"
    seniority: int = 1
    offer_preference: str | None = None  # "price" | "perk" | None

    def talking_points(self, lang: str) -> tuple[str, ...]:
        return self.talking_points_zh if lang.startswith("zh") else self.talking_points_en

    def fix(self, lang: str) -> str:
        return self.fix_zh if lang.startswith("zh") else self.fix_en


@dataclass(frozen=True)
class StagePolicy:
    stage: str
    approach: str
    zh: str
    en: str
    max_contacts: int  # outbound contacts allowed in any window of window_days
    window_days: int
    channels: tuple[str, ...]  # preferred first
    incentive: str  # none | small | targeted | campaign
    team: str  # care | winback: who works customers in this stage

    @property
    def channel(self) -> str:
        return self.channels[0]


@dataclass(frozen=True)
class Playbooks:
    departments: tuple[Department, ...]
    playbooks: tuple[Playbook, ...]
    stage_policies: tuple[StagePolicy, ...]

    def __post_init__(self) -> None:
        raise_if("playbooks", _validate(self))

    def for_reason(self, code: str | None) -> Playbook:
        """The reason's playbook; the fallback (reason not found yet) for unknown codes."""
        by_reason = {p.reason: p for p in self.playbooks}
        found = by_reason.get(code or FALLBACK_CODE)
        return found if found is not None else by_reason[FALLBACK_CODE]

    def for_stage(self, stage: str) -> StagePolicy:
        for p in self.stage_policies:
            if p.stage == stage:
                return p
        raise KeyError(f"no contact policy for stage {stage!r}")

    def department(self, code: str) -> Department:
        for d in self.departments:
            if d.code == code:
                return d
        raise KeyError(f"unknown department {code!r}")

    def department_label(self, code: str, lang: str) -> str:
        d = self.department(code)
        return d.zh if lang.startswith("zh") else d.en

    def action_text(self, action: str, lang: str) -> str:
        for p in self.playbooks:
            if p.action == action:
                return p.fix(lang)
        return action

    def check(self, taxonomy: Taxonomy) -> None:
        """Raise if a playbook names a reason the taxonomy does not know."""
        unknown = sorted({p.reason for p in self.playbooks} - set(taxonomy.codes))
        if unknown:
            raise RuleError("playbooks", [problem("playbook_reasons", reasons=unknown)])

    def missing(self, taxonomy: Taxonomy) -> tuple[str, ...]:
        """Reasons without their own playbook (they use the fallback one)."""
        have = {p.reason for p in self.playbooks}
        return tuple(c for c in taxonomy.codes if c not in have)

    # --- frames for the vectorised rules ------------------------------------------------------
    def reason_frame(self, taxonomy: Taxonomy) -> pl.DataFrame:
        """One row per taxonomy reason: channel, seniority, preference, department, action,
        sensitive. Reasons without a playbook get the fallback's values."""
        rows = [
            (code, self.for_reason(code), code in taxonomy.sensitive_codes)
            for code in taxonomy.codes
        ]
        return pl.DataFrame(
            {
                "reason_code": [c for c, _, _ in rows],
                "channel": [p.channel for _, p, _ in rows],
                "seniority": [p.seniority for _, p, _ in rows],
                "offer_preference": [p.offer_preference for _, p, _ in rows],
                "department": [p.department for _, p, _ in rows],
                "action": [p.action for _, p, _ in rows],
                "sensitive": [s for _, _, s in rows],
            },
            schema={
                "reason_code": pl.String(),
                "channel": pl.String(),
                "seniority": pl.Int64(),
                "offer_preference": pl.String(),
                "department": pl.String(),
                "action": pl.String(),
                "sensitive": pl.Boolean(),
            },
        )

    def stage_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "stage": [p.stage for p in self.stage_policies],
                "stage_channel": [p.channel for p in self.stage_policies],
                "stage_max_contacts": [p.max_contacts for p in self.stage_policies],
                "stage_window_days": [p.window_days for p in self.stage_policies],
            },
            schema={
                "stage": pl.String(),
                "stage_channel": pl.String(),
                "stage_max_contacts": pl.Int64(),
                "stage_window_days": pl.Int64(),
            },
        )

    # --- configuration ------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Playbooks:
        return cls.from_dict(
            {"departments": DEPARTMENTS, "playbooks": PLAYBOOKS, "stage_policies": STAGE_POLICIES}
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "departments": [asdict(d) for d in self.departments],
            "playbooks": [_jsonable(asdict(p)) for p in self.playbooks],
            "stage_policies": [_jsonable(asdict(s)) for s in self.stage_policies],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Playbooks:
        return _merged({}, {}, {}, data)

    @classmethod
    def from_json(cls, text: str) -> Playbooks:
        return cls.from_dict(json.loads(text))

    def merge(self, overrides: Mapping[str, Any]) -> Playbooks:
        """Add or change departments, playbooks (by ``reason``) and stage policies (by
        ``stage``); given fields replace the current ones."""
        return _merged(
            {d.code: _jsonable(asdict(d)) for d in self.departments},
            {p.reason: _jsonable(asdict(p)) for p in self.playbooks},
            {s.stage: _jsonable(asdict(s)) for s in self.stage_policies},
            overrides,
        )


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _merged(
    departments: dict[str, dict[str, Any]],
    playbooks: dict[str, dict[str, Any]],
    stages: dict[str, dict[str, Any]],
    overrides: Mapping[str, Any],
) -> Playbooks:
    unknown = set(overrides) - {"departments", "playbooks", "stage_policies"}
    if unknown:
        raise RuleError("playbooks", [problem("playbook_keys", keys=sorted(unknown))])
    for target, key, kind in (
        (departments, "code", "departments"),
        (playbooks, "reason", "playbooks"),
        (stages, "stage", "stage_policies"),
    ):
        for entry in overrides.get(kind, ()):
            if not isinstance(entry, Mapping) or key not in entry:
                needs = problem("entry_needs_key", what=kind, key=key, entry=entry)
                raise RuleError("playbooks", [needs])
            target[str(entry[key])] = {**target.get(str(entry[key]), {}), **entry}
    return Playbooks(
        departments=tuple(_build(Department, d) for d in departments.values()),
        playbooks=tuple(_build(Playbook, p) for p in playbooks.values()),
        stage_policies=tuple(_build(StagePolicy, s) for s in stages.values()),
    )


def _build(cls: type[Any], data: Mapping[str, Any]) -> Any:
    names = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        no_fields = problem("unknown_fields", what=cls.__name__, fields=sorted(unknown))
        raise RuleError("playbooks", [no_fields])
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        bad = problem("bad_entry", what=cls.__name__, entry=dict(data), error=str(exc))
        raise RuleError("playbooks", [bad]) from exc


def _validate(pb: Playbooks) -> list[Problem]:
    errors: list[Problem] = []
    dept_codes = {d.code for d in pb.departments}
    reasons = [p.reason for p in pb.playbooks]
    if len(set(reasons)) != len(reasons):
        errors.append(problem("duplicate_playbooks"))
    if FALLBACK_CODE not in reasons:
        errors.append(problem("fallback_playbook", reason=FALLBACK_CODE))
    for p in pb.playbooks:
        if p.department not in dept_codes:
            errors.append(problem("playbook_department", reason=p.reason, department=p.department))
        if p.channel not in CHANNELS:
            errors.append(problem("playbook_channel", reason=p.reason, channels=CHANNELS))
        if p.seniority not in (1, 2, 3):
            errors.append(problem("playbook_seniority", reason=p.reason))
        if p.offer_preference is not None and p.offer_preference not in OFFER_PREFERENCES:
            errors.append(problem("playbook_offer_preference", reason=p.reason))
        for lang, points in (("zh", p.talking_points_zh), ("en", p.talking_points_en)):
            if not 2 <= len(points) <= 4 or any(not s.strip() for s in points):
                errors.append(problem("playbook_talking_points", reason=p.reason, lang=lang))
        if not p.action or not p.fix_zh or not p.fix_en:
            errors.append(problem("playbook_fix", reason=p.reason))
    stages = [s.stage for s in pb.stage_policies]
    if sorted(stages) != sorted(STAGES):
        errors.append(problem("stage_policies", stages=STAGES))
    for s in pb.stage_policies:
        if s.max_contacts < 0 or s.window_days < 1:
            errors.append(problem("policy_limits", stage=s.stage))
        if not s.channels or any(c not in CHANNELS for c in s.channels):
            errors.append(problem("policy_channels", stage=s.stage, channels=CHANNELS))
        if s.incentive not in INCENTIVES:
            errors.append(problem("policy_incentive", stage=s.stage, incentives=INCENTIVES))
    return errors
