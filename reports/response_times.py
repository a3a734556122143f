"""First response and resolution times by agent (ticket owner) or by ticketbox.

For tickets opened in the date range: how long until the first reply and until closing,
median and 90th percentile, computed by the database (``reports.aggregates.Percentile``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F

from reports.aggregates import Percentile, SecondsBetween, as_duration
from reports.history import labels_of
from reports.scope import tickets_in_scope
from reports.table import Column, Filters, Table

RESPONSE_BY = {"agent": "Agent", "ticketbox": "Ticketbox"}


def response_times(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    by = filters.by if filters.by in RESPONSE_BY else "agent"
    field = "owner" if by == "agent" else "ticketbox"
    first = SecondsBetween(F("first_response_at"), F("created_at"))
    resolution = SecondsBetween(F("closed_at"), F("created_at"))
    grouped = (
        tickets_in_scope(agent, filters)
        .filter(created_at__gte=filters.start, created_at__lt=filters.end)
        .values(field)
        .annotate(
            tickets=Count("id"),
            answered=Count("first_response_at"),
            first_median=Percentile(first, 0.5),
            first_p90=Percentile(first, 0.9),
            closed=Count("closed_at"),
            resolution_median=Percentile(resolution, 0.5),
            resolution_p90=Percentile(resolution, 0.9),
        )
        .order_by()
    )
    found = list(grouped)
    labels = labels_of(by, {row[field] for row in found if row[field]})
    columns = [
        Column("name", RESPONSE_BY[by], "text"),
        Column("tickets", "Tickets opened"),
        Column("answered", "Answered"),
        Column("first_median", "First response, median", "duration"),
        Column("first_p90", "First response, 90th percentile", "duration"),
        Column("closed", "Closed"),
        Column("resolution_median", "Resolution, median", "duration"),
        Column("resolution_p90", "Resolution, 90th percentile", "duration"),
    ]
    rows = [
        (
            labels.get(row[field], "Nobody") if row[field] else "Nobody",
            row["tickets"],
            row["answered"],
            as_duration(row["first_median"]),
            as_duration(row["first_p90"]),
            row["closed"],
            as_duration(row["resolution_median"]),
            as_duration(row["resolution_p90"]),
        )
        for row in found
    ]
    rows.sort(key=lambda r: (r[0] == "Nobody", str(r[0]).lower()))
    return Table(columns, rows)
