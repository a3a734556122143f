"""Who has a ticket open, and who is writing a reply: the collision notice.

Each open ticket page sends a heartbeat every 15 seconds; a viewer not heard from for 45
seconds is gone. Kept in the database so every web process sees the same viewers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.agents import agent_name

STALE_AFTER = timedelta(seconds=45)


class TicketViewer(models.Model):
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    composing = models.BooleanField(default=False)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "agent"], name="ticketviewer_unique")
        ]
        indexes = [models.Index(fields=["ticket", "seen_at"], name="ticketviewer_recent")]

    def __str__(self) -> str:
        return f"{self.agent} on {self.ticket_id}"


def heartbeat(ticket_id: int, agent: Any, *, composing: bool) -> list[dict[str, Any]]:
    """Record that ``agent`` is on the ticket; return the other agents there now."""
    now = timezone.now()
    TicketViewer.objects.update_or_create(
        ticket_id=ticket_id, agent=agent, defaults={"composing": composing, "seen_at": now}
    )
    others = (
        TicketViewer.objects.filter(ticket_id=ticket_id, seen_at__gte=now - STALE_AFTER)
        .exclude(agent=agent)
        .select_related("agent")
        .order_by("agent__username")
    )
    TicketViewer.objects.filter(seen_at__lt=now - STALE_AFTER * 20).delete()
    return [{"name": agent_name(v.agent), "composing": v.composing} for v in others]
