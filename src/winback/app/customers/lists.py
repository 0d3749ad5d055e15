"""The supervisors' customer and early-warning lists: filters, sort, spend and value columns.

One query builder (:func:`list_rows`) serves the page, the export and the bulk actions, so
the rows a supervisor sees are the rows a bulk action or an export takes. A page costs a
fixed number of queries whatever the data size: the rows, the count, and one grouped query
for the page's spend.

* The customer list opens on scored customers by value at risk (predicted 12-month value x
  churn probability, highest first); prospects (no purchase yet, score 0) are left out unless
  asked for (``prospects``) or filtered on (stage ``prospect``).
* The early-warning list holds the latest analysis's flagged customers the contact gate lets
  through (an early warning asks for an action).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import (
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from winback.app.analysis.rows import shown_scores
from winback.app.analysis.selectors import (
    filter_snapshots,
    history_notice,
    latest_run,
    warning_precision_rows,
)
from winback.app.analysis.wording import action_text, signals_text
from winback.app.contacts import gate
from winback.app.customers.pages import stage_label, status_label
from winback.programme.privacy import mask_phone
from winback.store.analysis.models import AnalysisRun, CustomerSnapshot
from winback.store.customers.models import Customer, Order
from winback.vocabulary import Stage

PAGE_SIZE = 50
CUSTOMERS = "customers"
WARNINGS = "warnings"
LISTS = (CUSTOMERS, WARNINGS)
SPEND_WINDOW_DAYS = 365
DEFAULT_SORT = "-priority"

# The sortable columns: key -> what the database orders by. Value at risk is the predicted
# 12-month value times the churn probability (the list's default, highest first).
VALUE_AT_RISK = ExpressionWrapper(F("clv_365") * F("churn_probability"), output_field=FloatField())
SORT_KEYS = (
    "priority",
    "id",
    "tier",
    "score",
    "churn",
    "clv",
    "spend",
    "spend12",
    "days",
)


@dataclass
class CustomerFilters:
    stage: str = ""
    status: str = ""
    tier: int | None = None
    q: str = ""
    customer_type: str = ""
    rfm_octant: str = ""
    store: str = ""
    sort: str = ""  # a key of SORT_KEYS, "-" in front for descending; "" = the default
    prospects: bool = False  # include prospects (no purchase yet, score 0)
    ids: tuple[int, ...] = field(default=())  # a selection of customer pks ("" = all)

    def snapshot_filters(self) -> dict[str, Any]:
        """The filters that narrow the latest analysis's rows (the search aside)."""
        return {
            "stage": self.stage,
            "status": self.status,
            "tier": self.tier,
            "customer_type": self.customer_type,
            "rfm_octant": self.rfm_octant,
            "store": self.store,
        }

    def sort_in_force(self) -> str:
        return self.sort if self.sort.lstrip("-") in SORT_KEYS else DEFAULT_SORT

    def as_query(self) -> dict[str, Any]:
        """The filters and sort as the list's query parameters (what a saved segment keeps)."""
        query: dict[str, Any] = {
            k: v for k, v in self.snapshot_filters().items() if v not in ("", None)
        }
        if self.q:
            query["q"] = self.q
        if self.sort:
            query["sort"] = self.sort
        if self.prospects:
            query["prospects"] = "on"
        return query

    def audit(self) -> dict[str, Any]:
        """The filters as an audit row keeps them (a search never puts a phone in the log)."""
        from winback.redaction import redact

        shown = self.as_query()
        if self.q:
            shown["q"] = redact(self.q)
        if self.ids:
            shown["selected"] = len(self.ids)
        return shown


def _spend(as_of: Any | None, *, window: bool) -> Subquery:
    orders = Order.objects.filter(customer_id=OuterRef("customer_id"))
    if window and as_of is not None:
        orders = orders.filter(
            order_date__gt=as_of - timedelta(days=SPEND_WINDOW_DAYS), order_date__lte=as_of
        )
    return Subquery(
        orders.order_by().values("customer_id").annotate(s=Sum("amount_cents")).values("s")[:1]
    )


