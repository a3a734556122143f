"""An agent's alerts, as the Alerts shortcut lists them (only the agent's own copies)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from alerts.models import AlertKind, AlertReceipt

SHOWS = {"unread": "Unread", "all": "All"}


def receipts_for(agent: Any, *, show: str = "unread", kind: str = "") -> QuerySet[AlertReceipt]:
    """The agent's alerts not cleared, newest first (unread only unless show="all")."""
    receipts = AlertReceipt.objects.filter(agent=agent, cleared_at__isnull=True)
    if show != "all":
        receipts = receipts.filter(read_at__isnull=True)
    if kind in AlertKind.values:
        receipts = receipts.filter(alert__kind=kind)
    return receipts.select_related("alert", "alert__ticket", "alert__ticketbox").order_by(
        "-alert__created_at", "-pk"
    )
