"""Reads for the Alerts page."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, Q

from tickets.models import Ticket
from tickets.selectors import visible_tickets


def escalation_counts(agent: Any) -> dict[str, int]:
    """Open tickets the agent may see: ``warned`` (warned for their current wait, not yet
    escalated), ``escalated``, and ``escalated_to_me``. One query."""
    current = F("awaiting_reply_since")
    escalated = Q(escalated_at__isnull=False) | Q(escalated_to__isnull=False)
    warned = Q(escalation_warned_at__gte=current, escalated_to__isnull=True) & (
        Q(escalated_at__isnull=True) | Q(escalated_at__lt=current)
    )
    return (
        visible_tickets(agent)
        .exclude(status=Ticket.Status.CLOSED)
        .aggregate(
            warned=Count("pk", filter=warned),
            escalated=Count("pk", filter=escalated),
            escalated_to_me=Count("pk", filter=Q(escalated_to=agent)),
        )
    )
