"""Playing a round with simulated agents (demo): contacts through :func:`log_contact`, so every
rule applies, and the won-back customers' return purchases as orders.

Simulated orders are recognisable by their key prefix ``SIM-`` and channel ``simulated``;
simulated contacts carry ``simulated=True`` in the contact log and the attempts.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.db import transaction

from winback.app.contacts.offer_budget import OfferOverBudget
from winback.app.contacts.service import ContactNotAllowed, StaleWrite, log_contact
from winback.app.settings.profile import current_profile
from winback.app.settings.rules import current_rules
from winback.programme.menus import OfferMenu
from winback.programme.offers import PRICE_KINDS
from winback.simulate.agents import (
    WINDOW_DAYS,
    return_orders,
    simulate_contacts,
    truth_response,
)
from winback.store.accounts.models import User
from winback.store.customers.models import Category, Customer, Order, OrderLine
from winback.store.programme.models import CallTask, Round
from winback.store.queries import rounds as rounds_store

SIMULATED_CHANNEL = "simulated"
CALL_HOUR = time(10, 0)


def round_tasks(rnd: Round) -> pl.DataFrame:
    """The round's open tasks with what the simulation needs: the first offer (its category and
    whether it is a price offer), the usual basket, and what the customer's true response
    depends on at the round's planning snapshot (days since the last purchase, expected
    interval, P(alive)) with whether the customer comes back within the window anyway."""
    frame = rounds_store.open_tasks_with_ticket(round_id=rnd.pk, ticket_before=rnd.round_start)
    inputs = rounds_store.open_task_response_inputs(
        round_id=rnd.pk,
        snapshot_as_of=rnd.snapshot_as_of or rnd.as_of,
        start=rnd.round_start,
        end=rnd.round_start + timedelta(days=WINDOW_DAYS - 1),
        skip_channel=SIMULATED_CHANNEL,
    )
    firsts = [
        (pk, OfferMenu.from_json(menu).first)
        for pk, menu in CallTask.objects.filter(round=rnd).values_list("pk", "offer_menu")
    ]
    offers = pl.DataFrame(
        [
            (pk, o.code, o.category or None, o.kind or None) if o else (pk, None, None, None)
            for pk, o in firsts
        ],
        schema={
            "task_id": pl.Int64(),
            "offer_code": pl.String(),
            "category_code": pl.String(),
            "_kind": pl.String(),
        },
        orient="row",
    )
    # Whether the first offer is a price offer: its recorded kind, else the catalogue's.
    catalogue_price = {o.code: o.is_price for o in current_rules().catalogue.offers}
    offers = offers.with_columns(
        is_price=pl.when(pl.col("offer_code").is_null())
        .then(pl.lit(None, dtype=pl.Boolean))
        .when(pl.col("_kind").is_not_null())
        .then(pl.col("_kind").is_in(list(PRICE_KINDS)))
        .otherwise(
            pl.col("offer_code").replace_strict(
                catalogue_price, default=False, return_dtype=pl.Boolean
            )
        )
    ).drop("_kind")
    return frame.join(offers, on="task_id", how="left").join(inputs, on="task_id", how="left")


def simulate_round_contacts(
    rnd: Round, ground_truth_path: Path, seed: int, *, response: str | None = None
) -> dict[str, Any]:
    """Simulate the agents' calls of ``rnd`` and the return purchases they bring.

    ``response`` is the response level (``realistic`` or ``large``); None uses the generated
    world's (recorded in its ground truth)."""
    truth = pl.read_parquet(ground_truth_path)
    level = truth_response(truth, response)
    tasks = round_tasks(rnd)
    contacts = simulate_contacts(tasks, truth, seed=seed, response=level)
    tz = ZoneInfo(current_profile().time_zone)
    agents = {u.pk: u for u in User.objects.filter(call_tasks__round=rnd).distinct()}
    task_agent = dict(CallTask.objects.filter(round=rnd).values_list("pk", "agent_id"))
    logged, refused_by_rules = 0, 0
    won: set[int] = set()
    # The offer presented is the first of the task's menu as it stands at that contact: a
    # reason found on an earlier contact may have re-planned it.
    presented: dict[int, tuple[str | None, str | None]] = {}
    # Each contact goes through the service, one transaction each, as an agent's would.
    for row in contacts.iter_rows(named=True):
        task = CallTask.objects.only("version", "offer_menu").get(pk=row["task_id"])
        offer_code = row["offer_code"]
        if offer_code is not None:
            first = task.menu.first
            offer_code = first.code if first else None
            presented[row["task_id"]] = (offer_code, (first.category or None) if first else None)
        contact = {
            "agent": agents.get(task_agent.get(row["task_id"]) or -1),
            "outcome": row["outcome"],
            "reason_code": row["reason_code"] or "",
            "promised_return_date": row["promised_return_date"],
            "expected_version": task.version,
            "occurred_at": datetime.combine(row["occurred_date"], CALL_HOUR, tzinfo=tz),
            "simulated": True,
        }
        try:
            try:
                log_contact(row["task_id"], offer_code=offer_code or "", **contact)
            except OfferOverBudget:  # the round's offer budget is spent: no offer granted
                log_contact(row["task_id"], offer_code="", **contact)
        except (ContactNotAllowed, StaleWrite):
            refused_by_rules += 1
            continue
        logged += 1
        if row["won_back"]:
            won.add(row["task_id"])
    made = pl.DataFrame(
        [(t, code, category) for t, (code, category) in presented.items()],
        schema={"task_id": pl.Int64(), "_offer": pl.String(), "_category": pl.String()},
        orient="row",
    )
    accepted = (
        contacts.filter(pl.col("task_id").is_in(list(won)))
        .join(made, on="task_id", how="left")
        .with_columns(offer_code=pl.when(pl.col("offer_code").is_not_null()).then("_offer"))
        .drop("_offer", "_category")
    )
    tasks = (
        tasks.join(made, on="task_id", how="left")
        .with_columns(
            category_code=pl.when(pl.col("_offer").is_not_null())
            .then("_category")
            .otherwise("category_code")
        )
        .drop("_offer", "_category")
    )
    orders = return_orders(accepted, tasks, truth, round_start=rnd.round_start, seed=seed + 1)
    inserted = insert_orders(rnd, orders, tz)
    return {
        "round_id": rnd.pk,
        "response": level,
        "tasks": tasks.height,
        "contacts": logged,
        "contacts_refused_by_rules": refused_by_rules,
        "won_back": len(won),
        "return_orders": inserted,
    }


