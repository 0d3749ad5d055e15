"""Supervisor round pages: the four-step round wizard and the round board (R6, R7).

The wizard's steps are plain GET forms that carry the earlier answers along (htmx swaps only
the wizard box when it is there); Create is a POST that works without JavaScript.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import date
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from winback.app.accounts.permissions import staff_required
from winback.app.actors import Actor
from winback.app.customers.pages import STAGE_LABELS, STATUS_LABELS
from winback.app.rounds import wizard as svc
from winback.app.rounds.planning import NoSnapshotError
from winback.app.rounds.service import ControlTooSmall, RoundExists, RoundInProgress, plan_round
from winback.config import MAX_HOLDOUT_SHARE
from winback.periods import month_label, month_start
from winback.programme.playbooks import STAGES
from winback.store.accounts.models import User
from winback.store.programme.models import Round
from winback.vocabulary import ROUND_STATUSES

TIERS = (1, 2, 3, 4, 5)
STEPS = (
    (1, gettext_lazy("Pool")),
    (2, gettext_lazy("Exclusions")),
    (3, gettext_lazy("Control group")),
    (4, gettext_lazy("Assignment")),
)


class PoolForm(forms.Form):
    month = forms.DateField(
        label=gettext_lazy("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    statuses = forms.MultipleChoiceField(
        label=gettext_lazy("Status"),
        choices=[(c, STATUS_LABELS[c]) for c in ROUND_STATUSES],
        widget=forms.CheckboxSelectMultiple,
    )
    tiers = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Value tiers (none ticked: all)"),
        choices=[(str(t), str(t)) for t in TIERS],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    stages = forms.MultipleChoiceField(
        label=gettext_lazy("Stages (none ticked: all)"),
        choices=[(s, STAGE_LABELS[s]) for s in STAGES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def pool(self) -> svc.Pool:
        data = self.cleaned_data
        return svc.Pool(
            month=month_start(cast(date, data["month"])),
            statuses=tuple(data["statuses"]),
            tiers=tuple(sorted(data["tiers"])) or None,
            stages=tuple(s for s in STAGES if s in data["stages"]) or None,
        )


class HoldoutForm(forms.Form):
    holdout = forms.FloatField(
        label=gettext_lazy("Control group share"), min_value=0.0, max_value=MAX_HOLDOUT_SHARE
    )
    seed = forms.IntegerField(label=gettext_lazy("Random seed"), min_value=0, max_value=2**31 - 1)


class CreateForm(HoldoutForm):
    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    allow_small_control = forms.BooleanField(
        required=False,
        label=gettext_lazy("Create it anyway: the control group is below the floor"),
    )


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _render_wizard(
    request: HttpRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("steps", STEPS)
    template = "workbench/rounds/_wizard.html" if request.htmx else "workbench/rounds/new.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


def _pool_query(pool: svc.Pool) -> list[tuple[str, str]]:
    """The step-1 answers as (name, value) pairs, for hidden fields and back links."""
    pairs = [("month", month_label(pool.month))]
    pairs += [("statuses", s) for s in pool.statuses]
    pairs += [("tiers", str(t)) for t in pool.tiers or ()]
    pairs += [("stages", s) for s in pool.stages or ()]
    return pairs


def _pool_summary(pool: svc.Pool) -> dict[str, Any]:
    return {
        "month": pool.month,
        "statuses": [STATUS_LABELS[s] for s in pool.statuses],
        "tiers": list(pool.tiers or ()),
        "stages": [STAGE_LABELS[s] for s in pool.stages or ()],
    }


@staff_required
@require_http_methods(["GET", "POST"])
def round_new(request: HttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        return _create(request)
    step = request.GET.get("step", "1")
    if step == "1" or "month" not in request.GET:
        initial = {"month": timezone.localdate(), "statuses": ["lost", "at_risk"]}
        form = PoolForm(request.GET if "month" in request.GET else None, initial=initial)
        return _render_wizard(request, {"step": 1, "form": form})
    form = PoolForm(request.GET)
    if not form.is_valid():
        return _render_wizard(request, {"step": 1, "form": form}, status=422)
    pool = form.pool()
    context: dict[str, Any] = {
        "pool": _pool_summary(pool),
        "pool_query": _pool_query(pool),
        "pool_qs": urlencode(_pool_query(pool)),
    }
    try:
        if step == "2":
            context.update(step=2, preview=svc.exclusion_preview(pool))
            return _render_wizard(request, context)
        holdout_form = HoldoutForm(
            request.GET if "holdout" in request.GET else None,
            initial={"holdout": svc.default_holdout(), "seed": secrets.randbelow(2**31)},
        )
        if step == "3" or not holdout_form.is_valid():
            context.update(step=3, form=holdout_form)
            return _render_wizard(request, context, status=200 if step == "3" else 422)
        holdout = holdout_form.cleaned_data["holdout"]
        seed = holdout_form.cleaned_data["seed"]
        context.update(
            step=4,
            preview=svc.assignment_preview(pool, holdout=holdout, seed=seed),
            create_form=CreateForm(
                initial={"holdout": holdout, "seed": seed, "token": uuid.uuid4().hex}
            ),
        )
        return _render_wizard(request, context)
    except NoSnapshotError as exc:
        context.update(
            step=1,
            form=form,
            error=_("No analysis on or before %(day)s: run the analysis first.") % {"day": exc},
        )
        return _render_wizard(request, context, status=422)


def _create(request: HttpRequest) -> HttpResponseBase:
    pool_form = PoolForm(request.POST)
    create_form = CreateForm(request.POST)
    if not (pool_form.is_valid() and create_form.is_valid()):
        return _render_wizard(request, {"step": 1, "form": pool_form}, status=422)
    pool = pool_form.pool()
    data = create_form.cleaned_data
    try:
        rnd = plan_round(
            Actor.of(_user(request)),
            month=pool.month,
            holdout=data["holdout"],
            seed=data["seed"],
            tiers=pool.tiers,
            statuses=pool.statuses,
            stages=pool.stages,
            request_token=data["token"],
            allow_small_control=data["allow_small_control"],
        ).round
    except RoundExists as exc:
        messages.error(
            request,
            _("A round for %(month)s already exists: nothing was created.")
            % {"month": month_label(pool.month)},
        )
        return redirect("round_board", round_id=exc.round.pk)
    except RoundInProgress:
        messages.error(
            request,
            _("This round is being created already; it will appear in the list in a moment."),
        )
        return redirect("rounds")
    except NoSnapshotError:
        messages.error(request, _("No analysis for this month: run the analysis first."))
        return redirect("round_new")
    except ControlTooSmall as exc:
        messages.error(
            request,
            _(
                "The control group would have %(n)s customers, below the floor of %(floor)s: "
                "nothing was created. Tick the box to create it anyway."
            )
            % {"n": exc.design.n_control, "floor": exc.design.control_floor},
        )
        back = [*_pool_query(pool), ("step", "4"), ("holdout", str(data["holdout"]))]
        back.append(("seed", str(data["seed"])))
        return redirect(f"{reverse('round_new')}?{urlencode(back)}")
    messages.success(
        request,
        _("Round %(month)s created: %(treated)s treated, %(control)s control.")
        % {
            "month": month_label(rnd.month),
            "treated": rnd.summary.get("treated", 0),
            "control": rnd.summary.get("control", 0),
        },
    )
    return redirect("round_board", round_id=rnd.pk)


@staff_required
@require_GET
def rounds(request: HttpRequest) -> HttpResponse:
    return render(request, "workbench/rounds/list.html", {"rows": svc.round_list()})


@staff_required
@require_GET
def round_board(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_object_or_404(Round, pk=round_id)
    board = svc.round_board(rnd, as_of=timezone.localdate(), lang=get_language() or "zh-hans")
    return render(request, "workbench/rounds/board.html", board)
