"""Reads for the Alerts page, access-checked through the ticket selector."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from tickets.models import Ticket, TicketEvent
from tickets.selectors import visible_tickets


def escalation_counts(agent: Any) -> dict[str, int]:
    """Open tickets the agent may see that were warned about (not yet escalated) and that
    are escalated, in one query."""
    open_tickets = visible_tickets(agent).exclude(status=Ticket.Status.CLOSED)
    warned = Q(escalated_to__isnull=True) & Q(
        pk__in=TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATION_WARNING).values(
            "ticket_id"
        )
    )
    return open_tickets.aggregate(
        warned=Count("pk", filter=warned),
        escalated=Count("pk", filter=Q(escalated_to__isnull=False)),
    )