def insert_orders(rnd: Round, orders: pl.DataFrame, tz: ZoneInfo) -> int:
    categories = dict(Category.objects.values_list("code", "pk"))
    store_of = dict(
        Customer.objects.filter(pk__in=orders["customer_pk"].to_list()).values_list(
            "pk", "store_id"
        )
    )
    rows = list(orders.iter_rows(named=True))
    new_orders = [
        Order(
            order_key=f"SIM-{rnd.pk}-{r['customer_pk']}-{r['seq']}",
            customer_id=r["customer_pk"],
            ordered_at=datetime.combine(r["order_date"], time(15, 0), tzinfo=tz),
            order_date=r["order_date"],
            store_id=store_of.get(r["customer_pk"]),
            channel=SIMULATED_CHANNEL,
            coupon_code=r["coupon_code"] or "",
            amount_cents=r["amount_cents"],
            row_hash="",
        )
        for r in rows
    ]
    with transaction.atomic():
        created = Order.objects.bulk_create(new_orders, batch_size=2000)
        if connectionless_ids(created):
            created = list(Order.objects.filter(order_key__in=[o.order_key for o in new_orders]))
        by_key = {o.order_key: o.pk for o in created}
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order_id=by_key[f"SIM-{rnd.pk}-{r['customer_pk']}-{r['seq']}"],
                    line_no=1,
                    category_id=categories.get(r["category_code"] or ""),
                    amount_cents=r["amount_cents"],
                )
                for r in rows
            ],
            batch_size=2000,
        )
    return len(new_orders)


def connectionless_ids(created: list[Order]) -> bool:
    """Whether the database did not hand back primary keys from the bulk insert."""
    return any(o.pk is None for o in created)
