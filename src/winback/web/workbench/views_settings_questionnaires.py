"""Settings, questionnaires (admins): the callback questionnaires in force, and their editor.

The editor's forms check each field; saving calls one use case
(:func:`winback.app.settings.service.save_questionnaire`), which has the core check the whole
questionnaire against the taxonomy and stores it, audited. Its refusals come back coded and are
shown on the rows they concern, in the user's language."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from winback.app.settings import service as svc
from winback.app.settings.rule_messages import RulesRejected, describe_error
from winback.app.settings.rules import QuestionnairesInForce, current_rules
from winback.store.accounts.models import User
from winback.web.workbench.forms_questionnaires import QuestionnaireEditor, initial_data
from winback.web.workbench.views_imports import admin_required


def _lang() -> str:
    return get_language() or "zh-hans"


def _warning(in_force: QuestionnairesInForce) -> str:
    if in_force.problem is None:
        return ""
    return _(
        "The stored questionnaires cannot be used, so the shipped ones are in force: %(why)s"
    ) % {"why": describe_error(in_force.problem)}


@admin_required
@require_GET
def settings_questionnaires(request: HttpRequest) -> HttpResponseBase:
    lang = _lang()
    zh = lang.startswith("zh")
    # the reasons an answer points to, by their labels (not their codes)
    taxonomy = current_rules().taxonomy
    in_force = svc.questionnaires()
    items = [
        {
            "code": q.code,
            "title": q.zh if zh else q.en,
            "questions": [
                {
                    "text": question.text(lang),
                    "kind": question.kind,
                    "active": question.active,
                    "options": [
                        (
                            o.zh if zh else o.en,
                            ("、" if zh else ", ").join(taxonomy.label(r, lang) for r in o.reasons),
                        )
                        for o in question.options
                    ],
                }
                for question in q.questions
            ],
        }
        for q in in_force.items
    ]
    context = {"items": items, "own": in_force.own, "warning": _warning(in_force)}
    return render(request, "workbench/settings/questionnaires.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def settings_questionnaire_edit(request: HttpRequest) -> HttpResponseBase:
    lang = _lang()
    code = request.GET.get("code", "")
    current = svc.questionnaire(code) if code else None
    if code and current is None:
        raise Http404
    taxonomy = current_rules().taxonomy
    reasons = [(r.code, taxonomy.label(r.code, lang)) for r in taxonomy.reasons]
    initial = initial_data(current)
    try:
        extra = max(0, min(int(request.GET.get("rows", "0")), 10))
    except ValueError:
        extra = 0
    status = 200
    if request.method == "POST":
        editor = QuestionnaireEditor(request.POST, initial=initial, reasons=reasons)
        if editor.is_valid():
            try:
                svc.save_questionnaire(cast(User, request.user), editor.data(), code=code)
            except RulesRejected as exc:
                editor.add_problems(exc.problems)
                status = 422
            else:
                messages.success(request, _("Questionnaire saved. Calls opened from now use it."))
                return redirect("settings_questionnaires")
        else:
            status = 422
    else:
        editor = QuestionnaireEditor(initial=initial, reasons=reasons, extra=extra)
    context: dict[str, Any] = {"editor": editor, "editing": code, "current": current}
    return render(request, "workbench/settings/questionnaire_edit.html", context, status=status)
