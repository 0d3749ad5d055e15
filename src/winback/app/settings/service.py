"""The settings pages' services: read and change what is stored as editable data (R2-R6, R13).

* The business profile (industry preset, lifecycle thresholds, value weights, tiers, programme
  rules and the other knobs) is changed through
  :func:`winback.app.settings.profile.set_profile`, the
  same function ``winback profile set`` uses; the profile's own checks refuse invalid values.
* The reason taxonomy, playbooks and offer catalogue are the shipped defaults merged with the
  overrides stored in :class:`~winback.store.programme.models.ProgrammeSettings`; a change is
  merged and checked (codes against the taxonomy) before it is stored.
* Indicator weights are learned by every analysis (shown, and set by hand when wanted).
* The callback questionnaires are stored whole, each checked by the core against the taxonomy
  in force; stored ones that can no longer be used give way to the shipped ones.
* The core's rule checks answer with coded problems; :mod:`winback.app.settings.rule_messages`
  words them in the user's language.
* Users are created (role, seniority, daily capacity) and deactivated, never deleted.

Every change writes an :class:`~winback.store.accounts.models.AuditLog` row with before/after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from winback.app.analysis.selectors import latest_analysis
from winback.app.settings.profile import current_profile, save_profile, set_profile
from winback.app.settings.rule_messages import RulesRejected
from winback.app.settings.rules import (
    QuestionnairesInForce,
    RuleData,
    current_rules,
    questionnaires_in_force,
)
from winback.config import INDUSTRIES, BusinessProfile, preset
from winback.programme.offers import OfferCatalogue
from winback.programme.playbooks import Playbooks
from winback.programme.questionnaires import Questionnaire
from winback.programme.rule_errors import RuleError, problem
from winback.programme.taxonomy import Taxonomy
from winback.store.accounts.models import AuditLog, Role, User
from winback.store.customers.models import ContactChannel
from winback.store.programme.models import ProgrammeSettings

RULE_SECTIONS = ("taxonomy", "playbooks", "offers")

# Labels of the profile's settings, by dotted path; groups in display order.
PROFILE_GROUPS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    (
        "general",
        _("Business"),
        (
            "name",
            "currency",
            "time_zone",
            "gross_margin",
            "annual_discount_rate",
            "cost_to_serve_per_year",
            "unknown_customer_policy",
            "import_earliest_date",
            "import_years_ahead",
        ),
    ),
    (
        "lifecycle",
        _("Lifecycle thresholds"),
        (
            "lifecycle.silent_from",
            "lifecycle.sleeping_from",
            "lifecycle.lost_from",
            "lifecycle_rule",
            "expected_return_days",
            "prior_strength",
            "lateness_at_risk",
            "lateness_lost",
            "churn_horizon_days",
            "rfm_reference",
        ),
    ),
    (
        "early_warning",
        _("Early warning"),
        ("early_warning_share", "early_warning_capacity"),
    ),
    ("tiers", _("Value tiers"), ("tiers",)),
    (
        "value_weights",
        _("Value weights (currency units per act)"),
        (
            "value_weights.referral_converted",
            "value_weights.forum_post",
            "value_weights.forum_reply",
            "value_weights.qa_answer",
            "value_weights.event_attendance",
            "value_weights.survey_response",
            "value_weights.suggestion",
            "value_weights.suggestion_adopted",
            "value_weights.necessary_spend_weight",
            "value_weights.discretionary_spend_weight",
            "value_weights.credit_half_life_days",
        ),
    ),
    (
        "programme",
        _("Programme rules"),
        (
            "programme.contacts_per_round",
            "programme.contact_window_days",
            "programme.max_contacts_in_window",
            "programme.retire_after_rounds",
            "programme.holdout_share",
            "programme.random_share",
            "programme.agent_minute_cost",
            "programme.call_minutes",
            "programme.offer_budget_per_treated",
            "programme.offer_exploration_floor",
        ),
    ),
    (
        "measurement",
        _("Measurement"),
        (
            "programme.hoped_effect",
            "programme.design_alpha",
            "programme.design_power",
            "programme.default_base_rate",
            "programme.control_floor",
            "programme.recently_treated_days",
            "programme.global_holdout_share",
            "programme.global_holdout_seed",
        ),
    ),
)

PROFILE_LABELS: dict[str, Any] = {
    "name": _("Business name"),
    "currency": _("Currency"),
    "time_zone": _("Time zone"),
    "gross_margin": _("Gross margin (share)"),
    "annual_discount_rate": _("Annual discount rate"),
    "cost_to_serve_per_year": _("Cost to serve a customer per year"),
    "unknown_customer_policy": _("Orders of unknown customers"),
    "import_earliest_date": _("Earliest date an import accepts (YYYY-MM-DD)"),
    "import_years_ahead": _("Latest date an import accepts (years after today)"),
    "lifecycle.silent_from": _("Silent from (days since last purchase)"),
    "lifecycle.sleeping_from": _("Sleeping from (days)"),
    "lifecycle.lost_from": _("Lost from (days)"),
    "lifecycle_rule": _("Lifecycle rule"),
    "expected_return_days": _("Expected days between purchases"),
    "prior_strength": _("Weight of the business-wide rhythm (pseudo-intervals)"),
    "lateness_at_risk": _("At risk when this many times later than usual"),
    "lateness_lost": _("Lost when this many times later than usual"),
    "churn_horizon_days": _("Churn score horizon (days; empty: the lost threshold)"),
    "rfm_reference": _("RFM reference"),
    "early_warning_share": _("Share of buyers not lost to flag early (e.g. 0.10 = riskiest 10%)"),
    "early_warning_capacity": _("Customers to flag early (empty: use the share)"),
    "tiers": _("Number of value tiers (1-5)"),
    "value_weights.referral_converted": _("Converted referral (x the referred customer's revenue)"),
    "value_weights.forum_post": _("Forum post"),
    "value_weights.forum_reply": _("Forum reply"),
    "value_weights.qa_answer": _("Q&A answer"),
    "value_weights.event_attendance": _("Event attendance"),
    "value_weights.survey_response": _("Survey response"),
    "value_weights.suggestion": _("Suggestion"),
    "value_weights.suggestion_adopted": _("Adopted suggestion"),
    "value_weights.necessary_spend_weight": _("Weight of spend on necessary categories (x)"),
    "value_weights.discretionary_spend_weight": _(
        "Weight of spend on discretionary categories (x)"
    ),
    "value_weights.credit_half_life_days": _(
        "Referral and activity credit halves after this many idle days"
    ),
    "programme.contacts_per_round": _("Contacts per customer and round"),
    "programme.contact_window_days": _("Contact cap window (days)"),
    "programme.max_contacts_in_window": _("Contacts allowed in the window"),
    "programme.retire_after_rounds": _("Retire a customer after this many rounds"),
    "programme.holdout_share": _("Control group share"),
    "programme.random_share": _("Share of each round chosen at random (0-0.5)"),
    "programme.agent_minute_cost": _("Cost of an agent minute"),
    "programme.call_minutes": _("Minutes per call"),
    "programme.offer_budget_per_treated": _("Offer budget per treated customer and round"),
    "programme.offer_exploration_floor": _(
        "Offer learning: least chance of each offer to be presented first (0 to 0.2)"
    ),
    "programme.hoped_effect": _("Hoped-for increase in the came-back rate (share, e.g. 0.04)"),
    "programme.design_alpha": _("Test level α (two-sided)"),
    "programme.design_power": _("Target power"),
    "programme.default_base_rate": _("Came-back rate assumed when none is measured or predicted"),
    "programme.control_floor": _("Fewest control customers a round may have"),
    "programme.recently_treated_days": _("Days after treatment before a customer may be a control"),
    "programme.global_holdout_share": _("Global holdout share (0 = off)"),
    "programme.global_holdout_seed": _("Global holdout seed (fixed when first turned on)"),
}
PROFILE_CHOICES: dict[str, tuple[tuple[str, Any], ...]] = {
    "unknown_customer_policy": (
        ("stub", _("create stub customers")),
        ("reject", _("reject the rows")),
    ),
    "lifecycle_rule": (
        ("fixed", _("fixed thresholds")),
        ("rhythm", _("scaled by each customer's rhythm")),
    ),
    "rfm_reference": (("median", _("median")), ("mean", _("mean"))),
}
INDUSTRY_LABELS: dict[str, Any] = {
    "retail": _("Retail"),
    "restaurant": _("Restaurant"),
    "dental": _("Dental clinic"),
    "aesthetics": _("Medical aesthetics"),
    "b2b": _("B2B"),
    "accounting": _("Accounting firm"),
}
# Where the churn score's weights came from (``ChurnModel.source``); "+caller" when the run was
# given weights of its own.
WEIGHT_SOURCE_LABELS: dict[str, Any] = {
    "learned": _("learned from your history"),
    "default": _("built-in defaults (too little history to learn from)"),
    "learned+caller": _("learned, then partly set by hand"),
    "default+caller": _("built-in defaults, partly set by hand"),
}
OFFER_KIND_LABELS: dict[str, Any] = {
    "percent_off": _("Percentage off"),
    "voucher": _("Voucher"),
    "bundle": _("Bundle"),
    "free_service": _("Free service"),
    "points_multiplier": _("Bonus points"),
    "priority_service": _("Priority service"),
    "free_delivery": _("Free delivery"),
    "expert_advice": _("Expert advice"),
}
AUDIT_REASON_LABELS: dict[str, Any] = {
    "weak": _("weak (AUC below the threshold)"),
    "no_variance": _("no variation in the data"),
}


# --- business profile -----------------------------------------------------------------------


def profile_value(profile: BusinessProfile, path: str) -> Any:
    value: Any = profile
    for part in path.split("."):
        value = getattr(value, part)
    return value


def profile_leaves(profile: BusinessProfile) -> dict[str, Any]:
    """Every editable setting of the profile by dotted path (the industry apart)."""
    return {path: profile_value(profile, path) for _, _, paths in PROFILE_GROUPS for path in paths}


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        target = nested
        parts = path.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return nested


def _audit(user: User, action: str, object_type: str, object_id: str, detail: Any) -> None:
    AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action=action,
        object_type=object_type,
        object_id=object_id[:80],
        detail=detail,
    )


def update_profile(user: User, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Change profile settings (dotted paths); returns ``{path: [before, after]}`` of changes.

    Invalid values raise ``ValueError`` from the profile's own checks; nothing is stored then.
    """
    before = current_profile()
    old = profile_leaves(before)
    changed = {p: v for p, v in values.items() if p in old and v != old[p]}
    if not changed:
        return {}
    if "time_zone" in changed:
        _check_time_zone(str(changed["time_zone"]))
    with transaction.atomic():
        after = set_profile(overrides=_nested(changed))
        new = profile_leaves(after)
        changes = {p: [old[p], new[p]] for p in changed if old[p] != new[p]}
        _audit(user, "settings_change", "business_profile", after.industry, {"changes": changes})
    return changes


