"""Supervisor quality review: a reproducible random sample of recent contact attempts, the
supervisor's 1-5 ratings of them, and the average rating per agent.

The sample is drawn from the attempts of the :data:`WINDOW_DAYS` days up to the latest attempt
on or before the review day, with a seed made of the day and the supervisor: the same
supervisor sees the same sample all day (ratings already given show in place), another
supervisor or the next day draws another.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Avg, Count, Max
from django.shortcuts import get_object_or_404

from winback.app.settings.rules import current_rules
from winback.store.accounts.models import User
from winback.store.customers.models import ContactOutcome
from winback.store.programme.models import ContactAttempt, ContactReview

SAMPLE_SIZE = 10
WINDOW_DAYS = 30
RECENT_REVIEWS = 20


def sample_seed(day: date, reviewer: User) -> int:
    """Stable across processes and restarts (unlike Python's ``hash``)."""
    digest = hashlib.sha256(f"quality|{day.isoformat()}|{reviewer.pk}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def sample_window(day: date) -> tuple[date, date] | None:
    """The days the sample is drawn from, or None when there is no attempt yet."""
    latest = ContactAttempt.objects.filter(occurred_date__lte=day).aggregate(
        last=Max("occurred_date")
    )["last"]
    if latest is None:
        return None
    return latest - timedelta(days=WINDOW_DAYS - 1), latest


def sample_ids(
    day: date,
    reviewer: User,
    size: int = SAMPLE_SIZE,
    window: tuple[date, date] | None = None,
) -> list[int]:
    """The attempts to review: the same list for the same supervisor and day."""
    window = window or sample_window(day)
    if window is None:
        return []
    ids = list(
        ContactAttempt.objects.filter(occurred_date__range=window)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    picked = random.Random(sample_seed(day, reviewer)).sample(ids, min(size, len(ids)))
    return sorted(picked)


@dataclass(frozen=True)
class ReviewItem:
    attempt: ContactAttempt
    agent: str
    customer: str
    outcome: str
    reason: str
    offer: str
    review: ContactReview | None


def review_items(attempt_ids: list[int], reviewer: User, *, lang: str) -> list[ReviewItem]:
    """The attempts with what the supervisor needs to judge them (two queries)."""
    attempts = (
        ContactAttempt.objects.filter(pk__in=attempt_ids)
        .select_related("agent", "task__customer")
        .order_by("-occurred_at", "pk")
    )
    reviews = {
        r.attempt_id: r
        for r in ContactReview.objects.filter(attempt_id__in=attempt_ids, reviewer=reviewer)
    }
    rules = current_rules()
    outcomes = {code: str(label) for code, label in ContactOutcome.choices}
    items = []
    for a in attempts:
        reason = rules.taxonomy.label(a.reason_code, lang) if a.reason_code else ""
        offer = ""
        if a.offer_code:
            try:
                offer = rules.catalogue.offer(a.offer_code).label(lang)
            except KeyError:
                offer = a.offer_code
        items.append(
            ReviewItem(
                attempt=a,
                agent=a.agent.get_username() if a.agent else "-",
                customer=a.task.customer.external_id,
                outcome=outcomes.get(a.outcome, a.outcome),
                reason=reason,
                offer=offer,
                review=reviews.get(a.pk),
            )
        )
    return items


def review_item(attempt_id: int, reviewer: User, *, lang: str) -> ReviewItem:
    get_object_or_404(ContactAttempt, pk=attempt_id)
    return review_items([attempt_id], reviewer, lang=lang)[0]


def save_review(attempt_id: int, reviewer: User, *, rating: int, comments: str) -> ContactReview:
    """Record (or change) the supervisor's rating of one attempt."""
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1-5")
    attempt = get_object_or_404(ContactAttempt, pk=attempt_id)
    review, _ = ContactReview.objects.update_or_create(
        attempt=attempt,
        reviewer=reviewer,
        defaults={"rating": rating, "comments": comments.strip()},
    )
    return review


def ratings_by_agent() -> list[dict[str, Any]]:
    """Average rating per agent over every review, best first (one query)."""
    rows = (
        ContactReview.objects.values("attempt__agent__username")
        .annotate(reviews=Count("pk"), average=Avg("rating"))
        .order_by("-average", "attempt__agent__username")
    )
    return [
        {
            "agent": r["attempt__agent__username"] or "-",
            "reviews": r["reviews"],
            "average": float(r["average"]),
        }
        for r in rows
    ]


def recent_reviews() -> list[ContactReview]:
    return list(
        ContactReview.objects.select_related(
            "reviewer", "attempt__agent", "attempt__task__customer"
        ).order_by("-updated_at", "-pk")[:RECENT_REVIEWS]
    )


def quality_page(reviewer: User, *, day: date, lang: str) -> dict[str, Any]:
    window = sample_window(day)
    return {
        "day": day,
        "window": window,
        "items": review_items(sample_ids(day, reviewer, window=window), reviewer, lang=lang)
        if window
        else [],
        "by_agent": ratings_by_agent(),
        "recent": recent_reviews(),
    }
