"""Table names for the store's SQL, read from the models' metadata (``Model._meta.db_table``).

Every statement in the store names its tables through :func:`tables`, never as a literal, so a
model's table is spelled in one place (Django's) and a renamed table reaches every query. The
models are imported on first use, not when this module is: modules that build SQL are imported
by the CLI and the benchmarks before ``django.setup()``; their statements run only after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.db import models


@dataclass(frozen=True)
class Tables:
    """The database table of each model the store's SQL reads or writes."""

    user: str
    store: str
    category: str
    product: str
    customer: str
    order: str
    order_line: str
    event: str
    event_type: str
    contact_log: str
    snapshot: str
    round: str
    round_member: str
    call_task: str
    contact_attempt: str
    contact_review: str


def table(model: type[models.Model]) -> str:
    return str(model._meta.db_table)


@cache
def tables() -> Tables:
    """The table names (needs Django's app registry: call it when building a statement)."""
    from winback.store.accounts.models import User
    from winback.store.analysis.models import CustomerSnapshot
    from winback.store.customers.models import (
        Category,
        ContactLog,
        Customer,
        EngagementEvent,
        EventTypeDefinition,
        Order,
        OrderLine,
        Product,
        Store,
    )
    from winback.store.programme.models import (
        CallTask,
        ContactAttempt,
        ContactReview,
        Round,
        RoundMember,
    )

    return Tables(
        user=table(User),
        store=table(Store),
        category=table(Category),
        product=table(Product),
        customer=table(Customer),
        order=table(Order),
        order_line=table(OrderLine),
        event=table(EngagementEvent),
        event_type=table(EventTypeDefinition),
        contact_log=table(ContactLog),
        snapshot=table(CustomerSnapshot),
        round=table(Round),
        round_member=table(RoundMember),
        call_task=table(CallTask),
        contact_attempt=table(ContactAttempt),
        contact_review=table(ContactReview),
    )