def _check_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = _("Unknown time zone %(name)s (for example Asia/Shanghai).")
        raise ValueError(message % {"name": name}) from None


@dataclass(frozen=True)
class PresetChange:
    path: str
    label: Any
    current: Any
    preset: Any


def preset_diff(industry: str) -> list[PresetChange]:
    """What applying ``industry``'s preset would change: (setting, current, preset) for every
    setting whose value differs; nothing is stored."""
    if industry not in INDUSTRIES:
        raise ValueError(f"unknown industry {industry!r}")
    before = current_profile()
    after = preset(industry)
    old, new = profile_leaves(before), profile_leaves(after)
    changes = [PresetChange(p, PROFILE_LABELS[p], old[p], new[p]) for p in old if old[p] != new[p]]
    if before.industry != industry:
        label = _("Industry preset")
        changes.insert(
            0,
            PresetChange(
                "industry", label, INDUSTRY_LABELS[before.industry], INDUSTRY_LABELS[industry]
            ),
        )
    if dict(before.indicator_weights):
        changes.append(
            PresetChange(
                "indicator_weights", _("Indicator weights"), _("set by hand"), _("learned")
            )
        )
    return changes


def apply_preset(user: User, industry: str) -> BusinessProfile:
    """Start again from an industry's preset (every setting takes the preset's value)."""
    if industry not in INDUSTRIES:
        raise ValueError(f"unknown industry {industry!r}")
    before = current_profile()
    with transaction.atomic():
        after = set_profile(industry=industry)
        old, new = profile_leaves(before), profile_leaves(after)
        changes = {p: [old[p], new[p]] for p in old if old[p] != new[p]}
        detail = {"industry": [before.industry, after.industry], "changes": changes}
        _audit(user, "settings_change", "business_profile", industry, detail)
    return after


