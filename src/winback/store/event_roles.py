"""SQL conditions on an event's type by role, for the queries that read events by name.

The analysis reads every event by its type's role (:mod:`winback.store.extract`); the contact
gate and the round planner read complaints straight from the events table, and use this so a
type of the business's own in the complaint role counts as a complaint there too.
"""

from __future__ import annotations

from winback.store.tables import tables
from winback.vocabulary import EventRole


def is_complaint_sql(column: str) -> str:
    """``column`` (an event's type code) names a complaint: the built-in type, active or not
    (a complaint still open protects the customer after its type was retired), or an active type
    of the business's own in the complaint role. ``column`` is a trusted column name."""
    complaint = EventRole.COMPLAINT.value  # a constant of the vocabulary: safe to inline
    return (
        f"({column} = '{complaint}' OR {column} IN (SELECT d.code FROM {tables().event_type} d "
        f"WHERE d.role = '{complaint}' AND d.active))"
    )
