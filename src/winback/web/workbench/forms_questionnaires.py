"""The questionnaire editor's forms: the title, one row per question, one row per answer option.

Rows are added by filling the blank ones and removed with their Remove box (no JavaScript).
The forms check each field; the questionnaire as a whole is checked by the core through
:func:`winback.app.settings.service.save_questionnaire`, whose coded problems are put back on
the row they concern, in the user's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from winback.app.settings.rule_messages import describe
from winback.programme.questionnaires import Questionnaire
from winback.programme.rule_errors import Problem
from winback.web.workbench.forms_settings import CODE_HELP, CODE_PATTERN

KIND_CHOICES = (
    ("single", _("One answer")),
    ("multi", _("Several answers")),
    ("text", _("Free text")),
    ("scale", _("Scale from 1 to 5")),
)


class QuestionnaireForm(forms.Form):
    code = forms.RegexField(label=_("Code"), regex=CODE_PATTERN, help_text=CODE_HELP)
    zh = forms.CharField(label=_("Title (Chinese)"), max_length=120)
    en = forms.CharField(label=_("Title (English)"), max_length=120)


class QuestionForm(forms.Form):
    code = forms.RegexField(label=_("Code"), regex=CODE_PATTERN, help_text=CODE_HELP)
    zh = forms.CharField(label=_("Question (Chinese)"), max_length=300)
    en = forms.CharField(label=_("Question (English)"), max_length=300)
    # a browser sends the first choice of a blank row's select: the same as the initial, so
    # the untouched blank row is not taken for a new question
    kind = forms.ChoiceField(label=_("Kind of answer"), choices=KIND_CHOICES, initial="single")
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=999, required=False)
    paused = forms.BooleanField(label=_("Paused (not asked)"), required=False)


class OptionForm(forms.Form):
    question = forms.RegexField(label=_("Question code"), regex=CODE_PATTERN)
    code = forms.RegexField(label=_("Code"), regex=CODE_PATTERN, help_text=CODE_HELP)
    zh = forms.CharField(label=_("Option (Chinese)"), max_length=200)
    en = forms.CharField(label=_("Option (English)"), max_length=200)
    reasons = forms.MultipleChoiceField(
        label=_("Leave reasons it points to"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    order = forms.IntegerField(label=_("Order"), min_value=0, max_value=999, required=False)

    def __init__(self, *args: Any, reasons: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reasons"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = list(reasons)


QuestionFormSet = formset_factory(QuestionForm, extra=1, can_delete=True)
OptionFormSet = formset_factory(OptionForm, extra=2, can_delete=True)


def initial_data(q: Questionnaire | None) -> dict[str, Any]:
    """The forms' initial values for a questionnaire (empty ones for a new one)."""
    if q is None:
        return {"head": {}, "questions": [], "options": []}
    questions = [
        {
            "code": x.code,
            "zh": x.zh,
            "en": x.en,
            "kind": x.kind,
            "order": (i + 1) * 10,
            "paused": not x.active,
        }
        for i, x in enumerate(q.questions)
    ]
    options = [
        {
            "question": x.code,
            "code": o.code,
            "zh": o.zh,
            "en": o.en,
            "reasons": list(o.reasons),
            "order": (j + 1) * 10,
        }
        for x in q.questions
        for j, o in enumerate(x.options)
    ]
    head = {"code": q.code, "zh": q.zh, "en": q.en}
    return {"head": head, "questions": questions, "options": options}


class QuestionnaireEditor:
    """The three forms of the editor, bound or not, and the questionnaire they describe."""

    def __init__(
        self,
        data: Any = None,
        *,
        initial: dict[str, Any],
        reasons: Sequence[tuple[str, str]],
        extra: int = 0,
    ) -> None:
        self.head = QuestionnaireForm(data, initial=initial["head"], prefix="head")
        self.questions = QuestionFormSet(data, initial=initial["questions"], prefix="q")
        self.options = OptionFormSet(
            data,
            initial=initial["options"],
            prefix="o",
            form_kwargs={"reasons": reasons},
        )
        if data is None and extra:
            self.questions.extra += extra
            self.options.extra += extra * 2
        self.errors: list[str] = []

    def _rows(self, formset: Any) -> list[forms.Form]:
        """The rows kept: the existing ones and the filled blank ones, less those removed."""
        kept = formset.initial_form_count()
        return [
            f
            for i, f in enumerate(formset.forms)
            if (i < kept or f.has_changed()) and f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]

    def is_valid(self) -> bool:
        valid = self.head.is_valid() & self.questions.is_valid() & self.options.is_valid()
        if not valid:
            return False
        codes = {f.cleaned_data["code"] for f in self._rows(self.questions)}
        for f in self._rows(self.options):
            if f.cleaned_data["question"] not in codes:
                f.add_error("question", _("No question of this questionnaire has this code."))
                valid = False
        return valid

    def data(self) -> dict[str, Any]:
        """The questionnaire as the core reads it (rows in their order, removed ones left out)."""
        questions = sorted(
            enumerate(self._rows(self.questions)), key=lambda p: (_order(p[1]), p[0])
        )
        options = sorted(enumerate(self._rows(self.options)), key=lambda p: (_order(p[1]), p[0]))
        head = self.head.cleaned_data
        return {
            "code": head["code"],
            "zh": head["zh"].strip(),
            "en": head["en"].strip(),
            "questions": [
                {
                    "code": q.cleaned_data["code"],
                    "kind": q.cleaned_data["kind"],
                    "zh": q.cleaned_data["zh"].strip(),
                    "en": q.cleaned_data["en"].strip(),
                    "active": not q.cleaned_data["paused"],
                    "options": [
                        {
                            "code": o.cleaned_data["code"],
                            "zh": o.cleaned_data["zh"].strip(),
                            "en": o.cleaned_data["en"].strip(),
                            "reasons": list(o.cleaned_data["reasons"]),
                        }
                        for _i, o in options
                        if o.cleaned_data["question"] == q.cleaned_data["code"]
                    ],
                }
                for _j, q in questions
            ],
        }

    def add_problems(self, problems: Sequence[Problem]) -> None:
        """Put the core's problems, in the user's language, on the rows they concern (the
        questionnaire's own ones above the forms)."""
        questions = {f.cleaned_data["code"]: f for f in self._rows(self.questions)}
        options = {
            (f.cleaned_data["question"], f.cleaned_data["code"]): f
            for f in self._rows(self.options)
        }
        for p in problems:
            message = describe(p)
            parts = str(p.params.get("where", "")).split(".")
            if len(parts) == 3 and (parts[1], parts[2]) in options:
                options[(parts[1], parts[2])].add_error(None, message)
            elif len(parts) == 2 and parts[1] in questions:
                questions[parts[1]].add_error(None, message)
            else:
                self.errors.append(message)


def _order(form: forms.Form) -> int:
    """A row's place; a row without one goes after the numbered ones."""
    order = form.cleaned_data.get("order")
    return 10_000 if order is None else int(order)
