"""Work done one step ahead in a worker thread while the caller uses the previous result.

An import writes a chunk on the database connection while the next chunk is hashed and
converted (Polars, DuckDB and the database driver release the interpreter lock, so the two
really run at once). Everything that writes stays in the caller, on its connection and in its
transaction; a worker that reads stored rows does so on its own connection, and ``on_exit``
(run in the worker thread when it ends) closes it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import TypeVar, cast

A = TypeVar("A")
B = TypeVar("B")

_POLL_SECONDS = 0.05


class _Done:
    """Marks the end of the results."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def ahead(
    items: Iterable[A],
    work: Callable[[A], B],
    depth: int = 1,
    on_exit: Callable[[], None] | None = None,
) -> Generator[B, None, None]:
    """``work(item)`` for every item, in order, computed by a worker thread at most ``depth``
    results ahead of the consumer (plus the one it is computing).

    An exception raised by ``work`` is raised here, at that item's place: the results before
    it are handed over first. Closing the iterator early (the consumer failed or stopped)
    stops the worker after the item it is computing and waits for it. ``on_exit`` runs in the
    worker thread however it ends; an exception it raises is raised here after the results.
    """
    results: queue.Queue[object] = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def hand_over(value: object) -> bool:
        while not stop.is_set():
            try:
                results.put(value, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        ending: _Done | _Failed = _Done()
        try:
            for item in items:
                if stop.is_set() or not hand_over(work(item)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            ending = _Failed(exc)
        finally:
            if on_exit is not None:
                try:
                    on_exit()
                except BaseException as exc:
                    if isinstance(ending, _Done):
                        ending = _Failed(exc)
        hand_over(ending)

    worker = threading.Thread(target=run, name="winback-import-ahead", daemon=True)
    worker.start()
    try:
        while True:
            value = results.get()
            if isinstance(value, _Done):
                return
            if isinstance(value, _Failed):
                raise value.error
            yield cast(B, value)
    finally:
        stop.set()
        worker.join()
