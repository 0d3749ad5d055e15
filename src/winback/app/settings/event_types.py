"""Event types the business records (R1): what is in force, and one use case per change.

The eight built-in types are seeded as stored definitions (migration customers 0004); a
built-in type without a stored definition is in force with its shipped names and role. A
business adds its own types (say ``brand_defence``, a customer defending the brand in a crisis)
and gives each the role the analysis reads it in (:class:`winback.vocabulary.EventRole`).

* Imports accept the active types by code, by either name, and a built-in type also by its
  shipped spellings (:data:`winback.schema.EVENT_TYPES`); anything else is rejected by row.
* The analysis reads events by their type's role (:mod:`winback.store.extract`); an event of a
  type no longer defined or active is read by no feature and shown by its code.
* Built-in types can be deactivated, not deleted, and keep their role (the contact gate and
  the value weights read them by code); a type with stored events cannot be deleted.

Every change checks ``change_settings``, runs in one transaction and writes an audit row with
the type before and after.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from winback.app.actors import Actor, Permission, audit, require
from winback.ingest.headers import normalise_label
from winback.schema import EVENT_TYPES
from winback.store.customers.models import (
    BUILT_IN_EVENT_NAMES,
    EngagementEvent,
    EventTypeDefinition,
)
from winback.vocabulary import EVENT_ROLES

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,23}$")
LABEL_ZH_MAX = 60
LABEL_EN_MAX = 80
_SHIPPED_SPELLINGS = dict(EVENT_TYPES)


class EventTypeError(ValueError):
    """A change refused, with the reason in the user's language (``str(error)``)."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class EventTypeInForce:
    code: str
    label_zh: str
    label_en: str
    role: str
    active: bool
    built_in: bool

    def label(self, lang: str) -> str:
        return self.label_zh if lang.startswith("zh") else self.label_en

    def spellings(self) -> tuple[str, ...]:
        """What an import accepts for this type: its code, its names, shipped spellings."""
        return (self.code, self.label_zh, self.label_en, *_SHIPPED_SPELLINGS.get(self.code, ()))


def _of(row: EventTypeDefinition) -> EventTypeInForce:
    return EventTypeInForce(
        row.code, row.label_zh, row.label_en, row.role, row.active, row.built_in
    )


def _built_in(code: str) -> EventTypeInForce:
    zh, en = BUILT_IN_EVENT_NAMES[code]
    return EventTypeInForce(code, zh, en, code, active=True, built_in=True)


def event_types_in_force() -> list[EventTypeInForce]:
    """Every defined type, active or not: the built-in ones in their shipped order, then the
    business's own by code."""
    stored = {row.code: _of(row) for row in EventTypeDefinition.objects.all()}
    built_in = [
        stored.pop(code) if code in stored else _built_in(code) for code in BUILT_IN_EVENT_NAMES
    ]
    return [*built_in, *sorted(stored.values(), key=lambda t: t.code)]


def event_type(code: str) -> EventTypeInForce | None:
    row = EventTypeDefinition.objects.filter(code=code).first()
    if row is not None:
        return _of(row)
    return _built_in(code) if code in BUILT_IN_EVENT_NAMES else None


def import_choices() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The events importer's accepted values: ``(code, spellings)`` of every active type."""
    return tuple((t.code, t.spellings()[1:]) for t in event_types_in_force() if t.active)


def stored_event_counts() -> dict[str, int]:
    """Stored events per type code (including codes no longer defined)."""
    rows = EngagementEvent.objects.values("event_type").annotate(n=Count("pk"))
    return {r["event_type"]: r["n"] for r in rows}


def undefined_event_codes() -> dict[str, int]:
    """Codes of stored events that no defined type carries (hand-edited or older data)."""
    defined = {t.code for t in event_types_in_force()}
    return {c: n for c, n in sorted(stored_event_counts().items()) if c not in defined}


# --- changes --------------------------------------------------------------------------------


def _clean_labels(label_zh: str, label_en: str) -> tuple[str, str]:
    zh, en = (label_zh or "").strip(), (label_en or "").strip()
    if not zh:
        raise EventTypeError(_("Give the type a Chinese name."), "label_zh")
    if not en:
        raise EventTypeError(_("Give the type an English name."), "label_en")
    if len(zh) > LABEL_ZH_MAX:
        raise EventTypeError(
            _("The Chinese name is longer than %(n)s characters.") % {"n": LABEL_ZH_MAX},
            "label_zh",
        )
    if len(en) > LABEL_EN_MAX:
        raise EventTypeError(
            _("The English name is longer than %(n)s characters.") % {"n": LABEL_EN_MAX},
            "label_en",
        )
    return zh, en


def _check_role(role: str) -> str:
    if role not in EVENT_ROLES:
        raise EventTypeError(_("Choose what events of this type count as."), "role")
    return role


