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
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from winback.app.accounts.permissions import staff_required
from winback.app.actors import Actor
from winback.app.customers.pages import STAGE_LABELS, STATUS_LABELS
from winback.app.reports.money import parse_month, report_as_of, round_money
from winback.app.rounds import lifecycle, reassign
from winback.app.rounds import wizard as svc
from winback.app.rounds.planning import NoSnapshotError
from winback.app.rounds.service import ControlTooSmall, RoundExists, RoundInProgress, plan_round
from winback.config import MAX_HOLDOUT_SHARE
from winback.periods import month_label, month_start
from winback.programme.playbooks import STAGES
from winback.programme.rounds import round_closes_on
from winback.store.accounts.models import User
from winback.store.programme.models import Round
from winback.vocabulary import ROUND_STATUSES

TIERS = (1, 2, 3, 4, 5)
STATE_LABELS = {
    "active": gettext_lazy("Active"),
    "ending": gettext_lazy("Ending: month over, closing soon"),
    "closed": gettext_lazy("Closed"),
}
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
    rows = svc.round_list()
    today, days = timezone.localdate(), lifecycle.close_after_days()
    for row in rows:
        row["state"] = lifecycle.state_of(row["round"], today, after_days=days)
        row["state_label"] = STATE_LABELS[row["state"]]
    return render(request, "workbench/rounds/list.html", {"rows": rows})


@staff_required
@require_GET
def round_board(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_object_or_404(Round, pk=round_id)
    today = timezone.localdate()
    board = svc.round_board(rnd, as_of=today, lang=get_language() or "zh-hans")
    # ?month=YYYY-MM: the money as that month's report has it (read on its last day).
    report_month = parse_month(request.GET.get("month"))
    board["report_month"] = report_month
    board["money"] = round_money(
        Actor.of(_user(request)),
        rnd,
        as_of=report_as_of(report_month) if report_month else today,
        status=board["status"],
    )
    days = lifecycle.close_after_days()
    state = lifecycle.state_of(rnd, today, after_days=days)
    board["lifecycle"] = {
        "state": state,
        "label": STATE_LABELS[state],
        "closes_on": round_closes_on(rnd.round_end, days),
        "holders": board["holders"],  # from the progress table's grouped read
        "close_form": CloseForm(),
    }
    board["lifecycle"]["open"] = sum(int(h["open"]) for h in board["lifecycle"]["holders"])
    return render(request, "workbench/rounds/board.html", board)


# --- lifecycle: closing a round, reassigning its calls ------------------------------------------

# Tasks listed on a reassignment page; "all" acts on every open task however many are listed.
REASSIGN_LISTED = 200
CARE_PREFIX = "care"  # the care tasks' form on an agent's reassignment page


class CloseForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand: the round's open calls expire and cannot be worked."),
    )