# --- programme rule data (taxonomy, playbooks, offers) --------------------------------------


def _settings_row() -> ProgrammeSettings | None:
    # the row current_rules() reads
    return ProgrammeSettings.objects.order_by("pk").first()


def stored_overrides(section: str) -> dict[str, Any]:
    row = _settings_row()
    return dict(getattr(row, section) or {}) if row is not None else {}


def merged_rules(overrides: dict[str, dict[str, Any]]) -> RuleData:
    """Defaults merged with ``overrides`` per section, checked against each other."""
    taxonomy = Taxonomy.default()
    if overrides.get("taxonomy"):
        taxonomy = taxonomy.merge(overrides["taxonomy"])
    playbooks = Playbooks.default()
    if overrides.get("playbooks"):
        playbooks = playbooks.merge(overrides["playbooks"])
    catalogue = OfferCatalogue.default()
    if overrides.get("offers"):
        catalogue = catalogue.merge(overrides["offers"])
    playbooks.check(taxonomy)
    catalogue.check(taxonomy)
    return RuleData(catalogue, playbooks, taxonomy)


def save_rule_overrides(user: User, section: str, text: str) -> dict[str, Any]:
    """Store a section's overrides (JSON text) after merging and checking all three sections.

    Raises ``ValueError`` with the reason when the JSON is malformed or the result invalid.
    """
    if section not in RULE_SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        where = {"line": exc.lineno, "column": exc.colno}
        raise ValueError(_("Not valid JSON (line %(line)s, column %(column)s).") % where) from None
    if not isinstance(data, dict):
        raise ValueError(str(_("The overrides must be a JSON object: {...}")))
    return _store_overrides(user, section, data)


