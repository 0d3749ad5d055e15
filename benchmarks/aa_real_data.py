"""A/A check on real purchase history: how often does the verdict say `continue` by chance?

The CDNOW purchase history (Fader & Hardie; customers who first bought in 1997 Q1, bought
until June 1998) was recorded long before this programme existed: nothing it does can have
changed these purchases. So planned rounds whose treated customers were never contacted have
no true effect, and a verdict of `continue` is a false alarm.

The real path runs: the analysis at each month end (``winback.analytics.pipeline.analyze``,
only data up to that day), the pure round planner each month (``plan_round``: pool,
exclusions, priority, the stratified holdout, with this seed), each round's outcomes at its
pre-registered horizon (``round_outcomes``), the per-round estimate with the pre-period
covariates (``winback.reporting.metrics.round_estimate_row``) and the programme verdict after
each month on the rounds matured by then (``winback.reporting.metrics.verdict``), exactly as
the monthly report reads them. No contact is logged, so the cost is zero: the verdict says
`continue` as soon as the lower bound of the incremental margin is above zero, the least
favourable case for a false alarm.

Prints the share of seeds whose verdict is ever `continue` over the year of monthly looks
(target: at most the nominal 5%) with its Monte-Carlo standard error, and the share of looks.

    .venv/bin/python benchmarks/aa_real_data.py [--seeds 200] [--data master|sample]

``--data master`` (default) reads CDNOW_master.txt (23,570 customers) from the ``lifetimes``
wheel, downloaded into a temporary folder with ``pip download lifetimes --no-deps`` (never
installed); ``--data sample`` reads tests/data/cdnow_sample.txt (2,357 customers).
"""

from __future__ import annotations

import argparse
import io
import math
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from winback.analytics.frames import (
    CONTACTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    AnalyticsFrames,
    empty,
)
from winback.analytics.pipeline import analyze
from winback.config import preset
from winback.periods import month_end, shift_month
from winback.programme.attribution import round_outcomes
from winback.programme.rounds import RoundConfig, RoundInputs, plan_round
from winback.reporting.metrics import ROUND_ESTIMATE_COLUMNS, round_estimate_row, verdict

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "cdnow_sample.txt"
FIRST_ROUND = date(1997, 7, 1)  # half a year of history before the first round
LAST_DAY = date(1998, 6, 30)  # the last purchase recorded
HORIZON = 90  # the pre-registered primary horizon (came back within +90 days)
PRE_DAYS = 90  # pre-period of the covariates: the 90 days before the round starts


def read_cdnow(text: str) -> pl.DataFrame:
    """Orders from the CDNOW text formats: the sample (customer id, sample id, YYYYMMDD, CDs,
    dollars) and the master (a header, then customer id, YYYYMMDD, CDs, dollars)."""
    header = text.lstrip().startswith("customer_id")
    columns = (0, 1, 3) if header else (0, 2, 4)
    raw = np.loadtxt(io.StringIO(text), usecols=columns, skiprows=1 if header else 0)
    return pl.DataFrame(
        {
            "order_pk": np.arange(1, raw.shape[0] + 1, dtype=np.int64),
            "customer_pk": raw[:, 0].astype(np.int64),
            "order_date": raw[:, 1].astype(np.int64).astype(str),
            "amount_cents": np.round(raw[:, 2] * 100).astype(np.int64),
            "coupon_code": None,
        }
    ).with_columns(pl.col("order_date").str.to_date("%Y%m%d"))


