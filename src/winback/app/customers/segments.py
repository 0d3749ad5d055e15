"""Saved segments: a list's filters and sort under a name, per user, optionally shared.

A segment keeps the list's own query parameters, so reapplying one is opening the list with
them: the list's form validates them again (a stage removed since is simply not applied)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from winback.app.actors import Actor, Permission, require
from winback.app.customers.lists import LISTS, CustomerFilters
from winback.store.accounts.models import AuditLog, User
from winback.store.customers.models import SavedSegment


def save_segment(
    user: User, *, page: str, name: str, filters: CustomerFilters, shared: bool = False
) -> SavedSegment:
    """Save (or overwrite the user's segment of the same name) the list's filters and sort."""
    require(Actor.of(user), Permission.VIEW_ALL_CUSTOMERS)
    if page not in LISTS:
        raise ValueError(page)
    query = filters.as_query()
    segment, _created = SavedSegment.objects.update_or_create(
        owner=user,
        page=page,
        name=name.strip(),
        defaults={"query": query, "shared": shared},
    )
    AuditLog.objects.create(
        user=user,
        username=user.get_username(),
        action="save_segment",
        object_type="segment",
        object_id=str(segment.pk),
        detail={"page": page, "shared": shared, "filters": filters.audit()},
    )
    return segment


def segments_for(user: User, page: str) -> list[dict[str, Any]]:
    """The user's own segments of this list and those the team shared, with their links."""
    if not Actor.of(user).may(Permission.VIEW_ALL_CUSTOMERS):
        return []
    rows = (
        SavedSegment.objects.filter(Q(owner=user) | Q(shared=True), page=page)
        .select_related("owner")
        .order_by("name", "pk")
    )
    out = []
    for s in rows:
        query, readable = stored_query(s.query)
        out.append(
            {
                "segment": s,
                "query": urlencode(sorted(query.items())),
                "mine": s.owner_id == user.pk,
                "owner": s.owner.get_username(),
                # stored filters that are not what the list saves (written around the form):
                # the segment opens the list unfiltered, and says so
                "unreadable": not readable,
            }
        )
    return out


# A stored query longer than this is not one the list saved.
MAX_QUERY_ITEMS = 64
MAX_VALUE_CHARS = 500


def stored_query(raw: Any) -> tuple[dict[str, str], bool]:
    """A segment's stored query as the list's parameters, and whether it was read whole: a
    mapping of names to text or numbers, as :func:`save_segment` stores. Anything else (a list,
    nested objects, absurdly long values) gives no filter, and ``False``."""
    if not isinstance(raw, dict) or len(raw) > MAX_QUERY_ITEMS:
        return {}, raw in (None, {}, "")
    query: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return {}, False
        text = str(value)
        if len(text) > MAX_VALUE_CHARS or len(str(key)) > MAX_VALUE_CHARS:
            return {}, False
        query[str(key)] = text
    return query, True


def delete_segment(user: User, segment_id: int) -> str:
    """Delete one of the user's own segments; the list it belonged to."""
    segment = SavedSegment.objects.filter(pk=segment_id).first()
    if segment is None or segment.owner_id != user.pk:
        raise PermissionDenied
    page = segment.page
    segment.delete()
    return page