def _store_overrides(user: User, section: str, data: dict[str, Any]) -> dict[str, Any]:
    """Merge ``data`` as the section's overrides, check the three sections together, store.

    The core's refusals come back as :class:`RulesRejected`, whose text is in the user's
    language."""
    current = {s: stored_overrides(s) for s in RULE_SECTIONS}
    try:
        merged_rules({**current, section: data})
    except RuleError as exc:
        raise RulesRejected(exc) from exc
    except (TypeError, KeyError) as exc:
        raise ValueError(str(exc)) from exc
    with transaction.atomic():
        row = _settings_row() or ProgrammeSettings()
        setattr(row, section, data)
        row.save()
        _audit(
            user,
            "settings_change",
            f"programme_{section}",
            str(row.pk),
            {"before": current[section], "after": data},
        )
    return data


# One entry of a section, edited field by field: (overrides list, key field) per section.
ENTRY_LISTS = {
    "taxonomy": ("reasons", "code"),
    "playbooks": ("playbooks", "reason"),
    "offers": ("offers", "code"),
}


def rule_entry(section: str, code: str) -> dict[str, Any] | None:
    """The entry in force with this code (a reason, a playbook by its reason, an offer) as
    the fields the section's form edits; None when there is none."""
    rules = current_rules()
    if section == "taxonomy":
        t = rules.taxonomy
        for r in t.reasons:
            if r.code == code:
                return {
                    "code": r.code,
                    "group": r.group,
                    "zh": r.zh,
                    "en": r.en,
                    "sensitive": r.sensitive,
                    "hidden": r.code in t.hidden,
                    "keywords_zh": list(t.keywords_zh.get(r.code, ())),
                    "keywords_en": list(t.keywords_en.get(r.code, ())),
                }
        return None
    if section == "playbooks":
        for p in rules.playbooks.playbooks:
            if p.reason == code:
                return {
                    "reason": p.reason,
                    "department": p.department,
                    "action": p.action,
                    "fix_zh": p.fix_zh,
                    "fix_en": p.fix_en,
                    "talking_points_zh": list(p.talking_points_zh),
                    "talking_points_en": list(p.talking_points_en),
                    "channel": p.channel,
                    "seniority": p.seniority,
                    "offer_preference": p.offer_preference or "",
                }
        return None
    for o in rules.catalogue.offers:
        if o.code == code:
            return {
                "code": o.code,
                "kind": o.kind,
                "zh": o.zh,
                "en": o.en,
                "depth_share": o.depth_share,
                "depth_abs": o.depth_abs,
                "visits": o.visits,
                "tiers": [str(t) for t in (o.tiers or ())],
                "min_spend": o.min_spend,
            }
    return None


