"""What every workspace view shares: the agent, the sidebar, the page size."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest

from alerts.services import unread_count
from reports.scope import can_report
from tickets.agents import AgentProfile
from tickets.models import Ticket
from tickets.selectors import box_levels, visible_tickets


def profile_of(agent: Any) -> AgentProfile:
    profile = getattr(agent, "_mailflow_profile", None)
    if profile is None:
        profile, _ = AgentProfile.objects.get_or_create(agent=agent)
        agent._mailflow_profile = profile
    return profile


def sidebar(request: HttpRequest) -> dict[str, Any]:
    """My Shortcuts: my open tickets, my shortcut ticketboxes with open counts (one
    grouped query), other agents I review, my unread alerts, the trash."""
    agent: Any = request.user
    profile = profile_of(agent)
    levels = box_levels(agent)
    boxes = list(profile.shortcut_ticketboxes.all())
    if levels is not None:
        boxes = [box for box in boxes if box.pk in levels]
    open_tickets = visible_tickets(agent).exclude(status=Ticket.Status.CLOSED)
    counts = dict(
        open_tickets.filter(ticketbox__in=boxes)
        .values_list("ticketbox")
        .annotate(n=Count("id"))
        .values_list("ticketbox", "n")
    )
    return {
        "profile": profile,
        "shortcut_boxes": [(box, counts.get(box.pk, 0)) for box in boxes],
        "my_open": open_tickets.filter(owner=agent).count(),
        "unread_alerts": unread_count(agent),
        "can_report": can_report(agent),
        "shortcut_agents": list(profile.shortcut_agents.all()) if levels is None or levels else [],
    }
