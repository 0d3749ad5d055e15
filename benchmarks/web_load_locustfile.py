"""Locust users for ``benchmarks/web_load.py`` (run headless by that script).

Agents sign in, open their call list, the call pages of their open tasks and the customer
sheets of those tasks; supervisors sign in and open the board of the current round and customer
sheets of customers across the base. Who signs in and what they open comes from the JSON plan
named by ``WINBACK_LOAD_PLAN`` (written by the script from the database): ``{"password",
"agents": {name: {"tasks": [task pk, ...], "customers": [customer pk, ...]}},
"supervisors": [name, ...], "customers": [pk, ...], "rounds": [round pk, ...]}``.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from typing import Any

from locust import HttpUser, between, events, task

_PLAN: dict[str, Any] = json.loads(open(os.environ["WINBACK_LOAD_PLAN"]).read())  # noqa: SIM115
_AGENTS = itertools.cycle(sorted(_PLAN["agents"]))
_SUPERVISORS = itertools.cycle(_PLAN["supervisors"])
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_TIMINGS = os.environ.get("WINBACK_LOAD_TIMINGS", "")


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, **kwargs: Any) -> None:
    """Every request's end time, page and duration, so the script can also report the
    steady state after the sign-ins."""
    if _TIMINGS:
        failed = int(kwargs.get("exception") is not None)
        with open(_TIMINGS, "a") as handle:
            handle.write(f"{time.time():.3f},{request_type},{name},{response_time:.1f},{failed}\n")


class _Staff(HttpUser):
    abstract = True
    wait_time = between(1, 3)  # people read a page before opening the next
    username = ""

    def sign_in(self, username: str) -> None:
        self.username = username
        page = self.client.get("/login/", name="login")
        match = _TOKEN.search(page.text)
        token = match.group(1) if match else ""
        with self.client.post(
            "/login/",
            {"username": username, "password": _PLAN["password"], "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.host}/login/"},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in of {username} answered {response.status_code}")

    def page(self, path: str, name: str) -> None:
        """GET a page; anything but a 200 (a redirect to the sign-in page, a 403) fails."""
        with self.client.get(
            path, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{path}: {response.status_code}")

    def sheet(self, pk: int, name: str) -> None:
        self.page(f"/customers/{pk}/", name)


class Agent(_Staff):
    weight = 3

    def on_start(self) -> None:
        self.sign_in(next(_AGENTS))
        mine = _PLAN["agents"][self.username]
        self.tasks_open: list[int] = list(mine["tasks"])
        self.customers: list[int] = list(mine["customers"])

    @task(1)
    def call_list(self) -> None:
        with self.client.get(
            "/calls/", name="call list", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200 or "/calls/" not in response.text:
                response.failure(f"call list: {response.status_code}")

    @task(2)
    def call_page(self) -> None:
        """The page of one of the agent's open calls (script, offer, outcome form)."""
        self.page(f"/calls/{random.choice(self.tasks_open)}/", "call page")

    @task(2)
    def my_customer(self) -> None:
        self.sheet(random.choice(self.customers), "customer sheet (agent)")


class Supervisor(_Staff):
    weight = 1

    def on_start(self) -> None:
        self.sign_in(next(_SUPERVISORS))

    @task(1)
    def round_board(self) -> None:
        self.page(f"/rounds/{random.choice(_PLAN['rounds'])}/", "round board")

    @task(1)
    def dashboard(self) -> None:
        self.page("/dashboard/", "dashboard")

    @task(2)
    def any_customer(self) -> None:
        self.sheet(random.choice(_PLAN["customers"]), "customer sheet (supervisor)")
