"""What is on the desk now: open tickets by ticketbox, owner, age band or priority."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Case, Count, IntegerField, Min, Value, When

from reports.history import labels_of
from reports.scope import tickets_in_scope
from reports.table import Column, Filters, Table
from tickets.models import Ticket

OPEN_BY = {"ticketbox": "Ticketbox", "owner": "Owner", "age": "Age", "priority": "Priority"}
# (label, younger than this many days); the last band has no upper bound.
AGE_BANDS = [("Under 1 day", 1), ("1–3 days", 3), ("3–7 days", 7), ("7–30 days", 30)]
OLDER = "30 days or more"


def _age_band(filters: Filters) -> Case:
    whens = [
        When(created_at__gt=filters.now - timedelta(days=days), then=Value(n))
        for n, (_, days) in enumerate(AGE_BANDS)
    ]
    return Case(*whens, default=Value(len(AGE_BANDS)), output_field=IntegerField())


def open_tickets(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    """Tickets not closed (snapshot at ``filters.now``), counted per group, with the
    oldest one's creation time."""
    by = filters.by if filters.by in OPEN_BY else "ticketbox"
    tickets = tickets_in_scope(agent, filters).exclude(status=Ticket.Status.CLOSED)
    tickets = tickets.filter(created_at__lte=filters.now)
    field = "group" if by == "age" else by
    if by == "age":
        tickets = tickets.annotate(group=_age_band(filters))
    grouped = (
        tickets.values(field).annotate(tickets=Count("id"), oldest=Min("created_at")).order_by()
    )
    found = {row[field]: row for row in grouped}
    if by == "age":
        labels = {n: label for n, (label, _) in enumerate(AGE_BANDS)} | {len(AGE_BANDS): OLDER}
        keys: list[Any] = list(labels)
    elif by == "priority":
        labels = dict(Ticket.Priority.choices)
        keys = sorted(labels, reverse=True)
    else:
        labels = labels_of("agent" if by == "owner" else "ticketbox", {k for k in found if k})
        keys = sorted(found, key=lambda k: (k is None, labels.get(k, "").lower()))
    columns = [
        Column("group", OPEN_BY[by], "text"),
        Column("tickets", "Open tickets"),
        Column("oldest", "Oldest since", "datetime"),
    ]
    rows = []
    for key in keys:
        row = found.get(key, {})
        name = labels.get(key, "Nobody") if key is not None else "Nobody"
        rows.append((name, row.get("tickets", 0), row.get("oldest")))
    return Table(columns, rows)
