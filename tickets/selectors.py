"""Access-checked reads of tickets, messages, notes and attachments.

The one way the agent workspace gets tickets: every view, search, download, export and
count starts from ``visible_tickets``. An agent's rights on a ticketbox are the highest
level granted to them directly or to any of their groups (read < reply < manage);
Administrators see everything. Anything outside an agent's rights is "not found" (404),
never "forbidden", so ids cannot be probed.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from tickets.auth import is_administrator
from tickets.models import Attachment, Message, Note, Ticket, Ticketbox, TicketboxAccess

READ = TicketboxAccess.Level.READ
REPLY = TicketboxAccess.Level.REPLY
MANAGE = TicketboxAccess.Level.MANAGE
_CACHE = "_mailflow_box_levels"


def box_levels(agent: Any) -> dict[int, int] | None:
    """The agent's level on each ticketbox they may see; None for administrators (all).

    Computed once per agent object (one query), so a request asks the database once.
    """
    if not getattr(agent, "is_authenticated", False) or not agent.is_active:
        return {}
    if is_administrator(agent):
        return None
    cached = getattr(agent, _CACHE, None)
    if cached is None:
        cached = {}
        grants = TicketboxAccess.objects.filter(
            Q(agent=agent) | Q(group__in=agent.groups.all())
        ).values_list("ticketbox_id", "level")
        for box, level in grants:
            cached[box] = max(level, cached.get(box, 0))
        setattr(agent, _CACHE, cached)
    return cached


def level_on(agent: Any, ticketbox_id: int) -> int:
    """The agent's level on one ticketbox (0: none)."""
    levels = box_levels(agent)
    return MANAGE if levels is None else levels.get(ticketbox_id, 0)


def ticketboxes_for(agent: Any, level: int = READ) -> QuerySet[Ticketbox]:
    levels = box_levels(agent)
    if levels is None:
        return Ticketbox.objects.all()
    return Ticketbox.objects.filter(pk__in=[box for box, got in levels.items() if got >= level])


def visible_tickets(agent: Any, level: int = READ, *, trash: bool = False) -> QuerySet[Ticket]:
    """Tickets in ticketboxes where the agent holds at least ``level``; not in the trash
    (or only the trash with ``trash=True``)."""
    tickets = Ticket.objects.in_trash() if trash else Ticket.objects.active()
    levels = box_levels(agent)
    if levels is None:
        return tickets
    return tickets.filter(ticketbox_id__in=[box for box, got in levels.items() if got >= level])


def ticket_for(agent: Any, number: int, level: int = READ, *, trash: bool | None = False) -> Ticket:
    """One ticket by number, or 404 when it is outside the agent's rights at ``level``.

    ``trash=None`` finds it in or out of the trash.
    """
    if trash is None:
        tickets = visible_tickets(agent, level) | visible_tickets(agent, level, trash=True)
    else:
        tickets = visible_tickets(agent, level, trash=trash)
    ticket = tickets.select_related("ticketbox", "owner", "contact").filter(number=number).first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def message_for(agent: Any, pk: int, level: int = READ) -> Message:
    message = (
        Message.objects.select_related("ticket__ticketbox")
        .filter(pk=pk, ticket__in=visible_tickets(agent, level))
        .first()
    )
    if message is None:
        raise Http404("No such message.")
    return message


def attachment_for(agent: Any, pk: int) -> Attachment:
    attachment = (
        Attachment.objects.select_related("message__ticket")
        .filter(pk=pk, message__ticket__in=visible_tickets(agent, READ))
        .first()
    )
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


def notes_visible(agent: Any, ticket: Ticket) -> QuerySet[Note]:
    """A ticket's notes the agent may read: shared ones, and private ones they wrote
    (administrators read every note)."""
    notes = ticket.notes.select_related("author")
    if is_administrator(agent):
        return notes
    return notes.filter(Q(private=False) | Q(author=agent))


def note_for(agent: Any, pk: int, level: int = READ) -> Note:
    note = (
        Note.objects.select_related("ticket")
        .filter(pk=pk, ticket__in=visible_tickets(agent, level))
        .first()
    )
    hidden = note is not None and note.private and note.author_id != agent.pk
    if note is None or (hidden and not is_administrator(agent)):
        raise Http404("No such note.")
    return note
