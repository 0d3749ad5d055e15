"""The analysis's thread pools: sized to the CPUs the process may use, capped for the fits."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from winback.analytics import threads
from winback.analytics.features import _duckdb


def _blas_threads() -> set[int]:
    np.ones(4) @ np.ones(4)  # NumPy's BLAS is loaded
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_usable_cpus_never_exceed_the_affinity() -> None:
    assert 1 <= threads.usable_cpus() <= len(os.sched_getaffinity(0))


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(threads.THREADS_ENV, raising=False)
    monkeypatch.delenv(threads.FIT_THREADS_ENV, raising=False)
    assert threads.analysis_threads() == threads.usable_cpus()
    assert threads.fit_threads() == 1


def test_settings_override_and_the_fits_never_exceed_the_analysis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(threads.THREADS_ENV, "3")
    monkeypatch.setenv(threads.FIT_THREADS_ENV, "8")
    assert threads.analysis_threads() == 3
    assert threads.fit_threads() == 3


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_a_bad_setting_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(threads.THREADS_ENV, bad)
    with pytest.raises(ValueError, match=threads.THREADS_ENV):
        threads.analysis_threads()


def test_the_fit_pools_run_one_blas_thread_and_are_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(threads.FIT_THREADS_ENV, raising=False)
    monkeypatch.setenv(threads.THREADS_ENV, "2")
    before = _blas_threads()
    assert before  # NumPy's OpenBLAS is there to limit
    with threads.analysis_pools():
        assert _blas_threads() == {2}
        with threads.fit_pools():
            assert _blas_threads() == {1}
        assert _blas_threads() == {2}
    assert _blas_threads() == before


def test_duckdb_gets_the_analysis_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.THREADS_ENV, "1")
    connection = _duckdb()
    try:
        assert connection.execute("SELECT current_setting('threads')").fetchone() == (1,)
    finally:
        connection.close()


def test_the_setting_reaches_polars_when_winback_is_imported_first() -> None:
    code = "import winback, polars; print(polars.thread_pool_size())"
    env = {k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"}
    env |= {threads.THREADS_ENV: "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "1", done.stderr


def test_parts_run_side_by_side_unless_the_analysis_has_one_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    def where() -> str:
        return threading.current_thread().name

    monkeypatch.setenv(threads.THREADS_ENV, "2")
    with threads.side_by_side(2) as pool:
        assert pool.submit(where).result() != threading.current_thread().name
    monkeypatch.setenv(threads.THREADS_ENV, "1")
    with threads.side_by_side(2) as pool:
        assert isinstance(pool, threads.InCaller)
        order: list[int] = []
        first = pool.submit(order.append, 1)
        assert order == [1]  # ran when submitted, in this thread
        assert pool.submit(where).result() == threading.current_thread().name
        assert first.result() is None
        failing = pool.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            failing.result()
