"""Playing a round with simulated agents (demo): contacts through :func:`log_contact`, so every
rule applies, and the won-back customers' return purchases as orders.

Simulated orders are recognisable by their key prefix ``SIM-`` and channel ``simulated``;
simulated contacts carry ``simulated=True`` in the contact log and the attempts.
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.db import transaction

from winback.app.contacts.offer_budget import OfferOverBudget
from winback.app.contacts.service import ContactNotAllowed, StaleWrite, log_contact
from winback.app.settings.profile import current_profile
from winback.programme.menus import OfferMenu
from winback.simulate.agents import return_orders, simulate_contacts
from winback.store.accounts.models import User
from winback.store.customers.models import Category, Customer, Order, OrderLine
from winback.store.programme.models import CallTask, Round
from winback.store.queries import rounds as rounds_store

SIMULATED_CHANNEL = "simulated"
CALL_HOUR = time(10, 0)


def round_tasks(rnd: Round) -> pl.DataFrame:
    """The round's open tasks with what the simulation needs (first offer, usual basket)."""
    frame = rounds_store.open_tasks_with_ticket(round_id=rnd.pk, ticket_before=rnd.round_start)
    firsts = [
        (pk, OfferMenu.from_json(menu).first)
        for pk, menu in CallTask.objects.filter(round=rnd).values_list("pk", "offer_menu")
    ]
    first_offer = [
        (pk, o.code if o else None, (o.category or None) if o else None) for pk, o in firsts
    ]
    offers = pl.DataFrame(
        first_offer,
        schema={"task_id": pl.Int64(), "offer_code": pl.String(), "category_code": pl.String()},
        orient="row",
    )
    return frame.join(offers, on="task_id", how="left")


def simulate_round_contacts(rnd: Round, ground_truth_path: Path, seed: int) -> dict[str, Any]:
    """Simulate the agents' calls of ``rnd`` and the return purchases they bring."""
    truth = pl.read_parquet(ground_truth_path)
    tasks = round_tasks(rnd)
    contacts = simulate_contacts(tasks, truth, seed=seed)
    tz = ZoneInfo(current_profile().time_zone)
    agents = {u.pk: u for u in User.objects.filter(call_tasks__round=rnd).distinct()}
    task_agent = dict(CallTask.objects.filter(round=rnd).values_list("pk", "agent_id"))
    logged, refused_by_rules = 0, 0
    won: set[int] = set()
    # Each contact goes through the service, one transaction each, as an agent's would.
    for row in contacts.iter_rows(named=True):
        task = CallTask.objects.only("version").get(pk=row["task_id"])
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
                log_contact(row["task_id"], offer_code=row["offer_code"] or "", **contact)
            except OfferOverBudget:  # the round's offer budget is spent: no offer granted
                log_contact(row["task_id"], offer_code="", **contact)
        except (ContactNotAllowed, StaleWrite):
            refused_by_rules += 1
            continue
        logged += 1
        if row["won_back"]:
            won.add(row["task_id"])
    accepted = contacts.filter(pl.col("task_id").is_in(list(won)))
    orders = return_orders(accepted, tasks, truth, round_start=rnd.round_start, seed=seed + 1)
    inserted = insert_orders(rnd, orders, tz)
    return {
        "round_id": rnd.pk,
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
