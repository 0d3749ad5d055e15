"""One customer's analysis row reads the same in the API, on the workbench sheet, in the
score export and in the customer-list export: same columns, one rounding rule."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories.workbench import AS_OF, build_world
from winback.app.accounts.tokens import issue_token
from winback.app.analysis.service import export_scores
from winback.app.customers.export import export_customers
from winback.app.customers.pages import CustomerFilters
from winback.schema import SCORE_COLUMNS, SCORE_DECIMALS
from winback.store.analysis.models import CustomerSnapshot
from winback.store.export import COLUMNS

# Values on a rounding tie (x.xx5) or with more decimals than shown: Python's round() and the
# frame rounding disagree on several of them (71.325 -> 71.33 vs 71.32), and raw values differ
# from rounded ones, so any second rule or a missing one shows.
AWKWARD = {
    "churn_score": 71.325,
    "churn_probability": 0.71325,
    "p_alive": 0.123456789,
    "expected_purchases_365": 2.00005,
    "clv_365": 1234.565,
    "value_index": 0.98765,
    "expected_interval_days": 36.25,
}


@pytest.mark.django_db(transaction=True)
def test_api_sheet_and_exports_show_the_same_values(tmp_path: Path) -> None:
    world = build_world()
    CustomerSnapshot.objects.filter(customer=world.mine, as_of=AS_OF).update(**AWKWARD)

    # The score export (what `winback export` writes).
    export_scores(AS_OF, "csv", tmp_path / "scores.csv")
    text = (tmp_path / "scores.csv").read_text(encoding="utf-8-sig")
    exported = next(r for r in csv.DictReader(io.StringIO(text)) if r["customer_id"] == "C-MINE")
    assert tuple(exported) == COLUMNS == tuple(c.name for c in SCORE_COLUMNS)
    shown = {c: float(exported[c]) for c in SCORE_DECIMALS}
    assert shown != AWKWARD  # rounded, not raw

    # The API: the customer's scores, the score list and the customer's detail.
    secret = issue_token(world.supervisor, name="t").secret
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    history = api.get(f"/api/customers/{world.mine.pk}/scores").json()["items"][0]
    listed = next(
        r for r in api.get("/api/scores").json()["items"] if r["customer_external_id"] == "C-MINE"
    )
    latest = api.get(f"/api/customers/{world.mine.pk}").json()["latest"]
    for row in (history, listed, latest):
        assert {c: row[c] for c in SCORE_DECIMALS} == shown

    # The workbench sheet.
    sheet = Client()
    sheet.force_login(world.supervisor)
    html = sheet.get(reverse("customer", args=[world.mine.pk])).content.decode()
    found = re.search(r'data-field="churn_score">([^<]+)<', html)
    assert found is not None
    assert float(found.group(1)) == shown["churn_score"]

    # The supervisors' customer-list export.
    listed_file = export_customers(world.supervisor, CustomerFilters(q="MINE"), "csv")
    rows = list(csv.reader(io.StringIO(listed_file.content.decode("utf-8-sig"))))
    header, mine = rows[0], rows[1]
    score_column = next(i for i, h in enumerate(header) if "churn" in h.lower() or "流失" in h)
    assert float(mine[score_column]) == shown["churn_score"]
