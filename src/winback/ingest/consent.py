"""Sticky consent (R13): what an import may and may not do to a withdrawal.

A do-not-contact request and a withdrawn marketing consent stay in force whatever a later file
says, unless that file's row carries an explicit, dated re-consent (``reconsent_date``) later
than the withdrawal (and later than any re-consent stored before). Only then does the file's
``do_not_contact`` / ``consent_marketing`` value take effect. A withdrawal's date is kept:
the do-not-contact date and source of the first request, and ``consent_withdrawn_date`` the
day an import (or anything else) first saw the consent withdrawn.

Pure and vectorised: ``rows`` are the import's customer rows, ``stored`` the stored state of
those already in the database (``_id`` joins them; new customers have none).
"""

from __future__ import annotations

from datetime import date

import polars as pl

STORED_SCHEMA: dict[str, pl.DataType] = {
    "_id": pl.Int64(),
    "s_dnc": pl.Boolean(),
    "s_dnc_date": pl.Date(),  # the business-local day of the do-not-contact request
    "s_dnc_source": pl.String(),
    "s_consent": pl.Boolean(),
    "s_withdrawn": pl.Date(),
    "s_reconsent": pl.Date(),
}
WITHDRAWN = "consent_withdrawn_date"
RECONSENT = "reconsent_date"


def apply_sticky_consent(rows: pl.DataFrame, stored: pl.DataFrame, today: date) -> pl.DataFrame:
    """``rows`` with do-not-contact, consent, their dates and the re-consent date as they
    must be stored (``rows`` holds ``_id``, null for new customers)."""
    joined = rows.join(stored, on="_id", how="left", maintain_order="left")
    r = pl.col(RECONSENT)
    newer = r.is_not_null() & (pl.col("s_reconsent").is_null() | (r > pl.col("s_reconsent")))
    lift_dnc = newer & (pl.col("s_dnc_date").is_null() | (r > pl.col("s_dnc_date")))
    lift_consent = newer & (pl.col("s_withdrawn").is_null() | (r > pl.col("s_withdrawn")))
    keep_dnc = pl.col("s_dnc").fill_null(False) & ~lift_dnc
    keep_withdrawal = (~pl.col("s_consent").fill_null(True)) & ~lift_consent
    consent = pl.when(keep_withdrawal).then(False).otherwise(pl.col("consent_marketing"))
    merged = joined.with_columns(
        pl.when(keep_dnc).then(True).otherwise(pl.col("do_not_contact")).alias("do_not_contact"),
        pl.when(keep_dnc)
        .then(pl.col("s_dnc_date"))
        .otherwise(pl.col("do_not_contact_date"))
        .alias("do_not_contact_date"),
        pl.when(keep_dnc)
        .then(pl.col("s_dnc_source"))
        .otherwise(pl.col("do_not_contact_source"))
        .alias("do_not_contact_source"),
        consent.alias("consent_marketing"),
        pl.when(consent.fill_null(True))
        .then(pl.lit(None, pl.Date))
        .otherwise(
            pl.when(keep_withdrawal)
            .then(pl.coalesce(pl.col("s_withdrawn"), pl.lit(today)))
            .otherwise(pl.lit(today))
        )
        .alias(WITHDRAWN),
        pl.max_horizontal(r, pl.col("s_reconsent")).alias(RECONSENT),
    )
    return merged.drop(list(STORED_SCHEMA)[1:])
