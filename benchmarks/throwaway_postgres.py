"""A throwaway PostgreSQL database for a benchmark: created, handed over, dropped.

    from throwaway_postgres import throwaway_database

    with throwaway_database() as url:   # None when the server is not reachable
        ...

The server is ``WINBACK_BENCH_PG`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
the database is named ``winback_bench_<random>`` and dropped (with its connections) however
the benchmark ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str | None:
    """The server's URL when it answers within 3 s, else None."""
    url = os.environ.get("WINBACK_BENCH_PG", DEFAULT_PG)
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return url
    except Exception:
        return None


@contextmanager
def throwaway_database() -> Iterator[str | None]:
    """The URL of a new empty database on the server, dropped afterwards; None when the
    server is not reachable (the caller says so and skips its PostgreSQL part)."""
    admin = admin_url()
    if admin is None:
        yield None
        return
    import psycopg

    name = f"winback_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
