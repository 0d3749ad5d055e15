"""Phone masking for call lists and exports, by role (R13).

An agent sees the full number only of the customers assigned to them (they have to dial);
supervisors reviewing quality and analysts see ``138****5678``: the first three and last four
digits, enough to tell numbers apart, not enough to call.
"""

from __future__ import annotations

import re

import polars as pl

ROLES = ("admin", "supervisor", "agent")
_NON_DIGIT = re.compile(r"\D")


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; a +86 / 0086 prefix is dropped first; numbers with
    fewer than 8 digits keep only their last two."""
    if phone is None:
        return None
    digits = _NON_DIGIT.sub("", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    if not digits:
        return ""
    if len(digits) < 8:
        return "*" * (len(digits) - 2) + digits[-2:] if len(digits) > 2 else "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_phone_expr(phone: pl.Expr) -> pl.Expr:
    """The vectorised form of :func:`mask_phone` for a string column."""
    digits = phone.str.replace_all(r"\D", "")
    digits = (
        pl.when((digits.str.len_chars() == 13) & digits.str.starts_with("86"))
        .then(digits.str.slice(2))
        .when((digits.str.len_chars() == 15) & digits.str.starts_with("0086"))
        .then(digits.str.slice(4))
        .otherwise(digits)
    )
    n = digits.str.len_chars().cast(pl.Int64)
    # Every branch is evaluated on every row, so each repeat count is kept at 0 or more for
    # the rows another branch serves (Polars refuses a negative count).
    long = pl.concat_str(
        digits.str.slice(0, 3),
        pl.lit("*").repeat_by((n - 7).clip(lower_bound=0)).list.join(""),
        digits.str.slice(-4),
    )
    short = pl.concat_str(
        pl.lit("*").repeat_by((n - 2).clip(lower_bound=0)).list.join(""),
        digits.str.slice(-2),
    )
    return (
        pl.when(phone.is_null())
        .then(phone)  # keeps the column's name
        .when(n >= 8)
        .then(long)
        .when(n > 2)
        .then(short)
        .otherwise(pl.lit("*").repeat_by(n).list.join(""))
    )


def phones_for_role(
    frame: pl.DataFrame, *, role: str, viewer_agent_id: int | None = None
) -> pl.DataFrame:
    """Replace ``phone`` by what ``role`` may see: full only for an agent's own customers.

    ``frame`` needs ``phone`` and, for agents, ``agent_id``.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {ROLES}")
    masked = mask_phone_expr(pl.col("phone"))
    if role != "agent" or viewer_agent_id is None:
        return frame.with_columns(phone=masked)
    own = pl.col("agent_id") == viewer_agent_id
    return frame.with_columns(
        phone=pl.when(own.fill_null(False)).then(pl.col("phone")).otherwise(masked)
    )
