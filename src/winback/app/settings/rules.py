"""The programme's rule data in force: defaults merged with the stored overrides."""

from __future__ import annotations

from dataclasses import dataclass

from winback.programme.offers import OfferCatalogue
from winback.programme.playbooks import Playbooks
from winback.programme.taxonomy import Taxonomy
from winback.store.programme.models import ProgrammeSettings


@dataclass(frozen=True)
class RuleData:
    catalogue: OfferCatalogue
    playbooks: Playbooks
    taxonomy: Taxonomy


def current_rules() -> RuleData:
    row = ProgrammeSettings.objects.order_by("pk").first()
    catalogue, playbooks, taxonomy = (
        OfferCatalogue.default(),
        Playbooks.default(),
        Taxonomy.default(),
    )
    if row is not None:
        if row.offers:
            catalogue = catalogue.merge(row.offers)
        if row.playbooks:
            playbooks = playbooks.merge(row.playbooks)
        if row.taxonomy:
            taxonomy = taxonomy.merge(row.taxonomy)
    return RuleData(catalogue, playbooks, taxonomy)