def master_text() -> str:
    """CDNOW_master.txt from the ``lifetimes`` wheel (downloaded, not installed)."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "lifetimes", "--no-deps", "-d", folder, "-q"],
            check=True,
        )
        wheel = next(
            p for p in Path(folder).glob("*.whl") if p.name.lower().startswith("lifetimes-")
        )
        with zipfile.ZipFile(wheel) as zf:
            name = next(n for n in zf.namelist() if n.endswith("CDNOW_master.txt"))
            return zf.read(name).decode("ascii")


def frames_for(orders: pl.DataFrame) -> AnalyticsFrames:
    keys = orders["customer_pk"].unique().sort()
    customers = pl.DataFrame({"customer_pk": keys}).with_columns(
        external_id=pl.col("customer_pk").cast(pl.String),
        join_date=None,
        birthday=None,
        store_code=None,
        is_stub=False,
        consent_marketing=True,
        do_not_contact=False,
    )
    return AnalyticsFrames(
        customers.select([pl.col(c).cast(t) for c, t in CUSTOMERS.items()]),
        orders.select([pl.col(c).cast(t) for c, t in ORDERS.items()]),
        empty(ORDER_LINES),
        empty(EVENTS),
        empty(CONTACTS),
    )


def round_starts() -> list[date]:
    """Monthly rounds whose primary horizon closes by the last recorded day."""
    starts, start = [], FIRST_ROUND
    while start + timedelta(days=HORIZON) <= LAST_DAY + timedelta(days=1):
        starts.append(start)
        start = shift_month(start, 1)
    return starts


@dataclass(frozen=True)
class World:
    """What every seed shares: the orders, the analyses at each month end, the agents."""

    orders: pl.DataFrame
    snapshots: dict[date, pl.DataFrame]  # round start -> the analysis of the day before
    customers: pl.DataFrame
    agents: pl.DataFrame
    pre_period: dict[date, pl.DataFrame]  # round start -> pre-period spend and visits


def build_world(orders: pl.DataFrame, *, agents: int, daily_capacity: int) -> World:
    frames = frames_for(orders)
    profile = preset("retail")
    snapshots, pre = {}, {}
    for start in round_starts():
        as_of = start - timedelta(days=1)  # the month-end analysis before the round
        snapshots[start] = analyze(frames, profile, as_of).scores
        pre[start] = pre_period(orders, start)
    customers = frames.customers.select("customer_pk", "do_not_contact", "consent_marketing")
    team = pl.DataFrame(
        {
            "agent_id": np.arange(1, agents + 1, dtype=np.int64),
            "seniority": np.full(agents, 3, dtype=np.int64),
            "daily_capacity": np.full(agents, daily_capacity, dtype=np.int64),
        }
    )
    return World(orders, snapshots, customers, team, pre)


def pre_period(orders: pl.DataFrame, start: date) -> pl.DataFrame:
    """Spend and purchase days in the ``PRE_DAYS`` before ``start`` (what the store query
    ``winback.store.queries.rounds.pre_period`` reads from the database)."""
    window = orders.filter(
        pl.col("order_date").is_between(start - timedelta(days=PRE_DAYS), start - timedelta(days=1))
    )
    return window.group_by("customer_pk").agg(
        pre_spend=pl.col("amount_cents").sum().cast(pl.Float64) / 100.0,
        pre_visits=pl.col("order_date")
        .filter(pl.col("amount_cents") > 0)
        .n_unique()
        .cast(pl.Float64),
    )


def one_programme(
    world: World,
    seed: int,
    gross_margin: float,
    sizes: list[tuple[int, int]] | None = None,
    boost: float = 0.0,
) -> list[str]:
    """The verdict after each monthly look of one simulated programme (one planner seed);
    each round's (treated, control) sizes are appended to ``sizes`` when given. ``boost``
    multiplies the treated customers' spend by ``1 + boost`` (a known effect, to check that
    the check can see one; 0 for the A/A)."""
    memberships = pl.DataFrame(
        schema={
            "customer_pk": pl.Int64(),
            "round_id": pl.String(),
            "starts": pl.Date(),
            "ends": pl.Date(),
            "arm": pl.String(),
            "returned": pl.Boolean(),
        }
    )
    estimates: list[dict[str, Any]] = []
    starts = round_starts()
    for k, start in enumerate(starts):
        end = month_end(start)
        known = memberships.with_columns(
            returned=pl.when(pl.col("starts") + pl.duration(days=HORIZON) <= pl.lit(start))
            .then(pl.col("returned"))
            .otherwise(None)
        )
        inputs = RoundInputs(
            snapshot=world.snapshots[start],
            customers=world.customers,
            agents=world.agents,
            memberships=known,
        )
        config = RoundConfig(round_start=start, round_end=end)
        plan = plan_round(inputs, config, as_of=start, seed=seed * 100 + k)
        arms = plan.members.select("customer_pk", "arm")
        outcomes = round_outcomes(
            arms, round_start=start, orders=world.orders, horizons=(HORIZON,)
        ).with_columns(
            spend=pl.when(pl.col("arm") == "treated")
            .then(pl.col("spend") * (1.0 + boost))
            .otherwise(pl.col("spend"))
        )
        row = round_estimate_row(
            outcomes.join(world.pre_period[start], on="customer_pk", how="left").with_columns(
                pl.col("pre_spend").fill_null(0.0), pl.col("pre_visits").fill_null(0.0)
            ),
            round_id=k + 1,
            month=f"{start:%Y-%m}",
            horizon=HORIZON,
            matured_on=start + timedelta(days=HORIZON - 1),
            matured=True,  # set per look below
            cost=0.0,  # nothing was done: no agent time, no offer
            gross_margin=gross_margin,
            seed=seed * 100 + k,
        )
        estimates.append(row)
        if sizes is not None:
            sizes.append((int(row["n_treated"]), int(row["n_control"])))
        came_back = outcomes.select("customer_pk", returned="came_back")
        memberships = pl.concat(
            [
                memberships,
                arms.join(came_back, on="customer_pk", how="left").select(
                    "customer_pk",
                    round_id=pl.lit(str(k + 1)),
                    starts=pl.lit(start),
                    ends=pl.lit(end),
                    arm="arm",
                    returned="returned",
                ),
            ]
        )
    table = pl.DataFrame(estimates, schema=ROUND_ESTIMATE_COLUMNS)
    decisions = []
    look = shift_month(starts[0], 3)
    while look <= shift_month(LAST_DAY, 1):
        day = look - timedelta(days=1)  # each month end
        seen = table.with_columns(matured=pl.col("matured_on") <= day)
        decisions.append(str(verdict(seen)["decision"]))
        look = shift_month(look, 1)
    return decisions


@dataclass(frozen=True)
class AAResult:
    seeds: int
    looks: int
    ever_continue: float  # share of seeds whose verdict is ever `continue`
    mc_error: float  # its Monte-Carlo standard error
    look_continue: float  # share of all looks that say `continue`
    ever_stop: float
    decisions: dict[str, int]
    seconds: float
    treated_per_round: float
    control_per_round: float

    @property
    def upper_95(self) -> float:
        """One-sided 95% Wilson upper bound of the true share of seeds ever `continue`."""
        n, p, z = self.seeds, self.ever_continue, 1.644854
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre + half


def aa_check(
    world: World, seeds: list[int], gross_margin: float = 0.35, boost: float = 0.0
) -> AAResult:
    began = time.perf_counter()
    sizes: list[tuple[int, int]] = []
    runs = [one_programme(world, seed, gross_margin, sizes, boost) for seed in seeds]
    ever = np.array([("continue" in r) for r in runs], dtype=np.float64)
    flat = [d for r in runs for d in r]
    share = float(ever.mean())
    return AAResult(
        seeds=len(seeds),
        looks=len(runs[0]) if runs else 0,
        ever_continue=share,
        # Binomial standard error at the nominal 5% (at the observed share it is 0 when no
        # seed says `continue`, which would overstate the precision).
        mc_error=math.sqrt(max(share * (1 - share), 0.05 * 0.95) / max(len(seeds), 1)),
        look_continue=flat.count("continue") / len(flat) if flat else 0.0,
        ever_stop=float(np.mean([("stop" in r) for r in runs])) if runs else 0.0,
        decisions={d: flat.count(d) for d in sorted(set(flat))},
        seconds=time.perf_counter() - began,
        treated_per_round=float(np.mean([t for t, _ in sizes])) if sizes else 0.0,
        control_per_round=float(np.mean([c for _, c in sizes])) if sizes else 0.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--data", choices=("master", "sample"), default="master")
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=20, help="customers per agent-day")
    parser.add_argument(
        "--boost",
        type=float,
        default=0.0,
        help="multiply treated spend by 1 + BOOST (a known effect; 0 = the A/A check)",
    )
    args = parser.parse_args()
    text = master_text() if args.data == "master" else SAMPLE.read_text(encoding="ascii")
    orders = read_cdnow(text)
    began = time.perf_counter()
    world = build_world(orders, agents=args.agents, daily_capacity=args.capacity)
    built = time.perf_counter() - began
    sizes = [s.height for s in world.snapshots.values()]
    print(
        f"data                      CDNOW {args.data}: {orders['customer_pk'].n_unique():,} "
        f"customers, {orders.height:,} orders"
    )
    print(
        f"rounds                    {len(round_starts())} monthly, {round_starts()[0]} .. "
        f"{round_starts()[-1]}, read at +{HORIZON} days"
    )
    print(f"analyses                  {len(sizes)} month ends, {built:.1f} s")
    result = aa_check(world, list(range(1, args.seeds + 1)), boost=args.boost)
    print(f"treated spend boost       {args.boost:+.0%}")
    print(
        f"customers per round       {result.treated_per_round:,.0f} treated, "
        f"{result.control_per_round:,.0f} control (mean)"
    )
    print(f"seeds                     {result.seeds}")
    print(f"monthly looks per seed    {result.looks}")
    print(
        f"ever `continue`           {result.ever_continue:.1%} of seeds "
        f"(Monte-Carlo s.e. {result.mc_error:.1%} at 5%; one-sided 95% upper bound "
        f"{result.upper_95:.1%}" + ("; target <= 5%)" if args.boost == 0 else ")")
    )
    print(f"ever `stop`               {result.ever_stop:.1%} of seeds")
    print(f"`continue` per look       {result.look_continue:.2%}")
    print(f"decisions over all looks  {result.decisions}")
    print(f"wall time                 {result.seconds:.1f} s")


if __name__ == "__main__":
    main()