def _require_admin(user: User) -> None:
    if not user.is_admin_role:
        raise PermissionDenied


def save_rule_entry(user: User, section: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Add or change one entry of a section (matched by its code) in the stored overrides;
    the whole is merged and checked before it is stored, and audited.

    Taxonomy entries may carry ``hidden`` (the reason is not offered to agents); offers may
    carry ``remove`` (the offer leaves the catalogue)."""
    _require_admin(user)
    if section not in RULE_SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    list_key, key = ENTRY_LISTS[section]
    data = json.loads(json.dumps(stored_overrides(section)))
    entry = dict(entry)
    if section == "taxonomy" and "hidden" in entry:
        hide = bool(entry.pop("hidden"))
        in_force = set(current_rules().taxonomy.hidden)
        hidden = (in_force | {entry[key]}) if hide else (in_force - {entry[key]})
        data["hidden"] = sorted(hidden)
    entries = [e for e in data.get(list_key, []) if str(e.get(key)) != str(entry[key])]
    data[list_key] = [*entries, entry]
    return _store_overrides(user, section, data)


def save_depth_caps(user: User, caps: dict[int, float]) -> dict[str, Any]:
    """The highest offer cost per tier, as a share of the customer's expected spend."""
    _require_admin(user)
    data = json.loads(json.dumps(stored_overrides("offers")))
    data["depth_cap_by_tier"] = {str(t): float(c) for t, c in sorted(caps.items())}
    return _store_overrides(user, "offers", data)


def depth_caps() -> dict[int, float]:
    return {int(t): float(c) for t, c in current_rules().catalogue.depth_cap_by_tier.items()}


@dataclass(frozen=True)
class RuleTable:
    headers: tuple[Any, ...]
    rows: tuple[tuple[str, ...], ...]


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def rule_table(section: str, lang: str) -> RuleTable:
    """The rule data in force for one section, as a table."""
    rules = current_rules()
    zh = lang.startswith("zh")
    if section == "taxonomy":
        t = rules.taxonomy
        return RuleTable(
            (_("Code"), _("Group"), _("Label"), _("Sensitive"), _("Hidden")),
            tuple(
                (
                    r.code,
                    t.group_label(r.group, lang),
                    r.zh if zh else r.en,
                    _yes(r.sensitive),
                    _yes(r.code in t.hidden),
                )
                for r in t.reasons
            ),
        )
    if section == "playbooks":
        pb = rules.playbooks
        return RuleTable(
            (
                _("Code"),
                _("Reason"),
                _("Department"),
                _("Channel"),
                _("Seniority"),
                _("Fix first"),
            ),
            tuple(
                (
                    p.reason,
                    rules.taxonomy.label(p.reason, lang),
                    pb.department_label(p.department, lang),
                    _choice_label(ContactChannel, p.channel),
                    str(p.seniority),
                    p.fix(lang),
                )
                for p in pb.playbooks
            ),
        )
    return RuleTable(
        (_("Code"), _("Kind"), _("Label"), _("Depth (share)"), _("Depth (amount)"), _("Tiers")),
        tuple(
            (
                o.code,
                str(OFFER_KIND_LABELS.get(o.kind, o.kind)),
                o.label(lang),
                f"{o.depth_share:g}",
                f"{o.depth_abs:g}",
                _text(o.tiers),
            )
            for o in rules.catalogue.offers
        ),
    )


def _choice_label(choices: type[models.TextChoices], code: str) -> str:
    return str(choices(code).label) if code in choices.values else code


def _yes(flag: bool) -> str:
    return str(_("yes")) if flag else ""


# --- read-only: indicators and questionnaires ----------------------------------------------


@dataclass(frozen=True)
class IndicatorRow:
    code: str
    label: str
    direction: int
    auc: float | None
    weight: float
    used: bool
    recommendation: str
    reasons: tuple[str, ...]


def indicator_audit(lang: str) -> dict[str, Any]:
    """The latest analysis's learned weights with the indicator audit table."""
    run = latest_analysis()
    if run is None:
        return {"run": None, "rows": [], "pairs": [], "thresholds": {}}
    audit = run.audit or {}
    zh = lang.startswith("zh")
    labels = {i["code"]: (i.get("zh") if zh else i.get("en")) for i in audit.get("indicators", [])}
    rows = [
        IndicatorRow(
            code=str(i["code"]),
            label=str(i.get("zh") if zh else i.get("en")),
            direction=int(i.get("direction", 1)),
            auc=i.get("auc"),
            weight=float((run.weights or {}).get(i["code"], i.get("weight", 0.0))),
            used=bool(i.get("used", True)),
            recommendation=str(i.get("recommendation", "")),
            reasons=tuple(_audit_reason(str(r), labels) for r in i.get("reasons", [])),
        )
        for i in audit.get("indicators", [])
    ]
    pairs = [
        (labels.get(p["a"], p["a"]), labels.get(p["b"], p["b"]), p["rho"])
        for p in audit.get("redundant_pairs", [])
    ]
    source = str(((run.params or {}).get("model") or {}).get("weights_source") or "")
    return {
        "run": run,
        "rows": rows,
        "pairs": pairs,
        "thresholds": audit.get("thresholds", {}),
        "source": str(WEIGHT_SOURCE_LABELS.get(source, source)),
    }


def _audit_reason(code: str, labels: dict[str, Any]) -> str:
    if code.startswith("redundant_with:"):
        other = code.split(":", 1)[1]
        return str(_("redundant with %(other)s") % {"other": labels.get(other) or other})
    return str(AUDIT_REASON_LABELS.get(code, code))


def questionnaires() -> QuestionnairesInForce:
    """The questionnaires in force: the team's stored ones, or the shipped ones (with the
    reason when stored ones were set aside)."""
    return questionnaires_in_force(current_rules())


def questionnaire(code: str) -> Questionnaire | None:
    return next((q for q in questionnaires().items if q.code == code), None)


def save_questionnaire(user: User, data: dict[str, Any], *, code: str = "") -> Questionnaire:
    """Store one questionnaire (``data`` as :meth:`Questionnaire.to_dict` gives it) in place of
    the one with ``code`` (or its own code), or after the others when it is new. It is checked
    by the core against the taxonomy in force; a refusal raises :class:`RulesRejected` (words in
    the user's language) and nothing is stored. Audited with before/after."""
    _require_admin(user)
    rules = current_rules()
    try:
        new = Questionnaire.from_dict(data)
        new.validate(rules.taxonomy)
    except RuleError as exc:
        raise RulesRejected(exc) from exc
    in_force = questionnaires_in_force(rules)
    replaced = code or new.code
    items = [q for q in in_force.items]
    if new.code != replaced and any(q.code == new.code for q in items):
        dup = RuleError("questionnaire", [problem("duplicate_questionnaires", code=new.code)])
        raise RulesRejected(dup)
    at = next((i for i, q in enumerate(items) if q.code == replaced), None)
    if at is None:
        items.append(new)
    else:
        items[at] = new
    before = dict(rules.stored_questionnaires)
    after = {"questionnaires": [q.to_dict() for q in items]}
    with transaction.atomic():
        row = _settings_row() or ProgrammeSettings()
        row.questionnaires = after
        row.save()
        _audit(
            user,
            "settings_change",
            "programme_questionnaires",
            str(row.pk),
            {"code": new.code, "before": before, "after": after},
        )
    return new


# --- hand-set indicator weights ----------------------------------------------------------


def indicator_choices(lang: str) -> list[tuple[str, str]]:
    """(code, label) of every churn indicator, in the model's order."""
    from winback.analytics.indicators import INDICATORS

    zh = lang.startswith("zh")
    return [(i.code, (i.zh if zh else i.en).split(":")[0].split("：")[0]) for i in INDICATORS]


def save_indicator_weights(user: User, weights: dict[str, float | None]) -> dict[str, list[Any]]:
    """Set (or, with None, clear) hand-set indicator weights; the next analysis uses them in
    place of the learned ones. Returns ``{code: [before, after]}`` of what changed."""
    from winback.analytics.indicators import CODES

    _require_admin(user)
    unknown = sorted(set(weights) - set(CODES))
    if unknown:
        raise ValueError(f"unknown indicator(s) {unknown}")
    before = current_profile()
    old = dict(before.indicator_weights)
    new = {c: float(w) for c, w in {**old, **weights}.items() if w is not None}
    changes = {
        c: [old.get(c), new.get(c)] for c in sorted(set(old) | set(new)) if old.get(c) != new.get(c)
    }
    if not changes:
        return {}
    with transaction.atomic():
        after = save_profile(replace(before, indicator_weights=new))
        _audit(user, "settings_change", "indicator_weights", after.industry, {"changes": changes})
    return changes


# --- users ----------------------------------------------------------------------------------


def users() -> list[User]:
    return list(User.objects.order_by("-is_active", "role", "username"))


def create_user(
    admin: User,
    *,
    username: str,
    password: str,
    role: str,
    seniority: int,
    daily_capacity: int,
) -> User:
    """Create a sign-in; raises ``ValidationError`` for a taken name or a weak password."""
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("A user with this name exists already."))
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    candidate = User(username=username, role=role)
    validate_password(password, candidate)
    with transaction.atomic():
        user = User(
            username=username,
            role=role,
            seniority=seniority,
            daily_capacity=daily_capacity,
            is_staff=role == Role.ADMIN,
        )
        user.set_password(password)
        user.save()
        detail = {"role": role, "seniority": seniority, "daily_capacity": daily_capacity}
        _audit(admin, "user_create", "user", str(user.pk), {"username": username, **detail})
    return user