def _check_spellings(code: str, names: dict[str, str]) -> None:
    """A name or code may not be another type's code, name or spelling: an import could not
    tell the two apart."""
    taken: dict[str, str] = {}
    for other in event_types_in_force():
        if other.code != code:
            for spelling in other.spellings():
                taken.setdefault(normalise_label(spelling), other.code)
    for field, value in names.items():
        owner = taken.get(normalise_label(value))
        if owner is not None:
            message = _("“%(value)s” is already a code, name or spelling of the type %(code)s.")
            raise EventTypeError(message % {"value": value, "code": owner}, field)


def _unknown(code: str) -> EventTypeError:
    return EventTypeError(_("There is no event type %(code)s.") % {"code": code})


def _row(code: str) -> EventTypeDefinition:
    """The stored definition, or a built-in type's defaults as a row to store."""
    row = EventTypeDefinition.objects.select_for_update().filter(code=code).first()
    if row is not None:
        return row
    if code in BUILT_IN_EVENT_NAMES:
        t = _built_in(code)
        return EventTypeDefinition(
            code=code,
            label_zh=t.label_zh,
            label_en=t.label_en,
            role=t.role,
            active=True,
            built_in=True,
        )
    raise _unknown(code)


def _audit(
    actor: Actor, code: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    audit(
        actor,
        "settings_change",
        object_type="event_type",
        object_id=code,
        detail={"before": before, "after": after},
    )


def add_event_type(
    actor: Actor, *, code: str, label_zh: str, label_en: str, role: str
) -> EventTypeInForce:
    """A new, active type of the business's own."""
    require(actor, Permission.CHANGE_SETTINGS)
    code = (code or "").strip().lower()
    if not CODE_PATTERN.match(code):
        raise EventTypeError(
            _(
                "The code is 2 to 24 characters: small letters, digits and underscores, "
                "starting with a letter."
            ),
            "code",
        )
    zh, en = _clean_labels(label_zh, label_en)
    _check_role(role)
    with transaction.atomic():
        if event_type(code) is not None:
            raise EventTypeError(
                _("The event type %(code)s already exists.") % {"code": code}, "code"
            )
        _check_spellings(code, {"code": code, "label_zh": zh, "label_en": en})
        row = EventTypeDefinition.objects.create(
            code=code, label_zh=zh, label_en=en, role=role, active=True, built_in=False
        )
        made = _of(row)
        _audit(actor, code, None, asdict(made))
    return made


def update_event_type(actor: Actor, code: str, *, label_zh: str, label_en: str, role: str) -> bool:
    """Change a type's names and role (a built-in type keeps its role). Returns whether
    anything changed."""
    require(actor, Permission.CHANGE_SETTINGS)
    zh, en = _clean_labels(label_zh, label_en)
    _check_role(role)
    with transaction.atomic():
        row = _row(code)
        before = _of(row)
        if row.built_in and role != row.role:
            raise EventTypeError(
                _("A built-in type keeps its role; add a type of your own to count differently."),
                "role",
            )
        _check_spellings(code, {"label_zh": zh, "label_en": en})
        if (before.label_zh, before.label_en, before.role) == (zh, en, role) and row.pk:
            return False
        row.label_zh, row.label_en, row.role = zh, en, role
        row.save()
        _audit(actor, code, asdict(before), asdict(_of(row)))
    return True


def set_event_type_active(actor: Actor, code: str, *, active: bool) -> bool:
    """Deactivate a type (imports refuse it, the analysis ignores its events) or reactivate
    it. Returns whether anything changed."""
    require(actor, Permission.CHANGE_SETTINGS)
    with transaction.atomic():
        row = _row(code)
        before = _of(row)
        if row.active == active and row.pk:
            return False
        if active:
            # names taken by another type meanwhile would make imports ambiguous
            _check_spellings(code, {"label_zh": row.label_zh, "label_en": row.label_en})
        row.active = active
        row.save()
        _audit(actor, code, asdict(before), asdict(_of(row)))
    return True


def delete_event_type(actor: Actor, code: str) -> None:
    """Remove a type of the business's own that no stored event has."""
    require(actor, Permission.CHANGE_SETTINGS)
    with transaction.atomic():
        if code in BUILT_IN_EVENT_NAMES:
            raise EventTypeError(_("A built-in type can be deactivated but not deleted."))
        row = _row(code)
        used = EngagementEvent.objects.filter(event_type=code).count()
        if used:
            raise EventTypeError(
                _(
                    "%(code)s cannot be deleted: stored events have this type (%(n)s). "
                    "Deactivate it instead."
                )
                % {"code": code, "n": used}
            )
        before = _of(row)
        row.delete()
        _audit(actor, code, asdict(before), None)
