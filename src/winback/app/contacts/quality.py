"""Supervisor quality review: a reproducible sample of recent contact attempts, stratified
across agents, scored on the programme's scorecard, and the averages per agent.

The sample is drawn from the attempts of the :data:`WINDOW_DAYS` days up to the latest attempt
on or before the review day, with a seed made of the day and the supervisor: the same
supervisor sees the same sample all day (ratings already given show in place), another
supervisor or the next day draws another. Every agent is represented equally
(:func:`winback.programme.scorecard.stratified_sample`). Each criterion of the scorecard
(:class:`winback.programme.scorecard.Scorecard`, stored in the programme settings, the default
until an admin changes it) is scored 1-5; the review's rating is their weighted mean, rounded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Avg, Count, Max
from django.shortcuts import get_object_or_404

from winback.app.actors import Actor, Permission, audit, require
from winback.app.settings.rules import current_rules
from winback.programme.scorecard import Scorecard, ScorecardError, stratified_sample
from winback.store.accounts.models import User
from winback.store.customers.models import ContactOutcome
from winback.store.programme.models import ContactAttempt, ContactReview, ProgrammeSettings

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
    """The attempts to review: the same list for the same supervisor and day, every agent
    equally represented."""
    window = window or sample_window(day)
    if window is None:
        return []
    rows = ContactAttempt.objects.filter(occurred_date__range=window).values_list("pk", "agent_id")
    frame = pl.DataFrame(list(rows), schema={"id": pl.Int64(), "agent": pl.Int64()}, orient="row")
    return stratified_sample(frame, size, sample_seed(day, reviewer))


@dataclass(frozen=True)
class ReviewItem:
    attempt: ContactAttempt
    agent: str
    customer: str
    outcome: str
    reason: str
    offer: str
    review: ContactReview | None
    # (code, label, weight, score given or None) per criterion of the scorecard in force
    criteria: tuple[tuple[str, str, float, int | None], ...] = ()


def review_items(
    attempt_ids: list[int], reviewer: User, *, lang: str, card: Scorecard | None = None
) -> list[ReviewItem]:
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
    card = card or scorecard()
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
                criteria=_criteria_scored(card, reviews.get(a.pk), lang),
            )
        )
    return items


def _criteria_scored(
    card: Scorecard, review: ContactReview | None, lang: str
) -> tuple[tuple[str, str, float, int | None], ...]:
    scored = (review.scores or {}).get("criteria") or [] if review else []
    given = {
        str(c["code"]): int(c["score"])
        for c in scored
        if isinstance(c, dict) and c.get("code") and c.get("score") is not None
    }
    return tuple((c.code, c.label(lang), c.weight, given.get(c.code)) for c in card.criteria)


def review_item(attempt_id: int, reviewer: User, *, lang: str) -> ReviewItem:
    get_object_or_404(ContactAttempt, pk=attempt_id)
    return review_items([attempt_id], reviewer, lang=lang)[0]


def scorecard() -> Scorecard:
    """The scorecard in force: the stored one, else the default."""
    return scorecard_state()[0]


def scorecard_state() -> tuple[Scorecard, str | None]:
    """The scorecard in force and, when the stored one cannot be read (malformed JSON written
    around the settings form, unknown fields, weights out of range), the problem: the default
    scorecard is used then, and admins are told."""
    row = ProgrammeSettings.objects.order_by("pk").first()
    try:
        return Scorecard.from_json(row.quality_scorecard if row is not None else None), None
    except ScorecardError as exc:
        return Scorecard.default(), exc.problem
    except (TypeError, ValueError, AttributeError, KeyError):
        return Scorecard.default(), "malformed"


def set_scorecard(actor: Actor, card: Scorecard) -> Scorecard:
    """Store a new scorecard (admins: it changes how every later review is scored)."""
    require(actor, Permission.CHANGE_SETTINGS)
    card.check()
    with transaction.atomic():
        row = ProgrammeSettings.objects.order_by("pk").first() or ProgrammeSettings()
        before = dict(row.quality_scorecard or {})
        row.quality_scorecard = card.to_json()
        row.save()
        audit(
            actor,
            "settings_change",
            object_type="programme_quality_scorecard",
            object_id=row.pk,
            detail={"before": before, "after": row.quality_scorecard},
        )
    return card


def save_review(
    attempt_id: int, reviewer: User, *, scores: dict[str, int], comments: str
) -> ContactReview:
    """Record (or change) the supervisor's scores of one attempt on the scorecard; the rating
    is their weighted mean, rounded (``ScorecardError`` when a criterion is not scored 1-5)."""
    require(Actor.of(reviewer), Permission.REVIEW_QUALITY)
    card = scorecard()
    rating = card.rating(scores)
    attempt = get_object_or_404(ContactAttempt, pk=attempt_id)
    review, _ = ContactReview.objects.update_or_create(
        attempt=attempt,
        reviewer=reviewer,
        defaults={
            "rating": rating,
            "scores": card.record(scores),
            "comments": comments.strip(),
        },
    )
    return review


def ratings_by_agent(lang: str = "zh-hans", card: Scorecard | None = None) -> list[dict[str, Any]]:
    """Average rating per agent over every review, best first (one query), with the average
    score of each criterion of the scorecard in force (reviews that scored it)."""
    rows = (
        ContactReview.objects.values("attempt__agent_id", "attempt__agent__username")
        .annotate(reviews=Count("pk"), average=Avg("rating"))
        .order_by("-average", "attempt__agent__username")
    )
    card = card or scorecard()
    by_criterion = _criterion_averages(card)
    return [
        {
            "agent": r["attempt__agent__username"] or "-",
            "reviews": r["reviews"],
            "average": float(r["average"]),
            "criteria": [
                (c.label(lang), by_criterion.get((r["attempt__agent_id"], c.code)))
                for c in card.criteria
            ],
        }
        for r in rows
    ]


def _criterion_averages(card: Scorecard) -> dict[tuple[int | None, str], float]:
    """Average score per (agent, criterion) over the reviews scored on a scorecard: the stored
    scores are unnested in Polars, not walked review by review."""
    stored = list(
        ContactReview.objects.exclude(scores={}).values_list("attempt__agent_id", "scores")
    )
    if not stored:
        return {}
    frame = (
        pl.DataFrame(
            {
                "agent": [a for a, _ in stored],
                "criteria": [(s or {}).get("criteria") or [] for _, s in stored],
            },
            schema={
                "agent": pl.Int64(),
                "criteria": pl.List(pl.Struct({"code": pl.String(), "score": pl.Int64()})),
            },
        )
        .explode("criteria")
        .unnest("criteria")
        .filter(pl.col("code").is_in([c.code for c in card.criteria]))
        .group_by("agent", "code")
        .agg(pl.col("score").mean())
    )
    return {(a, c): float(v) for a, c, v in frame.iter_rows()}


def agents_in_sample(items: list[ReviewItem]) -> int:
    return len({i.attempt.agent_id for i in items})


def recent_reviews() -> list[ContactReview]:
    return list(
        ContactReview.objects.select_related(
            "reviewer", "attempt__agent", "attempt__task__customer"
        ).order_by("-updated_at", "-pk")[:RECENT_REVIEWS]
    )


def quality_page(reviewer: User, *, day: date, lang: str) -> dict[str, Any]:
    window = sample_window(day)
    card = scorecard()
    items = (
        review_items(sample_ids(day, reviewer, window=window), reviewer, lang=lang, card=card)
        if window
        else []
    )
    return {
        "day": day,
        "window": window,
        "items": items,
        "by_agent": ratings_by_agent(lang, card),
        "recent": recent_reviews(),
        "scorecard": card,
        "lang": lang,
    }
