"""Sign-in throttling: the issue's attack replayed, and what throttling costs per sign-in.

Prints figures; asserts nothing. A fresh SQLite database in a temporary folder, one user with
the production password hasher (Argon2), Django's test client posting the workbench sign-in
form: ``--attempts`` wrong passwords from one address, then the right one; then the time of a
wrong password (checked), of a refused one (locked) and of a good sign-in.

    WINBACK_SIGNIN_THROTTLE=true .venv/bin/python benchmarks/signin_bench.py [--attempts 200]
    WINBACK_SIGNIN_THROTTLE=false .venv/bin/python benchmarks/signin_bench.py  # for comparison
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

PASSWORD = "a-long-benchmark-password-42"  # noqa: S105 - a throwaway account


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="winback-signin-")
    os.environ["WINBACK_DATA_DIR"] = folder
    os.environ["WINBACK_DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "winback.web.settings")
    from winback.store.bootstrap import setup

    setup()
    from django.conf import settings
    from django.test import Client

    from winback.store.accounts.models import Role, User

    for name in ("clerk", "cashier"):  # the attacked account, and one that signs in
        user = User(username=name, role=Role.AGENT)
        user.set_password(PASSWORD)
        user.save()

    def post(client: Client, password: str, username: str = "clerk") -> tuple[int, float]:
        start = time.perf_counter()
        response = client.post("/login/", {"username": username, "password": password})
        return response.status_code, time.perf_counter() - start

    print(f"throttling on: {settings.AXES_ENABLED}; limit {settings.AXES_FAILURE_LIMIT}")
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    started = time.perf_counter()
    answers = [post(attacker, f"guess-{i}")[0] for i in range(args.attempts)]
    elapsed = time.perf_counter() - started
    checked = answers.count(200)
    refused = answers.count(429)
    final, _ = post(attacker, PASSWORD)
    print(
        f"{args.attempts} wrong passwords from one address in {elapsed:.1f} s: "
        f"{checked} checked, {refused} refused unchecked; then the right one: HTTP {final} "
        f"({'signed in' if final == 302 else 'refused'})"
    )

    def median_ms(samples: list[float]) -> str:
        return f"{statistics.median(samples) * 1000:.0f} ms"

    # unknown names from fresh addresses: checked, never locked (Django still runs the hasher)
    wrong = [
        post(Client(REMOTE_ADDR=f"198.51.100.{i % 250}"), "nope", f"u{i}")[1]
        for i in range(args.repeat)
    ]
    # a fresh client each time: the attacker's own may be signed in (throttling off)
    locked = [post(Client(REMOTE_ADDR="203.0.113.7"), "nope")[1] for _ in range(args.repeat)]
    good = []
    for i in range(args.repeat):
        status, seconds = post(Client(REMOTE_ADDR=f"192.0.2.{i % 250}"), PASSWORD, "cashier")
        good.append(seconds)
        if status != 302:
            print(f"good sign-in answered {status}")
            break
    print(
        f"median per POST: wrong password {median_ms(wrong)}, the attacked name again "
        f"{median_ms(locked)}, good sign-in {median_ms(good)} (n={args.repeat})"
    )


if __name__ == "__main__":
    main()
