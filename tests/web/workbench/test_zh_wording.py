"""The Chinese pages speak Chinese: no internal codes, no English stand-ins, full-width colons."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import World, build_world
from winback.store.accounts.models import User
from winback.store.analysis.models import AnalysisRun

pytestmark = pytest.mark.django_db

# a Chinese character (or full-width punctuation) followed by a half-width colon
HALF_WIDTH_COLON = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]\s*:")


@pytest.fixture
def world() -> World:
    return build_world()


def visible_text(client: Client, url: str) -> str:
    """What the reader sees: the page without tags, scripts and styles."""
    response = client.get(url)
    assert response.status_code == 200
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_call_and_customer_pages_use_full_width_colons_and_name_the_round(world: World) -> None:
    call = visible_text(signed_in(world.agent1), reverse("call", args=[world.task_mine.pk]))
    assert "已知流失原因：" in call
    assert "已尝试次数：" in call
    assert "通话结果：" in call  # the form's label suffix
    assert HALF_WIDTH_COLON.findall(call) == []
    customer = visible_text(signed_in(world.supervisor), reverse("customer", args=[world.mine.pk]))
    assert f"2026-11 轮次（#{world.round.pk}）" in customer
    assert f"round {world.round.pk}" not in customer
    assert HALF_WIDTH_COLON.findall(customer) == []


def test_rule_tables_show_labels_not_codes(world: World) -> None:
    client = signed_in(world.admin)
    playbooks = visible_text(client, reverse("settings_rules", args=["playbooks"]))
    assert "电话" in playbooks
    assert " phone " not in playbooks
    offers = visible_text(client, reverse("settings_rules", args=["offers"]))
    assert "折扣" in offers
    assert " percent_off " not in offers
    questionnaires = visible_text(client, reverse("settings_questionnaires"))
    assert "（单选）" in questionnaires
    assert "(single)" not in questionnaires


def test_the_weights_source_is_said_in_words(world: World) -> None:
    AnalysisRun.objects.update(params={"model": {"weights_source": "learned"}})
    page = visible_text(signed_in(world.admin), reverse("settings_indicators"))
    assert "权重：根据您的历史数据学习" in page
    assert "learned" not in page
    assert HALF_WIDTH_COLON.findall(page) == []
