"""New-ticket notifications: agents who opted in (AgentProfile.notify_new_tickets) hear of
each new ticket in the ticketboxes they may read, in the app, and by email with
``notify_by_email``. Called by routing once per batch, in its transaction; a constant
number of queries per batch (plus one email per agent who wants them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import AlertDraft, alert_type, queue_notification, raise_alerts
from tickets.agents import ADMINISTRATORS
from tickets.models import Ticket, TicketboxAccess


def notify_new_tickets(tickets: Sequence[Ticket]) -> None:
    tickets = list({t.pk: t for t in tickets if t.deleted_at is None}.values())
    if not tickets or not alert_type(AlertKind.NEW_TICKET).enabled:
        return
    User = get_user_model()
    people = {
        pk: (email, by_email, superuser)
        for pk, email, by_email, superuser in User.objects.filter(
            is_active=True, profile__notify_new_tickets=True
        ).values_list("pk", "email", "profile__notify_by_email", "is_superuser")
    }
    if not people:
        return
    groups = defaultdict(set)
    for user, group in User.groups.through.objects.filter(user_id__in=list(people)).values_list(
        "user_id", "group__name"
    ):
        groups[user].add(group)
    readers = _readers({t.ticketbox_id for t in tickets}, groups)
    admins = {pk for pk, (_, _, su) in people.items() if su or ADMINISTRATORS in groups[pk]}
    drafts = []
    for ticket in tickets:
        wanted = (readers.get(ticket.ticketbox_id, set()) & set(people)) | admins
        if wanted:
            drafts.append(
                AlertDraft(
                    title=f"New ticket #{ticket.number} in {ticket.ticketbox.name}: "
                    f"{ticket.subject}",
                    ticket_id=ticket.pk,
                    ticketbox_id=ticket.ticketbox_id,
                    agent_ids=frozenset(wanted),
                    once_key=f"new_ticket:{ticket.pk}",
                )
            )
    alerts = raise_alerts(
        AlertKind.NEW_TICKET, drafts, severity="info", now=timezone.now(), type_recipients=False
    )
    wanted_by = {d.ticket_id: d.agent_ids for d in drafts}
    _email_agents(people, [(a.title, wanted_by[a.ticket_id]) for a in alerts])


def _readers(boxes: set[int], groups: dict[int, set[str]]) -> dict[int, set[int]]:
    """Per ticketbox, which of these agents may read it (granted directly or to a group)."""
    readers: dict[int, set[int]] = defaultdict(set)
    for box, agent, group in TicketboxAccess.objects.filter(ticketbox_id__in=boxes).values_list(
        "ticketbox_id", "agent_id", "group__name"
    ):
        if agent:
            readers[box].add(agent)
        else:
            readers[box].update(pk for pk, names in groups.items() if group in names)
    return readers


def _email_agents(people: dict[int, Any], sent: list[tuple[str, frozenset[int]]]) -> None:
    """One email per agent who wants them, listing the batch's new tickets."""
    per_agent: dict[int, list[str]] = defaultdict(list)
    for title, agents in sent:
        for agent in agents:
            email, by_email, _ = people[agent]
            if by_email and email:
                per_agent[agent].append(title)
    for agent, titles in per_agent.items():
        subject = titles[0] if len(titles) == 1 else f"{len(titles)} new tickets"
        link = settings.MAILFLOW["SITE_URL"]
        queue_notification([people[agent][0]], subject=subject, text="\n".join([*titles, "", link]))
