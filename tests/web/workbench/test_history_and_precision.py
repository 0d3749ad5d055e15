"""The "too little history" notice (dashboard, customer list, early warnings), the stored
early-warning precision on the early-warning page, and the churn probability on the sheet."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import AS_OF, World, build_world
from winback.store.analysis.models import AnalysisRun, CustomerSnapshot

pytestmark = pytest.mark.django_db

PRECISION = {
    "1m": {
        "flagged_on": "2025-05-31",
        "as_of": AS_OF.isoformat(),
        "days": 30,
        "flagged": 40,
        "flagged_drifted": 14,
        "precision": 0.35,
        "unflagged": 360,
        "unflagged_drifted": 36,
        "base_rate": 0.1,
        "lift": 3.5,
    },
    "3m": None,
}


def with_model(model: dict[str, Any]) -> None:
    run = AnalysisRun.objects.get(as_of=AS_OF)
    run.params = {**(run.params or {}), "model": model}
    run.save()


@pytest.fixture
def world() -> World:
    return build_world()


def pages(client: Client, lang: str) -> dict[str, str]:
    return {
        name: client.get(reverse(name), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
        for name in ("dashboard", "customers", "warnings")
    }


@pytest.mark.slow
def test_the_notice_shows_when_priors_were_used(world: World) -> None:
    with_model({"priors_used": ["churn_weights", "btyd"], "status_rule": "base_rate"})
    client = Client()
    client.force_login(world.supervisor)
    for html in pages(client, "en").values():
        assert 'id="history-notice"' in html
        assert "Too little history of your own yet" in html
        assert "the purchase-rhythm model (BTYD)" in html
        assert "base rate of leaving" in html
    for html in pages(client, "zh-hans").values():
        assert "自身历史数据还不够" in html
        assert "购买节律模型（BTYD）" in html


def test_only_the_base_rate_rule_is_told_alone(world: World) -> None:
    with_model({"priors_used": [], "status_rule": "base_rate"})
    client = Client()
    client.force_login(world.supervisor)
    html = pages(client, "en")["dashboard"]
    assert "base rate of leaving" in html
    assert "Too little history of your own yet" not in html


@pytest.mark.parametrize(
    "model", [{}, {"priors_used": [], "status_rule": "probability_cutoff"}, {"priors_used": 3}]
)
def test_no_notice_with_enough_history(world: World, model: dict[str, Any]) -> None:
    with_model(model)
    client = Client()
    client.force_login(world.supervisor)
    for html in pages(client, "en").values():
        assert 'id="history-notice"' not in html


def test_the_warning_page_shows_the_stored_precision(world: World) -> None:
    with_model({"early_warning_precision": PRECISION})
    client = Client()
    client.force_login(world.supervisor)
    en = pages(client, "en")["warnings"]
    assert 'id="warning-precision"' in en
    assert "2025-05-31" in en
    assert "35%" in en
    assert "10%" in en
    assert "3.5" in en
    zh = pages(client, "zh-hans")["warnings"]
    assert "以往预警的结果" in zh
    with_model({})
    assert 'id="warning-precision"' not in pages(client, "en")["warnings"]


def test_the_customer_sheet_shows_the_churn_probability(world: World) -> None:
    CustomerSnapshot.objects.filter(customer=world.mine).update(churn_probability=0.4271)
    client = Client()
    client.force_login(world.agent1)
    url = reverse("customer", args=[world.mine.pk])
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Chance of no purchase within the horizon" in en
    assert "43%" in en
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "期限内不再购买的概率" in zh
