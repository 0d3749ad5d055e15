"""The uplift targeting benchmark's quick run (benchmarks/uplift_targeting.py --quick): both
policies get the same call capacity, every round stays a randomised experiment, and in a world
where no call changes anything neither policy gains."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # six month-end analyses of a generated business

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "uplift_targeting.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("uplift_targeting", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["uplift_targeting"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_equal_capacity_randomised_rounds_and_no_gain_in_a_null_world() -> None:
    bench = _benchmark()
    world = bench.build_world("retail", 4000, 3)
    run = bench.run_world(world, 400, "realistic", null=False)
    for books in (run.cold, run.steady):
        calls = {p: sum(x.size for x in books[p].increments) for p in bench.POLICIES}
        # the product's policy may leave places empty (no customer worth a call), never more
        assert calls["uplift"] <= calls["churn_value"] * 1.02
        assert calls["uplift"] >= 0.8 * calls["churn_value"]
        for policy in bench.POLICIES:
            assert len(books[policy].increments) == bench.WARM_UP
            for members in books[policy].members:
                share = float((members["arm"] == "control").mean())
                assert 0.05 < share < 0.15  # 10% control, drawn in strata
                assert members["customer_pk"].n_unique() == members.height
    assert run.cold["uplift"].used[0] == "stage_priors"  # nothing measured before round 1
    # the steady state starts from the product's cold-start rounds, shared by every policy
    warm = run.cold["uplift"].members
    for policy in bench.POLICIES:
        assert all(a is b for a, b in zip(run.steady[policy].members, warm, strict=False))
        assert len(run.steady[policy].members) == 2 * bench.WARM_UP
        assert run.steady[policy].members[bench.WARM_UP]["round_id"][0] == bench.WARM_UP + 1
    assert run.steady["uplift"].used[0] != "stage_priors"  # rounds have matured by then
    assert bench.per_1000([run.cold], "uplift", slice(0, 6)) > 0
    assert set(run.qini3["round_id"].unique()) <= {1, 2, 3}
    null = bench.run_world(world, 400, "realistic", null=True)
    for books in (null.cold, null.steady):
        for policy in bench.POLICIES:
            assert float(np.concatenate(books[policy].increments).sum()) == 0.0
