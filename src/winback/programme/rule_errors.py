"""Coded problems of the programme's rule data (taxonomy, playbooks, offers, questionnaires).

The core's checks return a :class:`Problem` per fault: a code and its parameters (the entry
concerned, the allowed values), never a sentence. :class:`RuleError` gathers them; it is a
``ValueError`` whose English text serves logs and the command line, while the application
layer turns each code into words in the user's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# What a RuleError is about, with its English heading.
SUBJECTS: dict[str, str] = {
    "taxonomy": "invalid reason taxonomy",
    "playbooks": "invalid playbooks",
    "offers": "invalid offer catalogue",
    "questionnaire": "invalid questionnaire",
}

# English text of every problem code; ``{name!r}`` marks a code or value shown as it is.
ENGLISH: dict[str, str] = {
    # taxonomy
    "duplicate_groups": "duplicate group codes {codes}",
    "duplicate_reasons": "duplicate reason codes {codes}",
    "bad_code": "code {code!r} must be lower-case letters, digits and _",
    "group_labels": "group {group!r} needs zh and en labels",
    "reason_group": "reason {reason!r} is in unknown group {group!r}",
    "reason_labels": "reason {reason!r} needs zh and en labels",
    "keywords_reason": "{lang} keywords given for unknown reason {reason!r}",
    "keywords_empty": "{lang} keywords of {reason!r} contain an empty keyword",
    "fallback_missing": "the taxonomy must keep the fallback reason {reason!r}",
    "fallback_hidden": "the fallback reason {reason!r} cannot be hidden",
    "hidden_unknown": "hidden lists unknown reasons {reasons}",
    "taxonomy_keys": "unknown taxonomy keys {keys}",
    "new_reason_lacks": "new reason {reason!r} lacks {fields}",
    "entries_not_list": "{what}s must be a list of objects",
    "entry_needs_code": "every {what} needs a 'code': {entry!r}",
    "keywords_not_strings": "keywords of {reason!r} must be a list of strings",
    # playbooks
    "duplicate_playbooks": "more than one playbook for a reason",
    "fallback_playbook": "a playbook for the fallback reason {reason!r} is required",
    "playbook_department": "playbook {reason!r}: unknown department {department!r}",
    "playbook_channel": "playbook {reason!r}: channel must be one of {channels}",
    "playbook_seniority": "playbook {reason!r}: seniority must be 1, 2 or 3",
    "playbook_offer_preference": (
        "playbook {reason!r}: offer_preference must be price, perk or null"
    ),
    "playbook_talking_points": "playbook {reason!r}: 2-4 non-empty {lang} talking points",
    "playbook_fix": "playbook {reason!r}: action code and fix text (zh, en) are required",
    "stage_policies": "exactly one contact policy per stage {stages} is required",
    "policy_limits": "stage policy {stage!r}: max_contacts >= 0 and window_days >= 1",
    "policy_channels": "stage policy {stage!r}: channels must be a non-empty list of {channels}",
    "policy_incentive": "stage policy {stage!r}: incentive must be one of {incentives}",
    "playbook_reasons": "playbooks for reasons not in the taxonomy: {reasons}",
    "playbook_keys": "unknown playbook keys {keys}",
    "entry_needs_key": "every entry of {what} needs {key!r}: {entry!r}",
    "unknown_fields": "{what} has no fields {fields}",
    "bad_entry": "{what} {entry!r}: {error}",
    # offers
    "duplicate_offers": "duplicate offer codes",
    "offer_kind": "offer {offer!r}: kind must be one of {kinds}",
    "offer_depth": "offer {offer!r}: depth_share in [0, 1], depth_abs and min_spend >= 0",
    "offer_visits": "offer {offer!r}: visits >= 1",
    "offer_stages": "offer {offer!r}: stages must be among {stages}",
    "offer_frequency": "offer {offer!r}: frequency must be frequent, infrequent or null",
    "offer_labels": "offer {offer!r}: zh and en labels are required",
    "depth_cap": "depth cap of tier {tier} must be in [0, 1]",
    "offer_reasons": "offers name reasons not in the taxonomy: {reasons}",
    "offer_keys": "unknown offer catalogue keys {keys}",
    "offer_needs_code": "every offer needs a 'code': {entry!r}",
    "offer_fields": "offer {offer!r} has unknown fields {fields}",
    "offer_bad": "offer {offer!r}: {error}",
    # questionnaires
    "questionnaire_missing": "missing {field}",
    "questionnaire_shape": "{what} must be {expected}",
    "questionnaire_code": "{where}: code {code!r} must be lower-case letters, digits and _",
    "questionnaire_labels": "{where}: zh and en texts are required",
    "questionnaire_empty": "{where}: a questionnaire needs at least one question",
    "duplicate_questions": "{where}: duplicate question codes",
    "question_kind": "{where}: kind must be one of {kinds}",
    "question_text_options": "{where}: a text question has no options",
    "question_scale_options": "{where}: a scale question has no options",
    "question_needs_options": "{where}: a choice question needs options",
    "duplicate_options": "{where}: duplicate option codes",
    "option_reasons": "{where}: unknown reasons {reasons}",
    "duplicate_questionnaires": "duplicate questionnaire code {code!r}",
}


@dataclass(frozen=True)
class Problem:
    """One fault of rule data: ``code`` names it (a key of :data:`ENGLISH`), ``params`` are the
    values its sentence names (codes, lists of codes, allowed values)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        template = ENGLISH.get(self.code)
        if template is None:
            return self.code
        try:
            return template.format(**self.params)
        except (KeyError, IndexError):
            return self.code


class RuleError(ValueError):
    """Rule data that cannot be used: every problem found, coded (see :class:`Problem`)."""

    def __init__(self, subject: str, problems: Iterable[Problem]) -> None:
        self.subject = subject
        self.problems = tuple(problems)
        heading = SUBJECTS.get(subject, subject)
        super().__init__(heading + ": " + "; ".join(str(p) for p in self.problems))


def problem(_code: str, /, **params: Any) -> Problem:
    return Problem(_code, params)


def raise_if(subject: str, problems: list[Problem]) -> None:
    if problems:
        raise RuleError(subject, problems)
