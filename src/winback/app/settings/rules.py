"""The programme's rule data in force: defaults merged with the stored overrides."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from winback.programme.offers import OfferCatalogue
from winback.programme.playbooks import Playbooks
from winback.programme.questionnaires import (
    Questionnaire,
    default_questionnaires,
    load_questionnaires,
)
from winback.programme.rule_errors import RuleError, problem
from winback.programme.taxonomy import Taxonomy
from winback.store.programme.models import ProgrammeSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleData:
    catalogue: OfferCatalogue
    playbooks: Playbooks
    taxonomy: Taxonomy
    # The team's questionnaires as stored ({"questionnaires": [...]}; empty: the shipped
    # ones), read through questionnaires_in_force().
    stored_questionnaires: Mapping[str, Any] = field(default_factory=dict)


def current_rules() -> RuleData:
    row = ProgrammeSettings.objects.order_by("pk").first()
    catalogue, playbooks, taxonomy = (
        OfferCatalogue.default(),
        Playbooks.default(),
        Taxonomy.default(),
    )
    stored: Any = {}
    if row is not None:
        if row.offers:
            catalogue = catalogue.merge(row.offers)
        if row.playbooks:
            playbooks = playbooks.merge(row.playbooks)
        if row.taxonomy:
            taxonomy = taxonomy.merge(row.taxonomy)
        stored = row.questionnaires
    return RuleData(catalogue, playbooks, taxonomy, stored if isinstance(stored, dict) else {})


@dataclass(frozen=True)
class QuestionnairesInForce:
    """The questionnaires agents answer. ``own``: the team's stored ones are in force;
    ``problem``: why the stored ones were set aside for the shipped defaults (shown to admins)."""

    items: tuple[Questionnaire, ...]
    own: bool
    problem: RuleError | None = None

    @property
    def first(self) -> Questionnaire | None:
        return self.items[0] if self.items else None


def questionnaires_in_force(rules: RuleData) -> QuestionnairesInForce:
    """The team's stored questionnaires, checked against the taxonomy in force; the shipped
    ones when none are stored, or when what is stored cannot be used (malformed, or naming a
    reason the taxonomy no longer has): a broken row never stops a call or an analysis."""
    stored = rules.stored_questionnaires
    defaults = tuple(default_questionnaires(rules.taxonomy).values())
    if not stored:
        return QuestionnairesInForce(defaults, own=False)
    items = stored.get("questionnaires") if isinstance(stored, Mapping) else None
    try:
        if not isinstance(items, list) or not items:
            raise RuleError(
                "questionnaire",
                [problem("questionnaire_shape", what="questionnaires", expected="a list")],
            )
        loaded = load_questionnaires(items, rules.taxonomy)
    except RuleError as exc:
        log.warning("stored questionnaires set aside for the defaults: %s", exc)
        return QuestionnairesInForce(defaults, own=False, problem=exc)
    return QuestionnairesInForce(tuple(loaded.values()), own=True)
