"""Row-per-ticket reports: every ticket opened in the range, and unanswered mail.

These can be a million rows long, so the rows are a lazy iterator over a server-side
cursor (``QuerySet.iterator``) and the Excel writer streams them; the screen shows the
first ``limit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from reports.scope import tickets_in_scope
from reports.table import Column, Filters, Table
from tickets.models import Ticket

CHUNK = 5000
STATUS = dict(Ticket.Status.choices)
PRIORITY = dict(Ticket.Priority.choices)
NUMBER = Column("number", "Ticket")
SUBJECT = Column("subject", "Subject", "text")
CONTACT = Column("contact", "Contact", "text")
TICKETBOX = Column("ticketbox", "Ticketbox", "text")
OWNER = Column("owner", "Owner", "text")
TICKET_FIELDS = (
    "number",
    "created_at",
    "subject",
    "contact__name",
    "ticketbox__name",
    "owner__username",
    "status",
    "priority",
    "first_response_at",
    "closed_at",
)


def _stream(tickets: Any, limit: int | None) -> Iterator[tuple[Any, ...]]:
    """Rows of a values_list query: the first ``limit``, or all through a server-side cursor."""
    if limit is not None:
        yield from tickets[:limit]
    else:
        yield from tickets.iterator(chunk_size=CHUNK)


def _since(start: datetime, end: datetime | None) -> timedelta | None:
    return None if end is None else end - start


def ticket_list(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    """Every ticket opened in the range, oldest first."""
    tickets = (
        tickets_in_scope(agent, filters)
        .filter(created_at__gte=filters.start, created_at__lt=filters.end)
        .order_by("created_at", "id")
    )
    columns = [
        NUMBER,
        Column("created", "Opened", "datetime"),
        *(SUBJECT, CONTACT, TICKETBOX, OWNER),
        Column("status", "Status", "text"),
        Column("priority", "Priority", "text"),
        Column("first_response", "First response after", "duration"),
        Column("resolution", "Closed after", "duration"),
    ]

    def rows() -> Iterator[tuple[Any, ...]]:
        values = tickets.values_list(*TICKET_FIELDS)
        for (
            number,
            created,
            subject,
            contact,
            box,
            owner,
            status,
            priority,
            first,
            closed,
        ) in _stream(values, limit):
            yield (
                number,
                created,
                subject,
                contact or "",
                box,
                owner or "",
                STATUS.get(status, status),
                PRIORITY.get(priority, priority),
                _since(created, first),
                _since(created, closed),
            )

    total = None if limit is not None else tickets.count()
    return Table(columns, rows(), total=total)


def unanswered(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    """Open tickets whose customer has waited longer than ``older_than_hours`` for a
    reply (since the oldest unanswered message), longest wait first."""
    cutoff = filters.now - timedelta(hours=filters.older_than_hours)
    tickets = (
        tickets_in_scope(agent, filters)
        .exclude(status=Ticket.Status.CLOSED)
        .filter(awaiting_reply_since__lte=cutoff)
        .order_by("awaiting_reply_since", "id")
    )
    columns = [
        *(NUMBER, SUBJECT, CONTACT, TICKETBOX, OWNER),
        Column("since", "Waiting since", "datetime"),
        Column("waited_hours", "Hours waited", "float"),
    ]
    fields = ("number", "subject", "contact__name", "ticketbox__name", "owner__username")

    def rows() -> Iterator[tuple[Any, ...]]:
        values = tickets.values_list(*fields, "awaiting_reply_since")
        for number, subject, contact, box, owner, since in _stream(values, limit):
            waited = (filters.now - since).total_seconds() / 3600
            yield (number, subject, contact or "", box, owner or "", since, round(waited, 1))

    total = None if limit is not None else tickets.count()
    return Table(columns, rows(), total=total)
