"""History by ticketbox, by agent (ticket owner) and by contact: mail in and out and
tickets opened and closed in the date range.

Three grouped queries (messages, tickets opened, tickets closed) merged per group; the
contact history, which may have a row for every customer, is cut to the busiest contacts
on screen (``limit``) and complete in exports.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F

from contacts.models import Contact
from reports.scope import tickets_in_scope
from reports.table import Column, Filters, Table
from reports.trends import MAIL_COUNTS
from tickets.agents import agent_name
from tickets.models import Ticketbox

GROUPS = {"ticketbox": "ticketbox", "agent": "owner", "contact": "contact"}
HEADINGS = {"ticketbox": "Ticketbox", "agent": "Agent", "contact": "Contact"}
NOBODY = {"ticketbox": "—", "agent": "Nobody", "contact": "No contact"}


def labels_of(by: str, keys: set[int]) -> dict[int, str]:
    if by == "ticketbox":
        return dict(Ticketbox.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "agent":
        agents = get_user_model().objects.filter(pk__in=keys)
        return {a.pk: agent_name(a) for a in agents}
    contacts = Contact.objects.filter(pk__in=keys).values_list("pk", "name")
    return {pk: name or f"Contact {pk}" for pk, name in contacts}


def history(agent: Any, filters: Filters, by: str, limit: int | None = None) -> Table:
    field = GROUPS[by]
    tickets = tickets_in_scope(agent, filters)
    mail = (
        tickets.filter(messages__date__gte=filters.start, messages__date__lt=filters.end)
        .values(key=F(field))
        .annotate(**MAIL_COUNTS, total=Count("messages__date"))
        .order_by("-total", "key")
    )
    opened = tickets.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    closed = tickets.filter(closed_at__gte=filters.start, closed_at__lt=filters.end)
    if limit is not None:
        mail = mail[:limit]
    mail_by_key: dict[Any, dict[str, Any]] = {row["key"]: dict(row) for row in mail}
    if limit is not None:
        # The busiest groups by mail; their tickets opened and closed.
        opened = opened.filter(**{f"{field}__in": [k for k in mail_by_key if k is not None]})
        closed = closed.filter(**{f"{field}__in": [k for k in mail_by_key if k is not None]})
    opened_by_key = dict(opened.values_list(field).annotate(n=Count("id")).values_list(field, "n"))
    closed_by_key = dict(closed.values_list(field).annotate(n=Count("id")).values_list(field, "n"))
    keys = list(mail_by_key)
    keys += sorted({*opened_by_key, *closed_by_key} - set(mail_by_key), key=lambda k: k or 0)
    labels = labels_of(by, {k for k in keys if k is not None})
    columns = [
        Column("name", HEADINGS[by], "text"),
        Column("inbound", "Messages in"),
        Column("outbound", "Messages out"),
        Column("opened", "Tickets opened"),
        Column("closed", "Tickets closed"),
    ]
    rows = []
    for key in keys:
        counts = mail_by_key.get(key, {})
        rows.append(
            (
                labels.get(key, NOBODY[by]) if key is not None else NOBODY[by],
                counts.get("inbound", 0),
                counts.get("outbound", 0),
                opened_by_key.get(key, 0),
                closed_by_key.get(key, 0),
            )
        )
    # Busiest first; equal ones by name, so the order is the same on every database.
    rows.sort(key=lambda r: (-(r[1] + r[2]), -(r[3] + r[4]), str(r[0])))
    return Table(columns, rows, total=len(rows))


def by_ticketbox(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    return history(agent, filters, "ticketbox", limit)


def by_agent(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    return history(agent, filters, "agent", limit)


def by_contact(agent: Any, filters: Filters, limit: int | None = None) -> Table:
    return history(agent, filters, "contact", limit)
