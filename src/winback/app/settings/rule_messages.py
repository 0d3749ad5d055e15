"""The rule checks' coded problems in the user's language.

The core (:mod:`winback.programme.rule_errors`) reports a code and its parameters for every
fault of the taxonomy, playbooks, offers and questionnaires; this module holds the sentences,
translated, and :class:`RulesRejected` carries a refusal to the settings pages, which show it
in the language active when it is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from winback.programme.rule_errors import Problem, RuleError

SUBJECTS: dict[str, Any] = {
    "taxonomy": _("The reason taxonomy is not valid"),
    "playbooks": _("The playbooks are not valid"),
    "offers": _("The offer catalogue is not valid"),
    "questionnaire": _("The questionnaire is not valid"),
}

MESSAGES: dict[str, Any] = {
    # taxonomy
    "duplicate_groups": _("Group codes used twice: %(codes)s."),
    "duplicate_reasons": _("Reason codes used twice: %(codes)s."),
    "bad_code": _(
        "Code %(code)s: use lower-case letters, digits and _ only, starting with a letter."
    ),
    "group_labels": _("Group %(group)s needs a Chinese and an English label."),
    "reason_group": _("Reason %(reason)s is in group %(group)s, which does not exist."),
    "reason_labels": _("Reason %(reason)s needs a Chinese and an English label."),
    "keywords_reason": _(
        "%(lang)s keywords are given for reason %(reason)s, which does not exist."
    ),
    "keywords_empty": _("The %(lang)s keywords of reason %(reason)s contain an empty keyword."),
    "fallback_missing": _("The taxonomy must keep the fallback reason %(reason)s."),
    "fallback_hidden": _("The fallback reason %(reason)s cannot be hidden."),
    "hidden_unknown": _("Hidden reasons that do not exist: %(reasons)s."),
    "taxonomy_keys": _("Unknown parts of the taxonomy: %(keys)s."),
    "new_reason_lacks": _("The new reason %(reason)s lacks: %(fields)s."),
    "entries_not_list": _("%(what)s must be a list of objects."),
    "entry_needs_code": _("Every entry needs a code: %(entry)s."),
    "keywords_not_strings": _("The keywords of reason %(reason)s must be a list of words."),
    # playbooks
    "duplicate_playbooks": _("A reason has more than one playbook."),
    "fallback_playbook": _("A playbook for the fallback reason %(reason)s is required."),
    "playbook_department": _("Playbook %(reason)s: department %(department)s does not exist."),
    "playbook_channel": _("Playbook %(reason)s: the channel must be one of %(channels)s."),
    "playbook_seniority": _("Playbook %(reason)s: seniority must be 1, 2 or 3."),
    "playbook_offer_preference": _(
        "Playbook %(reason)s: the offer preference must be price, perk or none."
    ),
    "playbook_talking_points": _(
        "Playbook %(reason)s: give 2 to 4 talking points in %(lang)s, none of them empty."
    ),
    "playbook_fix": _(
        "Playbook %(reason)s: the action code and the fix text in Chinese and English are required."
    ),
    "stage_policies": _("Exactly one contact policy per stage (%(stages)s) is required."),
    "policy_limits": _(
        "Contact policy %(stage)s: at least 0 contacts and a window of at least 1 day."
    ),
    "policy_channels": _("Contact policy %(stage)s: give one or more channels of %(channels)s."),
    "policy_incentive": _("Contact policy %(stage)s: the incentive must be one of %(incentives)s."),
    "playbook_reasons": _("Playbooks for reasons not in the taxonomy: %(reasons)s."),
    "playbook_keys": _("Unknown parts of the playbooks: %(keys)s."),
    "entry_needs_key": _("Every entry of %(what)s needs %(key)s: %(entry)s."),
    "unknown_fields": _("%(what)s has no fields %(fields)s."),
    "bad_entry": _("%(what)s %(entry)s cannot be read: %(error)s."),
    # offers
    "duplicate_offers": _("Offer codes used twice."),
    "offer_kind": _("Offer %(offer)s: the kind must be one of %(kinds)s."),
    "offer_depth": _(
        "Offer %(offer)s: the depth share must lie between 0 and 1; the amount and the "
        "minimum spend cannot be negative."
    ),
    "offer_visits": _("Offer %(offer)s: at least 1 visit."),
    "offer_stages": _("Offer %(offer)s: the stages must be among %(stages)s."),
    "offer_frequency": _("Offer %(offer)s: the frequency must be frequent, infrequent or none."),
    "offer_labels": _("Offer %(offer)s needs a Chinese and an English label."),
    "depth_cap": _("The depth cap of tier %(tier)s must lie between 0 and 1."),
    "offer_reasons": _("Offers name reasons not in the taxonomy: %(reasons)s."),
    "offer_keys": _("Unknown parts of the offer catalogue: %(keys)s."),
    "offer_needs_code": _("Every offer needs a code: %(entry)s."),
    "offer_fields": _("Offer %(offer)s has unknown fields %(fields)s."),
    "offer_bad": _("Offer %(offer)s cannot be read: %(error)s."),
    # questionnaires
    "questionnaire_missing": _("A part is missing: %(field)s."),
    "questionnaire_shape": _("%(what)s has the wrong form (expected %(expected)s)."),
    "questionnaire_code": _(
        "%(where)s: code %(code)s must be lower-case letters, digits and _, starting with a letter."
    ),
    "questionnaire_labels": _("%(where)s: the Chinese and the English text are required."),
    "questionnaire_empty": _("%(where)s: a questionnaire needs at least one question."),
    "duplicate_questions": _("%(where)s: question codes used twice."),
    "question_kind": _("%(where)s: the kind must be one of %(kinds)s."),
    "question_text_options": _("%(where)s: a free-text question has no options."),
    "question_scale_options": _("%(where)s: a scale question has no options."),
    "question_needs_options": _("%(where)s: a choice question needs at least one option."),
    "duplicate_options": _("%(where)s: option codes used twice."),
    "option_reasons": _("%(where)s: these reasons are not in the taxonomy: %(reasons)s."),
    "duplicate_questionnaires": _("Questionnaire code %(code)s is used twice."),
}

LANGUAGES: dict[str, Any] = {"zh": _("Chinese"), "en": _("English")}
EXPECTED: dict[str, Any] = {
    "an object": _("an object"),
    "a list": _("a list"),
    "a text": _("a text"),
}


def _separator() -> str:
    return "、" if (get_language() or "").startswith("zh") else ", "


def _value(name: str, value: Any) -> str:
    if name == "lang":
        return str(LANGUAGES.get(str(value), value))
    if name == "expected":
        return str(EXPECTED.get(str(value), value))
    if isinstance(value, list | tuple | set | frozenset):
        return _separator().join(str(v) for v in value)
    return str(value)


def describe(problem: Problem) -> str:
    """One problem as a sentence in the active language (the English text for a code this
    module does not know yet)."""
    template = MESSAGES.get(problem.code)
    if template is None:
        return str(problem)
    params = {k: _value(k, v) for k, v in problem.params.items()}
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(problem)


def describe_error(error: RuleError) -> str:
    """A refusal of the core's checks: its heading and every problem, in the active language."""
    subject = SUBJECTS.get(error.subject)
    heading = str(subject) if subject is not None else error.subject
    return heading + _colon() + " ".join(describe(p) for p in error.problems)


def _colon() -> str:
    return "：" if (get_language() or "").startswith("zh") else ": "


def describe_all(problems: Iterable[Problem]) -> list[str]:
    return [describe(p) for p in problems]


class RulesRejected(ValueError):
    """Rule data the core refused; its text is written when read, in the language then active."""

    def __init__(self, error: RuleError) -> None:
        super().__init__(str(error))
        self.error = error

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.error.problems

    def __str__(self) -> str:
        return describe_error(self.error)
