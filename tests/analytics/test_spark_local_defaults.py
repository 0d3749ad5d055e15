"""A local Spark master cuts shuffles by its cores unless told otherwise (decision 0043)."""

from __future__ import annotations

import os

import pytest

from winback.analytics.spark_engine import SHUFFLE_PARTITIONS_PER_CORE, local_defaults

KEY = "spark.sql.shuffle.partitions"


@pytest.mark.parametrize(
    ("master", "cores"),
    [("local[2]", 2), ("local[3, 4]", 3), ("local[*]", os.cpu_count() or 1), ("local", 1)],
)
def test_local_masters_get_partitions_by_cores(master: str, cores: int) -> None:
    assert local_defaults(master) == {KEY: str(max(SHUFFLE_PARTITIONS_PER_CORE * cores, 4))}


@pytest.mark.parametrize("master", [None, "yarn", "k8s://https://k:443", "local-cluster[2,1,1024]"])
def test_cluster_masters_keep_sparks_defaults(master: str | None) -> None:
    assert local_defaults(master) == {}
