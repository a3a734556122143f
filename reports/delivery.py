"""Outbound mail: how it went, per period, and bounces by category.

States are the spool's current ones (``conduit.outbound.OutboundMessage.State``) for the
mail queued in each period.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from conduit.outbound import BounceCategory, OutboundMessage
from reports.scope import outbound_in_scope
from reports.table import Column, Filters, Table
from reports.trends import PERIOD, by_period, per_period

State = OutboundMessage.State
SHOWN = [State.SENT, State.DEFERRED, State.FAILED, State.BOUNCED]


def delivery(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    found = per_period(
        outbound_in_scope(agent, filters),
        "created_at",
        filters,
        mails=Count("id"),
        **{str(state): Count("id", filter=Q(state=state)) for state in SHOWN},
    )
    columns = [PERIOD, Column("mails", "Mails queued")]
    columns += [Column(str(state), State(state).label.split(",")[0]) for state in SHOWN]
    keys = [c.key for c in columns[1:]]
    rows = [(r["period"], *(r.get(key, 0) for key in keys)) for r in by_period(filters, found)]
    return Table(columns, rows)


def bounces(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    grouped = (
        outbound_in_scope(agent, filters)
        .filter(created_at__gte=filters.start, created_at__lt=filters.end)
        .exclude(bounce_category="")
        .values("bounce_category")
        .annotate(bounced=Count("id"), hard=Count("id", filter=Q(bounce_hard=True)))
        .order_by()
    )
    found = {row["bounce_category"]: row for row in grouped}
    columns = [
        Column("category", "Category", "text"),
        Column("bounced", "Bounces"),
        Column("hard", "Of which hard"),
    ]
    rows = [
        (label, found[value]["bounced"], found[value]["hard"])
        for value, label in BounceCategory.choices
        if value in found
    ]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return Table(columns, rows)
