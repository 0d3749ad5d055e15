"""Settings changed in the workbench take effect in the next analysis: hand-set indicator
weights replace the learned ones, and the early-warning rate changes how many are flagged."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

AS_OF = date(2024, 6, 30)
N = 200


def build() -> None:
    """Customers buying every 20-120 days since 2022; half of them stop at a random date."""
    from winback.app.settings.profile import set_profile
    from winback.store.customers.models import Customer, Order

    set_profile("aesthetics")
    rng = np.random.default_rng(5)
    Customer.objects.bulk_create([Customer(external_id=f"S-{i:04d}") for i in range(N)])
    ids = list(Customer.objects.order_by("external_id").values_list("pk", flat=True))
    orders = []
    first = date(2022, 1, 1)
    for i, pk in enumerate(ids):
        stop = first + timedelta(days=int(rng.integers(200, 1000)))
        day = first + timedelta(days=int(rng.integers(0, 120)))
        k = 0
        while day <= AS_OF and (i % 2 == 0 or day <= stop):
            orders.append(
                Order(
                    order_key=f"O-{pk}-{k}",
                    customer_id=pk,
                    ordered_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                    order_date=day,
                    amount_cents=int(rng.integers(2000, 20000)),
                )
            )
            day += timedelta(days=int(rng.integers(20, 120)))
            k += 1
    Order.objects.bulk_create(orders)


def _scores() -> dict[int, tuple[float, bool]]:
    from winback.store.analysis.models import CustomerSnapshot

    rows = CustomerSnapshot.objects.filter(as_of=AS_OF).values_list(
        "customer_id", "churn_probability", "early_warning"
    )
    return {pk: (float(p or 0.0), bool(w)) for pk, p, w in rows}


@pytest.mark.slow  # three analyses of a small store
@pytest.mark.django_db(transaction=True)
def test_weights_and_the_early_warning_rate_set_in_settings_change_the_next_analysis() -> None:
    from tests.factories.workbench import user
    from winback.app.analysis.service import analyze
    from winback.app.settings import service as svc
    from winback.app.settings.profile import current_profile
    from winback.store.accounts.models import Role

    build()
    admin = user("boss", Role.ADMIN)
    first = analyze(AS_OF)
    learned = dict(first.weights)
    assert first.params["model"]["weights_source"] in ("learned", "default")
    before = _scores()

    svc.save_indicator_weights(admin, {"long_silence": 0.0, "late_vs_rhythm": 5.0})
    second = analyze(AS_OF)
    assert second.params["model"]["weights_source"].endswith("+caller")
    assert second.weights["late_vs_rhythm"] == 5.0
    assert second.weights["long_silence"] == 0.0
    assert second.weights != learned
    after = _scores()
    assert any(abs(after[pk][0] - before[pk][0]) > 1e-6 for pk in before)

    flagged = sum(w for _, w in after.values())
    svc.update_profile(
        admin, {"early_warning_share": min(1.0, current_profile().early_warning_share * 3)}
    )
    analyze(AS_OF)
    more = sum(w for _, w in _scores().values())
    assert more > flagged
