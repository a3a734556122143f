"""Reports over time: mail in and out, messages per ticket, escalations and alerts.

Each is one or two grouped queries (a row per period); the periods with nothing in them
are filled with zeros so charts and spreadsheets show the gaps.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum

from reports.scope import (
    alerts_in_scope,
    escalations_in_scope,
    messages_in_scope,
    period_of,
    tickets_in_scope,
)
from reports.table import Column, Filters, Table, periods
from tickets.models import Message

PERIOD = Column("period", "Period", "date")
# Mail of the tickets in scope, counted from their join with their messages (filtered by
# the messages' date). Counting the message's date, not its id, lets the covering index
# (reports migration 0002) answer alone.
MAIL_COUNTS = {
    "inbound": Count("messages__date", filter=Q(messages__direction=Message.Direction.IN)),
    "outbound": Count("messages__date", filter=Q(messages__direction=Message.Direction.OUT)),
}


def by_period(filters: Filters, *counts: dict[date, dict[str, int]]) -> list[dict[str, Any]]:
    """One dict per period of the range, merging the grouped counts (missing: 0)."""
    rows = []
    for period in periods(filters.date_from, filters.date_to, filters.grouping):
        row: dict[str, Any] = {"period": period}
        for found in counts:
            row.update(found.get(period, {}))
        rows.append(row)
    return rows


def per_period(
    rows: QuerySet[Any], field: str, filters: Filters, **counts: Any
) -> dict[date, dict[str, int]]:
    """``counts`` (aggregates) of the rows whose ``field`` falls in the range, per period:
    one grouped query."""
    grouped = (
        rows.filter(**{f"{field}__gte": filters.start, f"{field}__lt": filters.end})
        .annotate(period=period_of(field, filters.grouping))
        .values("period")
        .annotate(**counts)
        .order_by()
    )
    return {row.pop("period"): row for row in grouped}


def message_trend(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    """Customer mail received and replies written, per period (by the mail's date)."""
    # From the messages' side (a semi-join with the tickets in scope): PostgreSQL runs
    # it from the covering index, faster than joining from the tickets.
    mail = per_period(
        messages_in_scope(agent, filters),
        "date",
        filters,
        inbound=Count("ticket", filter=Q(direction=Message.Direction.IN)),
        outbound=Count("ticket", filter=Q(direction=Message.Direction.OUT)),
    )
    columns = [PERIOD, Column("inbound", "Inbound"), Column("outbound", "Outbound")]
    merged = by_period(filters, mail)
    rows = [(r["period"], r.get("inbound", 0), r.get("outbound", 0)) for r in merged]
    return Table(columns, rows)


def messages_per_ticket(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    """Tickets opened in each period, all their messages, and the average per ticket."""
    # Each ticket's messages counted by a correlated subquery (an index-only count per
    # ticket): on a year of tickets PostgreSQL plans it well, unlike the join.
    per_ticket = (
        Message.objects.filter(ticket=OuterRef("pk"))
        .order_by()
        .values("ticket")
        .annotate(n=Count("*"))
        .values("n")
    )
    opened = per_period(
        tickets_in_scope(agent, filters),
        "created_at",
        filters,
        tickets=Count("id"),
        messages=Sum(Subquery(per_ticket, output_field=IntegerField())),
    )
    columns = [
        PERIOD,
        Column("tickets", "Tickets"),
        Column("messages", "Messages"),
        Column("average", "Messages per ticket", "float"),
    ]
    rows = []
    for r in by_period(filters, opened):
        count, mail = r.get("tickets", 0), r.get("messages") or 0
        rows.append((r["period"], count, mail, round(mail / count, 2) if count else None))
    return Table(columns, rows)


def escalations_and_alerts(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    """Tickets escalated and alerts raised per period."""
    escalated = per_period(
        escalations_in_scope(agent, filters), "created_at", filters, escalations=Count("id")
    )
    alerts = [
        per_period(part, "created_at", filters, alerts=Count("id"))
        for part in alerts_in_scope(agent, filters)
    ]
    columns = [PERIOD, Column("escalations", "Escalations"), Column("alerts", "Alerts")]
    rows = []
    for r in by_period(filters, escalated):
        raised = sum(part.get(r["period"], {}).get("alerts", 0) for part in alerts)
        rows.append((r["period"], r.get("escalations", 0), raised))
    return Table(columns, rows)
