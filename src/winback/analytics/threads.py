"""Thread pools of the analysis, sized to the machine (docs/configuration.md, decision 0044).

Three kinds of native pool run inside an analysis: the feature engine's (DuckDB), the BLAS
library's (OpenBLAS under NumPy and SciPy) and any OpenMP runtime. Left alone, DuckDB and
OpenBLAS size themselves to the host's cores, not to the CPUs this process may use (its CPU
affinity, a container's CPU quota), and OpenBLAS wakes every worker for each small
matrix-vector product of the likelihood fits: on a shared 2-core machine the pools
oversubscribe the cores and the fits spend their time waking threads.

- ``WINBACK_THREADS``: threads of the feature engine and of the BLAS/OpenMP pools during the
  analysis; default: the CPUs this process may use.
- ``WINBACK_FIT_THREADS``: BLAS/OpenMP threads during the likelihood fits (BTYD, churn
  weights); default 1. The fits' products are one vector against at most a few hundred
  thousand rows of a few dozen columns: a worker thread costs more to wake than it saves.

Independent parts of one analysis (a training origin's feature query beside another
origin's model fit, the scoring date's fits beside the training) run side by side in Python
threads (:func:`side_by_side`, decision 0052): each part is NumPy, SciPy or Polars work that
releases the interpreter lock. With ``WINBACK_THREADS=1`` they run one after the other, in
the calling thread. Either way each part computes the same thing on the same inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from threadpoolctl import threadpool_limits

THREADS_ENV = "WINBACK_THREADS"
FIT_THREADS_ENV = "WINBACK_FIT_THREADS"
FIT_THREADS_DEFAULT = 1
_CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_T = TypeVar("_T")


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup v2 CPU quota."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = _CGROUP_CPU_MAX.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of threads, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def analysis_threads() -> int:
    """Threads of the feature engine and of the native pools during an analysis."""
    return _setting(THREADS_ENV, usable_cpus())


def fit_threads() -> int:
    """BLAS/OpenMP threads during the likelihood fits (never more than ``analysis_threads``)."""
    return min(_setting(FIT_THREADS_ENV, FIT_THREADS_DEFAULT), analysis_threads())


@contextmanager
def analysis_pools() -> Iterator[None]:
    """BLAS/OpenMP pools capped at :func:`analysis_threads` for the duration."""
    with threadpool_limits(limits=analysis_threads()):
        yield


@contextmanager
def fit_pools() -> Iterator[None]:
    """BLAS/OpenMP pools capped at :func:`fit_threads` for the duration (a likelihood fit)."""
    with threadpool_limits(limits=fit_threads()):
        yield


class InCaller(Executor):
    """An executor that runs each task when it is submitted, in the calling thread: the
    parts of the work in the order they are asked for."""

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # handed to whoever asks for the result, as a pool does
            future.set_exception(error)
        return future


def side_by_side(workers: int) -> Executor:
    """Threads for ``workers`` independent parts of an analysis, or, with one analysis thread
    (``WINBACK_THREADS=1``), an executor that runs each part in the caller."""
    if analysis_threads() <= 1:
        return InCaller()
    return ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="winback-part")
