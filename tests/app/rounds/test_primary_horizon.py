"""Monitoring reads each round at the horizon its design pre-registered."""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories.business import MONTH, build_world, team
from winback.app.actors import Actor

pytestmark = pytest.mark.django_db


def test_the_estimate_is_read_at_the_designs_horizon() -> None:
    from winback.app.rounds.monitoring import primary_horizon, round_status
    from winback.app.rounds.service import plan_round
    from winback.store.programme.models import Round

    build_world()
    rnd = plan_round(Actor.system(), month=MONTH, holdout=0.5, seed=2, agents=team()).round
    assert primary_horizon(rnd) == rnd.design["horizon_days"] == 90
    Round.objects.filter(pk=rnd.pk).update(design={**rnd.design, "horizon_days": 60})
    rnd.refresh_from_db()
    status = round_status(rnd, date(2024, 8, 15), n_boot=100)  # +60 has passed, +90 not
    assert status["primary_horizon"] == 60
    assert status["estimate"]["horizon"] == 60
    assert status["estimate"]["matured"] is True
    assert [h["horizon"] for h in status["horizons"]] == [30, 60, 90]
    # A round planned before designs were stored is read at +90.
    Round.objects.filter(pk=rnd.pk).update(design={})
    rnd.refresh_from_db()
    assert primary_horizon(rnd) == 90