class ReassignForm(forms.Form):
    scope = forms.ChoiceField(
        label=gettext_lazy("Which calls"),
        choices=[
            ("selected", gettext_lazy("The ticked calls")),
            ("all", gettext_lazy("All the open calls listed here")),
        ],
        initial="all",
        widget=forms.RadioSelect,
    )
    tasks = forms.TypedMultipleChoiceField(coerce=int, required=False)
    to_agent = forms.TypedChoiceField(
        label=gettext_lazy("Give them to"), coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args: Any, task_ids: list[int], agents: list[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.TypedMultipleChoiceField, self.fields["tasks"]).choices = [
            (t, str(t)) for t in task_ids
        ]
        spread = ("", _("Spread evenly over the active agents"))
        cast(forms.TypedChoiceField, self.fields["to_agent"]).choices = [
            spread,
            *((a.pk, agent_label(a)) for a in agents),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == "selected" and not data.get("tasks"):
            raise forms.ValidationError(_("Tick at least one call, or choose all the calls."))
        return data


def agent_label(agent: User) -> str:
    return _("%(name)s (seniority %(level)s, %(capacity)s calls a day)") % {
        "name": agent.username,
        "level": agent.seniority,
        "capacity": agent.daily_capacity,
    }


@staff_required
@require_POST
def round_close(request: HttpRequest, round_id: int) -> HttpResponseBase:
    rnd = get_object_or_404(Round, pk=round_id)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to confirm closing the round."))
        return redirect("round_board", round_id=rnd.pk)
    try:
        closed = lifecycle.close_round(Actor.of(_user(request)), rnd.pk)
    except lifecycle.RoundAlreadyClosed:
        messages.info(request, _("The round is closed already."))
        return redirect("round_board", round_id=rnd.pk)
    n = sum(closed.expired.values())
    messages.success(
        request,
        ngettext(
            "Round closed: %(n)s open call expired.",
            "Round closed: %(n)s open calls expired.",
            n,
        )
        % {"n": n},
    )
    return redirect("round_board", round_id=rnd.pk)


@staff_required
@require_http_methods(["GET", "POST"])
def round_reassign(request: HttpRequest, round_id: int) -> HttpResponse:
    rnd = get_object_or_404(Round, pk=round_id)
    agent_id = _int_or_none(request.GET.get("agent") or request.POST.get("agent"))
    return _reassign_page(
        request,
        round_id=rnd.pk,
        agent_id=agent_id,
        context={
            "round": rnd,
            "title": _("Reassign calls of round %(month)s") % {"month": month_label(rnd.month)},
            "filter_agents": reassign.agents_with_open_tasks(round_id=rnd.pk),
            "back": reverse("round_board", args=[rnd.pk]),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def agent_reassign(request: HttpRequest, user_id: int) -> HttpResponse:
    agent = get_object_or_404(User, pk=user_id)
    return _reassign_page(
        request,
        round_id=None,
        agent_id=agent.pk,
        context={
            "agent": agent,
            "title": _("Reassign the open calls of %(name)s") % {"name": agent.username},
            "back": reverse("rounds"),
        },
    )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _reassign_page(
    request: HttpRequest, *, round_id: int | None, agent_id: int | None, context: dict[str, Any]
) -> HttpResponse:
    tasks = reassign.open_tasks_of(round_id=round_id, agent_id=agent_id)
    total = tasks.count()
    listed = list(tasks[:REASSIGN_LISTED])
    agents = reassign.active_agents(exclude=agent_id)
    task_ids = [t.pk for t in listed]
    # An agent's care tasks move on the same page (a round holds no care tasks).
    care = (
        reassign.open_care_tasks_of(agent_id=agent_id)
        if agent_id is not None and round_id is None
        else None
    )
    care_total = care.count() if care is not None else 0
    care_listed = list(care[:REASSIGN_LISTED]) if care is not None else []
    care_ids = [t.pk for t in care_listed]
    status = 200
    form = ReassignForm(task_ids=task_ids, agents=agents)
    care_form = ReassignForm(task_ids=care_ids, agents=agents, prefix=CARE_PREFIX)
    if request.method == "POST" and f"{CARE_PREFIX}-scope" in request.POST:
        care_form = ReassignForm(request.POST, task_ids=care_ids, agents=agents, prefix=CARE_PREFIX)
        if care_form.is_valid():
            data = care_form.cleaned_data
            try:
                done = reassign.reassign_care_tasks(
                    Actor.of(_user(request)),
                    on=timezone.localdate(),
                    task_ids=data["tasks"] if data["scope"] == "selected" else None,
                    from_agent=agent_id,
                    to_agent=data["to_agent"],
                )
            except reassign.NoAgentToTake:
                messages.error(request, _("No active agent can take these care tasks."))
            else:
                _care_reassigned_message(request, done)
                return redirect(request.get_full_path())
        else:
            status = 422
    elif request.method == "POST":
        form = ReassignForm(request.POST, task_ids=task_ids, agents=agents)
        if form.is_valid():
            data = form.cleaned_data
            chosen = data["tasks"] if data["scope"] == "selected" else None
            if chosen is None and agent_id is None:
                chosen = list(tasks.values_list("pk", flat=True))
            try:
                done = reassign.reassign_tasks(
                    Actor.of(_user(request)),
                    on=timezone.localdate(),
                    task_ids=chosen,
                    from_agent=agent_id,
                    round_id=round_id,
                    to_agent=data["to_agent"],
                )
            except reassign.NoAgentToTake:
                messages.error(request, _("No active agent can take these calls."))
            else:
                _reassigned_message(request, done)
                return redirect(request.get_full_path())
        else:
            status = 422
    context.update(
        form=form,
        tasks=listed,
        total=total,
        more=total - len(listed),
        agent_id=agent_id,
        care_form=care_form,
        care_tasks=care_listed,
        care_total=care_total,
        care_more=care_total - len(care_listed),
        care_page=care is not None,
    )
    return render(request, "workbench/rounds/reassign.html", context, status=status)


def _care_reassigned_message(request: HttpRequest, done: reassign.Reassigned) -> None:
    if done.moved == 0:
        messages.info(request, _("There were no open care tasks to reassign."))
        return
    messages.success(
        request,
        ngettext("%(n)s care task reassigned.", "%(n)s care tasks reassigned.", done.moved)
        % {"n": done.moved},
    )


def _reassigned_message(request: HttpRequest, done: reassign.Reassigned) -> None:
    if done.moved == 0 and done.skipped == 0:
        messages.info(request, _("There were no open calls to reassign."))
        return
    messages.success(
        request,
        ngettext(
            "%(n)s call reassigned.",
            "%(n)s calls reassigned.",
            done.moved,
        )
        % {"n": done.moved},
    )
    if done.skipped:
        messages.warning(
            request,
            ngettext(
                "%(n)s call stays: no chosen agent is senior enough for it.",
                "%(n)s calls stay: no chosen agent is senior enough for them.",
                done.skipped,
            )
            % {"n": done.skipped},
        )
