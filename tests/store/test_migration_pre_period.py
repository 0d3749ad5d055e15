"""Programme migration 0014 fills the pre-period figures of the rounds planned before it."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories.business import TZ

BEFORE = [("programme", "0011_care_task")]
AFTER = [("programme", "0014_member_pre_period")]


@pytest.mark.slow  # migrates the test database back and forth
@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_existing_rounds_from_their_orders() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    customer = old.get_model("customers", "Customer").objects.create(
        external_id="M1", name="m", phone="13600000001"
    )
    rnd = old.get_model("programme", "Round").objects.create(
        month=date(2024, 6, 1),
        seed=1,
        holdout_share=0.5,
        as_of=date(2024, 6, 1),
        round_start=date(2024, 6, 1),
        round_end=date(2024, 6, 30),
    )
    old.get_model("programme", "RoundMember").objects.create(
        round=rnd, customer=customer, arm="treated", stage="lost", priority_rank=1
    )
    order = old.get_model("customers", "Order")
    for key, day, cents in (("a", date(2024, 3, 3), 4_000), ("b", date(2024, 3, 2), 9_000)):
        order.objects.create(
            order_key=key,
            customer=customer,
            ordered_at=datetime.combine(day, time(12), tzinfo=TZ),
            order_date=day,
            amount_cents=cents,
        )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    member = new.get_model("programme", "RoundMember").objects.get()
    # 2024-03-03 is the first of the 90 days before June 1st; 2024-03-02 is not in them
    assert (member.pre_spend_cents, member.pre_visits) == (4_000, 1)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