class CannotDemoteSelf(ValueError):
    """An admin cannot take their own admin role away."""


def update_user(
    admin: User,
    user_id: int,
    *,
    first_name: str,
    role: str,
    language: str,
    seniority: int,
    daily_capacity: int,
) -> dict[str, list[Any]]:
    """Change a user's name, role, language, seniority and capacity; audited with
    before/after. Returns the changes."""
    _require_admin(admin)
    target = User.objects.get(pk=user_id)
    if role not in Role.values:
        raise ValidationError(_("Unknown role."))
    if target.pk == admin.pk and role != Role.ADMIN:
        raise CannotDemoteSelf(user_id)
    values = {
        "first_name": first_name,
        "role": role,
        "language": language,
        "seniority": seniority,
        "daily_capacity": daily_capacity,
    }
    changes = {k: [getattr(target, k), v] for k, v in values.items() if getattr(target, k) != v}
    if not changes:
        return {}
    with transaction.atomic():
        update = {k: v for k, (_old, v) in changes.items()}
        if "role" in changes:
            update["is_staff"] = role == Role.ADMIN
        User.objects.filter(pk=target.pk).update(**update)
        detail = {"username": target.username, "changes": changes}
        _audit(admin, "user_change", "user", str(target.pk), detail)
    return changes


class CannotDeactivateSelf(ValueError):
    """An admin cannot lock themself out."""


def set_active(admin: User, user_id: int, active: bool) -> User:
    user = User.objects.get(pk=user_id)
    if user.pk == admin.pk and not active:
        raise CannotDeactivateSelf(user_id)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        user.is_active = active
        action = "user_reactivate" if active else "user_deactivate"
        _audit(admin, action, "user", str(user.pk), {"username": user.username})
    return user
