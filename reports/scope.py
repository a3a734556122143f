"""Which rows a report may count: always through ``tickets.selectors.visible_tickets``.

An agent's report covers the tickets they may read (Administrators: all tickets outside
the trash), narrowed by the report's ticketbox and agent (ticket owner) filters.
"""

from __future__ import annotations

from typing import Any

from django.db.models import DateField, Q, QuerySet
from django.db.models.functions import Trunc

from alerts.models import Alert
from conduit.outbound import OutboundMessage
from reports.table import Filters
from tickets.models import Message, Ticket, TicketEvent
from tickets.selectors import box_levels, ticketboxes_for, visible_tickets


class Operator:
    """Whoever runs ``manage.py export_report`` without ``--as``: sees every ticket, like
    an Administrator (the command line already has the database)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None


def tickets_in_scope(agent: Any, filters: Filters) -> QuerySet[Ticket]:
    tickets = visible_tickets(agent)
    if filters.ticketbox:
        tickets = tickets.filter(ticketbox_id=filters.ticketbox)
    if filters.agent:
        tickets = tickets.filter(owner_id=filters.agent)
    return tickets


def messages_in_scope(agent: Any, filters: Filters) -> QuerySet[Message]:
    return Message.objects.filter(ticket__in=tickets_in_scope(agent, filters))


def escalations_in_scope(agent: Any, filters: Filters) -> QuerySet[TicketEvent]:
    return TicketEvent.objects.filter(
        kind=TicketEvent.Kind.ESCALATED, ticket__in=tickets_in_scope(agent, filters)
    )


def _unfiltered_admin(agent: Any, filters: Filters) -> bool:
    return box_levels(agent) is None and not filters.ticketbox and not filters.agent


def outbound_in_scope(agent: Any, filters: Filters) -> QuerySet[OutboundMessage]:
    """Mail of tickets in scope; an unfiltered Administrator also sees mail of no ticket.

    (Never "on a ticket in scope OR on no ticket": PostgreSQL cannot turn an OR around a
    million-row subquery into a join, and checks the subquery row by row.)"""
    if _unfiltered_admin(agent, filters):
        # Everything but the mail of tickets in the trash: a small anti-join.
        return OutboundMessage.objects.exclude(ticket__in=visible_tickets(agent, trash=True))
    return OutboundMessage.objects.filter(ticket__in=tickets_in_scope(agent, filters))


def alerts_in_scope(agent: Any, filters: Filters) -> list[QuerySet[Alert]]:
    """Alerts about tickets in scope; and, as a separate query (see outbound_in_scope),
    alerts naming no ticket: about a ticketbox in scope, or system-wide ones (neither)
    for an unfiltered Administrator. Ticketless alerts have no owner: none with an agent
    filter."""
    found = [Alert.objects.filter(ticket__in=tickets_in_scope(agent, filters))]
    if filters.agent:
        return found
    boxes = ticketboxes_for(agent)
    if filters.ticketbox:
        boxes = boxes.filter(pk=filters.ticketbox)
    ticketless = Q(ticketbox__in=boxes)
    if _unfiltered_admin(agent, filters):
        ticketless |= Q(ticketbox__isnull=True)
    return [*found, Alert.objects.filter(ticketless, ticket__isnull=True)]


def period_of(field: str, grouping: str) -> Trunc:
    """The period (a date: the day, or the first day of its week, month or year) a time
    falls in, in the site's time zone."""
    return Trunc(field, grouping, output_field=DateField())


def can_report(agent: Any) -> bool:
    """Supervisors: agents holding ``reports.view_reports`` (Administrators hold all)."""
    return bool(getattr(agent, "is_active", False)) and agent.has_perm("reports.view_reports")
