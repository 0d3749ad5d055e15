"""Events reach the analytics by their type's role: a configured type counts like its stream,
an event of a type no longer defined or active counts as nothing and breaks nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from winback.analytics.features import STREAMS, customer_features
from winback.config import preset
from winback.store.extract import active_roles
from winback.vocabulary import EVENT_ROLES, UNKNOWN_EVENT_ROLE

AS_OF = date(2024, 3, 31)


def test_the_roles_are_the_streams_the_features_read() -> None:
    assert EVENT_ROLES == STREAMS
    assert UNKNOWN_EVENT_ROLE not in STREAMS


def test_active_roles_merge_the_stored_definitions_over_the_built_in_ones() -> None:
    stored = pl.DataFrame(
        {
            "code": ["brand_defence", "complaint", "old", "odd"],
            "role": ["referral", "complaint", "forum_post", "gossip"],
            "active": [True, False, False, True],
        }
    )
    roles = dict(active_roles(stored).iter_rows())
    assert roles["brand_defence"] == "referral"
    assert "complaint" not in roles  # a built-in type deactivated
    assert "old" not in roles
    assert "odd" not in roles  # a role outside the vocabulary (a hand-edited row)
    assert roles["forum_post"] == "forum_post"  # built in, no stored row


@pytest.mark.django_db(transaction=True)
def test_events_are_read_in_their_types_role_and_unknown_ones_count_for_nothing() -> None:
    from winback.app.actors import Actor
    from winback.app.analysis.service import extract
    from winback.app.settings.event_types import set_event_type_active
    from winback.store.customers import models as m

    m.EventTypeDefinition.objects.create(
        code="brand_defence", label_zh="维护品牌", label_en="Defended the brand", role="referral"
    )
    m.EventTypeDefinition.objects.create(
        code="retired", label_zh="旧类型", label_en="Retired", role="forum_post", active=False
    )
    set_event_type_active(Actor.system("cli"), "qa_answer", active=False)
    ann = m.Customer.objects.create(external_id="A", join_date=date(2023, 1, 1))
    bob = m.Customer.objects.create(external_id="B", join_date=date(2023, 1, 1))
    kinds = {
        "E1": (ann, "brand_defence"),
        "E2": (ann, "forum_post"),
        "E3": (bob, "retired"),
        "E4": (bob, "hand_edited"),
        "E5": (bob, "qa_answer"),
    }
    for key, (who, kind) in kinds.items():
        m.EngagementEvent.objects.create(
            source_key=key,
            customer=who,
            event_type=kind,
            occurred_at=datetime(2024, 3, 1, 2, tzinfo=UTC),
            occurred_date=date(2024, 3, 1),
        )
    frames = extract(AS_OF, "Asia/Shanghai")
    by_customer = sorted(frames.events.select("customer_pk", "event_type").iter_rows())
    assert by_customer == sorted(
        [
            (ann.pk, "referral"),
            (ann.pk, "forum_post"),
            (bob.pk, UNKNOWN_EVENT_ROLE),
            (bob.pk, UNKNOWN_EVENT_ROLE),
            (bob.pk, UNKNOWN_EVENT_ROLE),
        ]
    )
    features = customer_features(frames, preset("retail"), AS_OF).sort("customer_pk")
    a, b = features.to_dicts()
    assert (a["referral_n"], a["forum_post_n"], a["engagement_n_365"]) == (1, 1, 2)
    assert a["referral_converted_n"] == 0  # no referred customer: a value act, not a referral
    assert b["engagement_n_365"] == 0
    assert b["engagement_last"] is None
    assert all(b[f"{s}_n"] == 0 for s in STREAMS)
