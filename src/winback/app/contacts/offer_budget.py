"""The round's offer budget, held when an accepted offer is logged (R5).

Planning funds menus greedily within the round's budget (``summary["offers"]["budget"]``:
the programme rule ``offer_budget_per_treated`` x treated customers). Menus can change after
planning (a reason recorded in a call re-plans them) and agents log what customers accept, so
the budget is checked again here: the round's **committed** offer cost is, per call task, the
cost of the latest accepted offer (stored on the attempt as ``offer_cost``). Logging an offer
whose cost would take the committed cost past the budget is **refused**
(:class:`OfferOverBudget`, HTTP 422): nothing is written, and the agent records the outcome
without the offer or with a cheaper one. A task's new choice replaces its earlier one, so
changing one's mind never counts twice. A round planned without a budget is not checked.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import OuterRef, Subquery, Sum
from django.utils.translation import gettext as _

from winback.app.contacts.service import InvalidChoice
from winback.store.programme.models import CallTask, ContactAttempt, Round

_EPS = 1e-6


class OfferOverBudget(InvalidChoice):
    """The accepted offer's cost would take the round past its offer budget."""

    def __init__(self, *, cost: float, committed: float, budget: float) -> None:
        left = max(budget - committed, 0.0)
        super().__init__(
            "offer_over_budget",
            _(
                "The round's offer budget cannot cover this offer: it costs %(cost).2f and "
                "%(left).2f of %(budget).2f is left. Record the outcome without the offer, "
                "or with a cheaper one."
            )
            % {"cost": cost, "left": left, "budget": budget},
        )
        self.cost, self.committed, self.budget = cost, committed, budget


def round_budget(rnd: Round) -> float | None:
    """The round's offer budget (currency units) as planned; None when planned without one."""
    offers = (rnd.summary or {}).get("offers") or {}
    budget = offers.get("budget") if isinstance(offers, dict) else None
    return float(budget) if isinstance(budget, int | float) else None


def committed_cost(round_id: int, *, except_task: int | None = None) -> float:
    """The round's committed offer cost: per task, its latest accepted offer's cost."""
    latest = (
        ContactAttempt.objects.filter(task_id=OuterRef("pk"))
        .exclude(offer_code="")
        .order_by("-occurred_at", "-pk")
        .values("offer_cost")[:1]
    )
    tasks = CallTask.objects.filter(round_id=round_id).exclude(offer_code="")
    if except_task is not None:
        tasks = tasks.exclude(pk=except_task)
    total = tasks.annotate(cost=Subquery(latest)).aggregate(total=Sum("cost"))["total"]
    return float(total or 0.0)


def commit_offer(task: CallTask, offer_code: str) -> float | None:
    """The cost to store on the attempt accepting ``offer_code`` (None without an offer);
    raises :class:`OfferOverBudget` when the round's budget cannot cover it. Call inside the
    logging transaction: on PostgreSQL the round row is locked so two agents accepting offers
    at once are checked one after the other."""
    if not offer_code:
        return None
    item = task.menu.find(offer_code)
    cost = float(item.cost or 0.0) if item is not None else 0.0
    rounds = Round.objects.all()
    if connection.vendor == "postgresql":
        rounds = rounds.select_for_update()
    budget = round_budget(rounds.get(pk=task.round_id))
    if budget is None or cost <= 0:
        return cost
    committed = committed_cost(task.round_id, except_task=task.pk)
    if committed + cost > budget + _EPS:
        raise OfferOverBudget(cost=cost, committed=committed, budget=budget)
    return cost