def _order_by(sort: str, as_of: Any) -> tuple[dict[str, Any], list[Any]]:
    """The annotations a sort needs and the ORDER BY, ties broken by the customer id."""
    desc = sort.startswith("-")
    key = sort.lstrip("-")
    annotations: dict[str, Any] = {}
    target: Expression | F
    if key == "priority":
        annotations["value_at_risk"] = VALUE_AT_RISK
        target = F("value_at_risk")
    elif key == "spend":
        annotations["spend_total"] = _spend(as_of, window=False)
        target = F("spend_total")
    elif key == "spend12":
        annotations["spend_12m"] = _spend(as_of, window=True)
        target = F("spend_12m")
    else:
        column = {
            "id": "customer__external_id",
            "tier": "tier",
            "score": "churn_score",
            "churn": "churn_probability",
            "clv": "clv_365",
            "days": "days_since_last",
        }[key]
        target = F(column)
    first = target.desc(nulls_last=True) if desc else target.asc(nulls_last=True)
    order: list[Any] = [first]
    if key == "priority":  # unscored value: the churn score still orders them
        order.append(F("churn_score").desc())
    order.append("customer__external_id")
    return annotations, order


def list_rows(filters: CustomerFilters, *, which: str = CUSTOMERS) -> tuple[QuerySet[Any], Any]:
    """The list's rows in its order (snapshots of the latest analysis, or customers when no
    analysis ran yet) and the run they come from."""
    run = latest_run()
    if run is None:
        if which == WARNINGS:
            return CustomerSnapshot.objects.none(), None
        rows: QuerySet[Any] = Customer.objects.filter(is_stub=False)
        if filters.q:
            rows = rows.filter(external_id__icontains=filters.q)
        if filters.ids:
            rows = rows.filter(pk__in=filters.ids)
        return rows.order_by("external_id"), None
    snaps = CustomerSnapshot.objects.filter(as_of=run.as_of)
    if which == WARNINGS:
        snaps = snaps.filter(early_warning=True)
        # An early warning asks for an action: customers the contact gate stops are left out.
        snaps = snaps.exclude(
            customer_id__in=gate.blocked_ids(
                list(snaps.values_list("customer_id", flat=True)), on=gate.today()
            )
        )
    snaps = filter_snapshots(snaps, **filters.snapshot_filters())
    if which == CUSTOMERS and not filters.prospects and filters.stage != Stage.PROSPECT.value:
        snaps = snaps.exclude(stage=Stage.PROSPECT.value)
    if filters.q:
        snaps = snaps.filter(customer__external_id__icontains=filters.q)
    if filters.ids:
        snaps = snaps.filter(customer_id__in=filters.ids)
    annotations, order = _order_by(filters.sort_in_force(), run.as_of)
    return snaps.select_related("customer").annotate(**annotations).order_by(*order), run


def spend_by_customer(customer_ids: Sequence[int], as_of: Any | None) -> dict[int, dict[str, Any]]:
    """Total spend and the last 12 months' spend (to the analysis date) in yuan, per customer:
    one grouped query for a page."""
    if not customer_ids:
        return {}
    window = Q()
    if as_of is not None:
        window = Q(order_date__gt=as_of - timedelta(days=SPEND_WINDOW_DAYS), order_date__lte=as_of)
    rows = (
        Order.objects.filter(customer_id__in=customer_ids)
        .order_by()
        .values("customer_id")
        .annotate(total=Sum("amount_cents"), recent=Sum("amount_cents", filter=window))
    )
    return {
        r["customer_id"]: {
            "total": (r["total"] or 0) / 100,
            "recent": (r["recent"] or 0) / 100,
        }
        for r in rows
    }


def _page_scores(page: Page[Any]) -> dict[int, dict[str, Any]]:
    """The page's snapshots as shown (one rounding rule), by snapshot id."""
    snaps = [row for row in page.object_list if isinstance(row, CustomerSnapshot)]
    return {s.pk: shown for s, shown in zip(snaps, shown_scores(snaps), strict=True)}


def _value_at_risk(snapshot: CustomerSnapshot | None) -> float | None:
    if snapshot is None or snapshot.clv_365 is None or snapshot.churn_probability is None:
        return None
    return float(snapshot.clv_365) * float(snapshot.churn_probability)


