"""A call task's offer menu as stored (``CallTask.offer_menu``): written and read here only.

The planner's menu (:data:`winback.programme.frames.OFFER_MENU` rows) is stored per call task
as a JSON list, best offer first::

    [{"offer_code": "V20", "kind": "voucher", "cost": 20.0, "category_code": "A01",
      "contact_date": "2024-06-03", "menu_rank": 1}, ...]

:func:`menu_json` writes it column-wise for a whole round; :class:`OfferMenu` reads one (the
call page, the API, the call lists, monitoring and the simulation all go through it). Rows
written before ``menu_rank`` was stored are in menu order, so a missing rank is the position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

# JSON key -> OFFER_MENU column (the same names: the JSON is the frame's row).
KEYS = ("offer_code", "kind", "cost", "category_code", "contact_date", "menu_rank")
COST_DECIMALS = 2


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class MenuOffer:
    code: str
    rank: int  # 1 = best
    kind: str = ""
    cost: float | None = None
    category: str = ""  # the favourite category the offer was matched to, "" if none
    contact_date: str = ""  # ISO date suggested for presenting it, "" if none

    @classmethod
    def from_json(cls, item: Any, position: int) -> MenuOffer | None:
        """One stored item (``position`` is 1-based); None for an item without a code."""
        if not isinstance(item, dict) or not item.get("offer_code"):
            return None
        rank = item.get("menu_rank")
        return cls(
            code=str(item["offer_code"]),
            rank=int(rank) if isinstance(rank, int) and not isinstance(rank, bool) else position,
            kind=_text(item.get("kind")),
            cost=_number(item.get("cost")),
            category=_text(item.get("category_code")),
            contact_date=_text(item.get("contact_date")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "offer_code": self.code,
            "kind": self.kind,
            "cost": None if self.cost is None else round(self.cost, COST_DECIMALS),
            "category_code": self.category or None,
            "contact_date": self.contact_date or None,
            "menu_rank": self.rank,
        }


@dataclass(frozen=True)
class OfferMenu:
    offers: tuple[MenuOffer, ...] = ()

    @classmethod
    def from_json(cls, value: Any) -> OfferMenu:
        """The stored value (anything that is not a list reads as an empty menu)."""
        items = value if isinstance(value, list) else []
        read = (MenuOffer.from_json(item, i) for i, item in enumerate(items, start=1))
        offers = sorted((o for o in read if o is not None), key=lambda o: o.rank)
        return cls(tuple(offers))

    def to_json(self) -> list[dict[str, Any]]:
        return [o.to_json() for o in self.offers]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.offers)

    @property
    def first(self) -> MenuOffer | None:
        return self.offers[0] if self.offers else None

    def find(self, code: str) -> MenuOffer | None:
        return next((o for o in self.offers if o.code == code), None)


def menu_json(offers: pl.DataFrame) -> pl.DataFrame:
    """``customer_pk`` and the JSON text of their menu (the :class:`OfferMenu` layout), for
    every customer with offers, built column-wise (a round has tens of thousands of tasks)."""
    item = pl.struct(
        "offer_code",
        "kind",
        pl.col("cost").round(COST_DECIMALS),
        "category_code",
        pl.col("contact_date").cast(pl.String),
        pl.col("menu_rank").cast(pl.Int64),
    )
    return (
        offers.sort(["customer_pk", "menu_rank"])
        .group_by("customer_pk", maintain_order=True)
        .agg(menu=item.struct.json_encode())
        .select(
            "customer_pk",
            offer_menu=pl.concat_str(pl.lit("["), pl.col("menu").list.join(","), pl.lit("]")),
        )
    )
