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
    return [
        {
            "segment": s,
            "query": urlencode(sorted((str(k), str(v)) for k, v in s.query.items())),
            "mine": s.owner_id == user.pk,
            "owner": s.owner.get_username(),
        }
        for s in rows
    ]


def delete_segment(user: User, segment_id: int) -> str:
    """Delete one of the user's own segments; the list it belonged to."""
    segment = SavedSegment.objects.filter(pk=segment_id).first()
    if segment is None or segment.owner_id != user.pk:
        raise PermissionDenied
    page = segment.page
    segment.delete()
    return page