def _items(page: Page[Any], run: AnalysisRun | None) -> list[dict[str, Any]]:
    shown = _page_scores(page)
    customers = [row if isinstance(row, Customer) else row.customer for row in page.object_list]
    spend = spend_by_customer([c.pk for c in customers], run.as_of if run else None)
    items = []
    for row, customer in zip(page.object_list, customers, strict=True):
        snapshot = None if isinstance(row, Customer) else row
        items.append(
            {
                "customer": customer,
                "snapshot": snapshot,
                "scores": shown.get(snapshot.pk, {}) if snapshot else {},
                "phone": mask_phone(customer.phone) or "",
                "stage": stage_label(snapshot.stage) if snapshot else "",
                "status": status_label(snapshot.status) if snapshot else "",
                "spend": spend.get(customer.pk, {"total": 0.0, "recent": 0.0}),
                "value_at_risk": _value_at_risk(snapshot),
            }
        )
    return items


def customers_page(filters: CustomerFilters, page_number: str | int | None) -> dict[str, Any]:
    """Customers with their latest snapshot and spend, filtered, sorted and paginated (masked
    phones)."""
    rows, run = list_rows(filters)
    page: Page[Any] = Paginator(rows, PAGE_SIZE).get_page(page_number)
    return {
        "run": run,
        "page": page,
        "items": _items(page, run),
        "history": history_notice(run),
        "sort": filters.sort_in_force(),
    }


def last_purchase_words(days: int | None, expected: float | None, stage: str) -> str:
    """The flagged customer's buying status in words, from the actual days since the last
    purchase and the stage: never "still buying" for a customer long without a purchase."""
    if days is None:
        return _("No purchase recorded")
    shown = ngettext("Last purchase %(n)s day ago", "Last purchase %(n)s days ago", days) % {
        "n": days
    }
    if expected is not None and expected > 0:
        usual = round(expected)
        if days <= expected:
            return _("%(last)s: within the usual %(usual)s-day rhythm") % {
                "last": shown,
                "usual": usual,
            }
        return _("%(last)s: %(late)s days past the usual %(usual)s-day rhythm") % {
            "last": shown,
            "late": round(days - expected),
            "usual": usual,
        }
    if stage in (Stage.SILENT.value, Stage.SLEEPING.value, Stage.LOST.value):
        return _("%(last)s: no purchase since") % {"last": shown}
    return shown


def early_warnings(
    filters: CustomerFilters, page_number: str | int | None, *, lang: str
) -> dict[str, Any]:
    """Customers the latest analysis flagged early, with their warning signs, their buying
    status in words, their spend and value, and next action."""
    rows, run = list_rows(filters, which=WARNINGS)
    page: Page[Any] = Paginator(rows, PAGE_SIZE).get_page(page_number)
    items = _items(page, run)
    for item in items:  # one page: at most PAGE_SIZE rows
        snap = item["snapshot"]
        item["signals"] = signals_text(snap.top_signals, lang)
        item["action"] = action_text(snap.retention_action, lang)
        item["last_purchase"] = last_purchase_words(
            snap.days_since_last, snap.expected_interval_days, snap.stage
        )
    return {
        "run": run,
        "page": page,
        "items": items,
        "history": history_notice(run),
        "precision": warning_precision_rows(run),
        "sort": filters.sort_in_force(),
    }


def sort_headers(params: Iterable[tuple[str, str]], current: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (the same column again flips the
    direction; a new column starts descending, as lists of amounts are read), and its
    ``aria-sort`` state."""
    kept = [(k, v) for k, v in params if k not in ("sort", "page")]
    key_now, desc_now = current.lstrip("-"), current.startswith("-")
    headers = {}
    for key in SORT_KEYS:
        if key == key_now:
            wanted = key if desc_now else f"-{key}"
            state = "descending" if desc_now else "ascending"
        else:
            wanted = key if key == "id" else f"-{key}"
            state = "none"
        headers[key] = {"url": "?" + urlencode([*kept, ("sort", wanted)]), "aria": state}
    return headers


def customer_ids(filters: CustomerFilters, *, which: str, limit: int) -> list[int]:
    """The customer pks of the filtered list (or the selection within it), in the list's
    order, at most ``limit``."""
    rows, run = list_rows(filters, which=which)
    column = "pk" if run is None else "customer_id"
    return list(rows.values_list(column, flat=True)[:limit])


def with_selection(filters: CustomerFilters, ids: Iterable[int]) -> CustomerFilters:
    return replace(filters, ids=tuple(sorted({int(i) for i in ids})))
