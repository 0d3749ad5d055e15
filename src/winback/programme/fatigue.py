"""Contact fatigue: frequency caps and allowed contact hours (R6, R13).

Seed 004 warns that over-contacting sleeping customers gets the business blocked; R13 asks that
frequency caps protect customers from harassment. Two caps apply to every customer at once:

* the business-wide cap (``profile.programme.max_contacts_in_window`` outbound contacts in
  the last ``contact_window_days`` days), and
* the cap of the customer's lifecycle stage (:class:`~winback.programme.playbooks.StagePolicy`,
  e.g. sleeping: 2 per 60 days, lost: 2 per 90 days).

A customer at or over either cap (count >= cap) is not contacted. Only outbound contacts count:
a customer calling us is not being harassed. Contacts after ``as_of`` are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from winback.programme.frames import CONTACT_HISTORY
from winback.programme.playbooks import Playbooks

# Customer-local hours [start, end) in which each channel may reach a customer. Phone calls
# keep to daytime; messages may arrive a little later; e-mail waits in the inbox.
DEFAULT_ALLOWED_HOURS: dict[str, tuple[int, int]] = {
    "phone": (9, 20),
    "sms": (9, 21),
    "wechat": (9, 21),
    "visit": (9, 18),
    "email": (0, 24),
}
# When the call centre plans to work each channel, in business time (hour of day).
DEFAULT_PLANNED_HOURS: dict[str, int] = {
    "phone": 10,
    "sms": 10,
    "wechat": 10,
    "visit": 14,
    "email": 10,
}


@dataclass(frozen=True)
class ContactHours:
    allowed: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: dict(DEFAULT_ALLOWED_HOURS)
    )
    planned: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PLANNED_HOURS))
    business_utc_offset_minutes: int = 480  # Asia/Shanghai

    def __post_init__(self) -> None:
        for channel, (start, end) in self.allowed.items():
            if not 0 <= start < end <= 24:
                raise ValueError(
                    f"allowed hours of {channel!r} must satisfy 0 <= start < end <= 24"
                )
        missing = set(self.planned) - set(self.allowed)
        if missing:
            raise ValueError(f"planned hours for channels without allowed hours: {missing}")


def contact_counts(contacts: pl.DataFrame, as_of: date, windows: tuple[int, ...]) -> pl.DataFrame:
    """Outbound contacts per customer in the last ``w`` days up to ``as_of``, for each ``w``.

    Returns ``customer_pk`` and one ``contacts_{w}d`` column per window (customers without
    contacts are absent; treat missing as 0).
    """
    frame = CONTACT_HISTORY.conform(contacts)
    return _counts(frame, as_of, windows)


def _counts(frame: pl.DataFrame, as_of: date, windows: tuple[int, ...]) -> pl.DataFrame:
    longest = max(windows)
    recent = frame.filter(
        (pl.col("direction") == "outbound")
        & pl.col("occurred_date").is_between(as_of - timedelta(days=longest - 1), as_of)
    )
    return recent.group_by("customer_pk").agg(
        [
            (pl.col("occurred_date") > as_of - timedelta(days=w)).sum().alias(f"contacts_{w}d")
            for w in windows
        ]
    )


def over_contact_cap(
    customers: pl.DataFrame,
    contacts: pl.DataFrame,
    as_of: date,
    *,
    max_contacts: int,
    window_days: int,
    playbooks: Playbooks,
) -> pl.DataFrame:
    """Flag customers at or over the business-wide cap or their stage's cap.

    ``customers`` needs ``customer_pk`` and ``stage``. Returns ``customer_pk``,
    ``contacts_in_window`` (business window), ``stage_contacts`` (stage window) and
    ``over_cap``.
    """
    history = CONTACT_HISTORY.conform(contacts)
    return over_cap_flags(
        customers.select(pl.col("customer_pk").cast(pl.Int64), pl.col("stage").cast(pl.String)),
        history,
        as_of,
        max_contacts=max_contacts,
        window_days=window_days,
        playbooks=playbooks,
    )


def over_cap_flags(
    customers: pl.DataFrame,
    history: pl.DataFrame,
    as_of: date,
    *,
    max_contacts: int,
    window_days: int,
    playbooks: Playbooks,
) -> pl.DataFrame:
    stage_windows = tuple(sorted({p.window_days for p in playbooks.stage_policies}))
    windows = tuple(sorted({window_days, *stage_windows}))
    counts = _counts(history, as_of, windows)
    stage = playbooks.stage_frame().select("stage", "stage_max_contacts", "stage_window_days")
    stage_count = pl.lit(0, dtype=pl.Int64)
    for w in stage_windows:
        stage_count = (
            pl.when(pl.col("stage_window_days") == w)
            .then(pl.col(f"contacts_{w}d"))
            .otherwise(stage_count)
        )
    return (
        customers.join(counts, on="customer_pk", how="left")
        .join(stage, on="stage", how="left")
        .with_columns(pl.col(f"contacts_{w}d").fill_null(0).cast(pl.Int64) for w in windows)
        .with_columns(
            contacts_in_window=pl.col(f"contacts_{window_days}d"),
            stage_contacts=stage_count.cast(pl.Int64),
        )
        .with_columns(
            over_cap=(pl.col("contacts_in_window") >= max_contacts)
            | (
                pl.col("stage_max_contacts").is_not_null()
                & (pl.col("stage_contacts") >= pl.col("stage_max_contacts"))
            )
        )
        .select("customer_pk", "contacts_in_window", "stage_contacts", "over_cap")
    )


def local_minute(channel: pl.Expr, utc_offset: pl.Expr, hours: ContactHours) -> pl.Expr:
    """The customer-local minute of day at which ``channel`` is planned to reach them."""
    planned = channel.replace_strict(
        {c: h * 60 for c, h in hours.planned.items()}, default=None, return_dtype=pl.Int64
    )
    shift = utc_offset.fill_null(hours.business_utc_offset_minutes) - (
        hours.business_utc_offset_minutes
    )
    return (planned + shift) % 1440


def outside_allowed_hours(channel: pl.Expr, utc_offset: pl.Expr, hours: ContactHours) -> pl.Expr:
    """True where the planned contact time falls outside the channel's allowed local hours
    (also for channels without a planned time or allowed hours)."""
    minute = local_minute(channel, utc_offset, hours)
    start = channel.replace_strict(
        {c: s * 60 for c, (s, _) in hours.allowed.items()}, default=None, return_dtype=pl.Int64
    )
    end = channel.replace_strict(
        {c: e * 60 for c, (_, e) in hours.allowed.items()}, default=None, return_dtype=pl.Int64
    )
    inside = (minute >= start) & (minute < end)
    return ~inside.fill_null(False)
