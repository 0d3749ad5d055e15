"""The admin's erase action: admins only, a confirm step that must repeat the customer's id,
zh and en pages, and the use case's erasure behind it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import World, build_world
from winback.store.accounts.models import AuditLog, User
from winback.store.customers.models import Customer, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


def signed_in(user: User, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client


def test_only_admins_see_the_action(world: World) -> None:
    url = reverse("customer_erase", args=[world.mine.pk])
    for user in (world.supervisor, world.agent1):
        assert signed_in(user).get(url).status_code == 403
        assert signed_in(user).post(url, {"confirm": "C-MINE"}).status_code == 403
    sheet = signed_in(world.admin).get(reverse("customer", args=[world.mine.pk]))
    assert url in sheet.content.decode()
    supervisor_sheet = signed_in(world.supervisor).get(reverse("customer", args=[world.mine.pk]))
    assert url not in supervisor_sheet.content.decode()


def test_the_confirm_step_must_repeat_the_id(world: World) -> None:
    url = reverse("customer_erase", args=[world.mine.pk])
    admin = signed_in(world.admin)
    page = admin.get(url)
    assert page.status_code == 200
    assert "C-MINE" in page.content.decode()
    wrong = admin.post(url, {"confirm": "C-THEIRS"})
    assert wrong.status_code == 400
    assert Customer.objects.get(pk=world.mine.pk).external_id == "C-MINE"
    done = admin.post(url, {"confirm": " C-MINE ", "reason": "asked by the customer"})
    assert done.status_code == 302
    erased = Customer.objects.get(pk=world.mine.pk)
    assert (erased.external_id, erased.phone, erased.notes) == (f"erased-{erased.pk}", "", "")
    assert Order.objects.filter(customer=erased).count() == 3
    tomb = AuditLog.objects.get(action="erase_customer")
    assert (tomb.username, tomb.reason) == ("admin", "asked by the customer")
    again = admin.get(url).content.decode()
    assert "already been erased" in again


def test_the_page_speaks_chinese(world: World) -> None:
    page = signed_in(world.admin, "zh-hans").get(reverse("customer_erase", args=[world.mine.pk]))
    text = page.content.decode()
    assert "删除个人信息" in text
    assert "此操作无法撤销" in text
