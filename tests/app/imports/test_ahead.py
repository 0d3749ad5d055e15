"""Work done one step ahead in a worker thread (``winback.app.imports.ahead``)."""

from __future__ import annotations

import contextlib
import threading

import pytest

from winback.app.imports.ahead import ahead


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "winback-import-ahead"]


def test_every_result_arrives_in_order() -> None:
    assert list(ahead(range(50), lambda i: i * i)) == [i * i for i in range(50)]
    assert list(ahead([], lambda i: i)) == []
    assert _workers() == []


def test_an_error_in_the_worker_is_raised_at_its_item_after_the_results_before_it() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("item 3 is broken")
        return i

    received: list[int] = []

    def consume() -> None:
        received.extend(ahead(range(10), work))

    with pytest.raises(ValueError, match="item 3 is broken"):
        consume()
    assert received == [0, 1, 2]
    assert _workers() == []


def test_the_worker_runs_at_most_one_result_ahead_and_stops_when_the_consumer_does() -> None:
    started: list[int] = []
    third = threading.Event()

    def work(i: int) -> int:
        started.append(i)
        if i == 2:
            third.set()
        return i

    with contextlib.closing(ahead(range(100), work)) as results:
        assert next(results) == 0
        assert third.wait(10)
        # 0 handed over, 1 waiting in the queue, 2 computed: the worker can go no further
        # until 1 is taken, which never happens.
    assert started == [0, 1, 2]
    assert _workers() == []


def test_a_consumer_that_fails_stops_the_worker() -> None:
    def consume() -> None:
        with contextlib.closing(ahead(range(100), str)) as results:
            for value in results:
                if value == "5":
                    raise RuntimeError("the write failed")

    with pytest.raises(RuntimeError):
        consume()
    assert _workers() == []


def test_work_really_runs_beside_the_consumer() -> None:
    """While the consumer waits for something only the worker's next item sets, the worker
    gets there: the two overlap (no timing involved)."""
    reached = threading.Event()

    def work(i: int) -> int:
        if i == 1:
            reached.set()
        return i

    with contextlib.closing(ahead(range(3), work)) as results:
        assert next(results) == 0
        assert reached.wait(10)  # item 1 is computed while item 0 is still being used


@pytest.mark.parametrize("how", ["all results taken", "work failed", "consumer stopped"])
def test_on_exit_runs_once_in_the_worker_thread_however_it_ends(how: str) -> None:
    """The worker's own resources (its database connection) are released in its thread."""
    exits: list[str] = []

    def work(i: int) -> int:
        if how == "work failed" and i == 2:
            raise ValueError("item 2 is broken")
        return i

    def on_exit() -> None:
        exits.append(threading.current_thread().name)

    with contextlib.closing(ahead(range(5), work, on_exit=on_exit)) as results:
        if how == "consumer stopped":
            assert next(results) == 0
        elif how == "work failed":
            with pytest.raises(ValueError, match="item 2 is broken"):
                list(results)
        else:
            assert list(results) == [0, 1, 2, 3, 4]
    assert exits == ["winback-import-ahead"]
    assert _workers() == []


def test_an_error_in_on_exit_is_raised_after_the_results() -> None:
    def on_exit() -> None:
        raise OSError("closing the connection failed")

    received: list[int] = []

    def consume() -> None:
        received.extend(ahead(range(3), lambda i: i, on_exit=on_exit))

    with pytest.raises(OSError, match="closing the connection failed"):
        consume()
    assert received == [0, 1, 2]
    assert _workers() == []
