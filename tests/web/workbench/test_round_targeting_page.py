"""The wizard's step 4 shows the round's targeting policy and random share, in zh and en."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.business import build_world
from winback.store.accounts.models import Role, User

pytestmark = pytest.mark.django_db

POOL = {"month": "2024-06", "statuses": ["lost", "at_risk"], "step": "4", "holdout": "0.2"}


def _step4(lang: str) -> str:
    user = User.objects.create(username=f"sup-{lang}", role=Role.SUPERVISOR)
    client = Client(headers={"accept-language": lang})
    client.force_login(user)
    response = client.get(reverse("round_new"), {**POOL, "seed": "17"})
    assert response.status_code == 200
    return response.content.decode()


def _text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert match, element_id
    return match.group(1).strip()


@pytest.mark.parametrize(
    ("lang", "policy", "random_label"),
    [("en", "Stage priors", "Chosen at random"), ("zh-hans", "阶段先验", "随机选择比例")],
)
def test_step4_shows_the_policy_and_the_random_share(
    lang: str, policy: str, random_label: str
) -> None:
    from winback.app.settings.profile import set_profile

    build_world()
    set_profile(overrides={"programme": {"random_share": 0.25}})
    html = _step4(lang)
    assert 'data-policy="stage_priors"' in html
    assert _text(html, "targeting-policy") == policy
    assert _text(html, "random-share") == "25.0%"
    assert random_label in html
    assert _text(html, "model-version") == "-"
