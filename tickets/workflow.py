"""What agents do to tickets in the workspace: take and assign, status and priority, move,
escalate, notes, the trash, merge, moving a message, Get Oldest and bulk actions.

Every function is given the acting agent and checks the agent's level on the ticket's
ticketbox (``tickets.selectors``) before it changes anything. Lacking the level raises
``NotAllowed``, which views answer with 404 like an unknown ticket; an action that cannot be
done as asked raises ``ActionRefused`` with a message for the agent. Each change is one
transaction that records a TicketEvent with the agent as its actor.

Levels: notes, status, priority, taking, assigning and escalating need reply; moving,
merging and moving messages need manage on every ticketbox involved (they carry mail from
one ticketbox's audience to another's); the trash needs manage, or reply for the ticket's
owner; emptying the trash is for administrators.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.services import raise_alert
from conduit.outbound import OutboundMessage
from tickets import services
from tickets.auth import is_administrator
from tickets.models import Message, Note, Ticket, Ticketbox, TicketEvent
from tickets.purge import purge_tickets
from tickets.selectors import MANAGE, READ, REPLY, level_on, visible_tickets
from tickets.templatetags.desk import agent_name

logger = logging.getLogger("mailflow.tickets")

Kind = TicketEvent.Kind
BULK_ACTIONS = ("take", "assign", "status", "move", "trash", "restore")
MAX_BULK = 500  # the largest page a list shows


class NotAllowed(Exception):
    """The agent lacks the level this action needs; shown as "not found"."""


class ActionRefused(ValueError):
    """The action cannot be done as asked; the message tells the agent why."""


class GetOldestRequired(ActionRefused):
    """The ticketbox hands out its unowned tickets only through Get Oldest."""


def _name(agent: Any) -> str | None:
    return agent.get_username() if agent is not None else None


def _require(agent: Any, ticket: Ticket, level: int) -> int:
    """The agent's level on the ticket's ticketbox, checked to be at least ``level``;
    tickets in the trash only come back through ``restore``."""
    got = level_on(agent, ticket.ticketbox_id)
    if got < level:
        raise NotAllowed(f"#{ticket.number} needs level {level}, the agent has {got}.")
    if ticket.in_trash:
        raise ActionRefused(f"#{ticket.number} is in the trash: restore it first.")
    return got


def _require_trash_right(agent: Any, ticket: Ticket) -> None:
    level = level_on(agent, ticket.ticketbox_id)
    if level < MANAGE and not (level >= REPLY and ticket.owner_id == agent.pk):
        raise NotAllowed(f"#{ticket.number}: the trash needs manage rights or ownership.")


def _event(ticket: Ticket, agent: Any, kind: str, **detail: Any) -> TicketEvent:
    return TicketEvent.objects.create(ticket=ticket, actor=agent, kind=kind, detail=detail)


def _get_oldest_applies(agent: Any, ticket: Ticket, level: int) -> bool:
    return ticket.ticketbox.hands_out_with_get_oldest and ticket.owner_id is None and level < MANAGE


def assign(agent: Any, ticket: Ticket, *, to: Any | None) -> bool:
    """Make ``to`` (an active agent with reply rights on the ticketbox) the owner, or
    nobody with ``to=None``. False when the owner was already ``to``.

    Where the ticketbox requires Get Oldest, an agent below manage cannot give themselves
    an unowned ticket this way.
    """
    level = _require(agent, ticket, REPLY)
    if to is not None:
        if not to.is_active:
            raise ActionRefused(f"{_name(to)} is not an active agent.")
        if level_on(to, ticket.ticketbox_id) < REPLY:
            raise ActionRefused(f"{_name(to)} cannot answer tickets in {ticket.ticketbox}.")
        if to.pk == agent.pk and _get_oldest_applies(agent, ticket, level):
            raise GetOldestRequired(f"{ticket.ticketbox} hands out tickets with Get Oldest.")
    if ticket.owner_id == (to.pk if to is not None else None):
        return False
    with transaction.atomic():
        previous = ticket.owner
        ticket.owner = to
        ticket.save(update_fields=["owner", "updated_at"])
        _event(ticket, agent, Kind.ASSIGNED, owner=_name(to), previous=_name(previous))
    return True


def take(agent: Any, ticket: Ticket) -> bool:
    """The agent becomes the ticket's owner."""
    return assign(agent, ticket, to=agent)


def set_status(agent: Any, ticket: Ticket, status: str) -> bool:
    """Open, on hold, waiting or closed; closing stamps ``closed_at``, reopening clears it."""
    _require(agent, ticket, REPLY)
    if status not in Ticket.Status.values:
        raise ActionRefused(f"Unknown status {status!r}.")
    if ticket.status == status:
        return False
    with transaction.atomic():
        previous = ticket.status
        ticket.status = status
        ticket.closed_at = timezone.now() if status == Ticket.Status.CLOSED else None
        ticket.save(update_fields=["status", "closed_at", "updated_at"])
        _event(ticket, agent, Kind.STATUS, **{"from": previous, "to": status})
    return True


def set_priority(agent: Any, ticket: Ticket, priority: int) -> bool:
    _require(agent, ticket, REPLY)
    if priority not in Ticket.Priority.values:
        raise ActionRefused(f"Unknown priority {priority!r}.")
    if ticket.priority == priority:
        return False
    with transaction.atomic():
        previous = ticket.priority
        ticket.priority = priority
        ticket.save(update_fields=["priority", "updated_at"])
        _event(ticket, agent, Kind.PRIORITY, **{"from": previous, "to": priority})
    return True


def move_ticket(agent: Any, ticket: Ticket, ticketbox: Ticketbox) -> bool:
    """Move a ticket to another ticketbox; the agent manages both."""
    _require(agent, ticket, MANAGE)
    if level_on(agent, ticketbox.pk) < MANAGE:
        raise NotAllowed(f"Moving to {ticketbox} needs manage rights there.")
    if ticket.ticketbox_id == ticketbox.pk:
        return False
    with transaction.atomic():
        previous = ticket.ticketbox
        ticket.ticketbox = ticketbox
        ticket.save(update_fields=["ticketbox", "updated_at"])
        _event(ticket, agent, Kind.MOVED, **{"from": previous.name, "to": ticketbox.name})
    return True


def escalate(agent: Any, ticket: Ticket, *, to: Any, note: str) -> Note:
    """Hand a ticket up to a supervisor who can see it, with a note saying why; the
    supervisor (and whoever the escalation alert type names) is alerted in the same
    transaction."""
    _require(agent, ticket, REPLY)
    note = note.strip()
    if not note:
        raise ActionRefused("Say why you escalate: the note is required.")
    if to is None or not to.is_active:
        raise ActionRefused("Choose an active agent to escalate to.")
    if level_on(to, ticket.ticketbox_id) < READ:
        raise ActionRefused(f"{_name(to)} cannot see tickets in {ticket.ticketbox}.")
    with transaction.atomic():
        ticket.escalated_to = to
        ticket.escalated_at = timezone.now()
        ticket.save(update_fields=["escalated_to", "escalated_at", "updated_at"])
        added = Note.objects.create(ticket=ticket, author=agent, body=note)
        _event(ticket, agent, Kind.ESCALATED, to=_name(to), why=note[:200], note=added.pk)
        raise_alert(
            "escalation",
            title=f"Ticket #{ticket.number} escalated to {agent_name(to)} by "
            f"{agent_name(agent)}: {ticket.subject}",
            body=note,
            ticket=ticket,
            agents=[to],
        )
    return added


def add_note(agent: Any, ticket: Ticket, *, body: str, private: bool = False) -> Note:
    """An internal note; a private one is read only by its author and administrators."""
    _require(agent, ticket, REPLY)
    body = body.strip()
    if not body:
        raise ActionRefused("The note is empty.")
    with transaction.atomic():
        note = Note.objects.create(ticket=ticket, author=agent, body=body, private=private)
        _event(ticket, agent, Kind.NOTE, private=private, note=note.pk)
    return note


def trash(agent: Any, ticket: Ticket) -> bool:
    """Put a ticket in the trash (manage rights, or reply rights for its owner)."""
    _require_trash_right(agent, ticket)
    if ticket.in_trash:
        return False
    services.move_to_trash(ticket, actor=agent)
    return True


def restore(agent: Any, ticket: Ticket) -> bool:
    """Take a ticket out of the trash (manage rights, or reply rights for its owner)."""
    _require_trash_right(agent, ticket)
    if not ticket.in_trash:
        return False
    services.restore_from_trash(ticket, actor=agent)
    return True


def empty_trash(agent: Any) -> int:
    """Delete every ticket in the trash for good, with its messages, notes, history, stored
    raw mail and the files only it used; administrators only. Returns the count."""
    if not is_administrator(agent):
        raise NotAllowed("Only administrators empty the trash.")
    with transaction.atomic():
        doomed = visible_tickets(agent, MANAGE, trash=True).select_for_update()
        rows = list(doomed.values_list("pk", "number"))
        numbers = [number for _, number in rows]
        purge_tickets([pk for pk, _ in rows])
    if numbers:
        # The tickets' own history is gone with them: the log keeps who did it.
        logger.info(
            "%s emptied the trash: %s ticket(s) deleted",
            _name(agent),
            len(numbers),
            extra={"ticket_numbers": numbers[:1000]},
        )
    return len(numbers)


def _managed_target(agent: Any, number: int) -> Ticket:
    target = (
        visible_tickets(agent, MANAGE).select_related("ticketbox").filter(number=number).first()
    )
    if target is None:
        raise ActionRefused(f"There is no ticket #{number} that you can manage.")
    return target


def _lock(*tickets: Ticket) -> None:
    """Lock the tickets' rows (in id order, so two merges cannot deadlock) and make sure
    none went to the trash meanwhile."""
    rows = Ticket.objects.select_for_update().filter(pk__in=[t.pk for t in tickets])
    trashed = rows.order_by("pk").values_list("deleted_at", flat=True)
    if any(deleted is not None for deleted in trashed):
        raise ActionRefused("One of the tickets was moved to the trash meanwhile.")


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(a, b) if a is not None and b is not None else a or b


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(a, b) if a is not None and b is not None else a or b


def merge(agent: Any, source: Ticket, *, into: int) -> Ticket:
    """Merge ``source`` into ticket number ``into``: its messages (with attachments and
    deliveries), notes and history move to the target, follow-ups point to the target, and
    ``source`` goes to the trash. Both tickets record a MERGED event. Returns the target."""
    _require(agent, source, MANAGE)
    if into == source.number:
        raise ActionRefused("A ticket cannot be merged into itself.")
    target = _managed_target(agent, into)
    with transaction.atomic():
        _lock(source, target)
        moved = Message.objects.filter(ticket=source).update(ticket=target)
        Note.objects.filter(ticket=source).update(ticket=target)
        TicketEvent.objects.filter(ticket=source).update(ticket=target)
        OutboundMessage.objects.filter(ticket=source).update(ticket=target)
        Ticket.objects.filter(follow_up_of=source).exclude(pk=target.pk).update(follow_up_of=target)
        if target.follow_up_of_id == source.pk:
            target.follow_up_of_id = source.follow_up_of_id
        target.contact = target.contact or source.contact
        target.first_response_at = _earlier(target.first_response_at, source.first_response_at)
        target.last_customer_message_at = _later(
            target.last_customer_message_at, source.last_customer_message_at
        )
        target.last_agent_message_at = _later(
            target.last_agent_message_at, source.last_agent_message_at
        )
        target.save(
            update_fields=[
                "follow_up_of",
                "contact",
                "first_response_at",
                "last_customer_message_at",
                "last_agent_message_at",
                "updated_at",
            ]
        )
        _event(target, agent, Kind.MERGED, merged=source.number, messages=moved)
        _event(source, agent, Kind.MERGED, into=target.number, why=f"merged into #{target.number}")
        Ticket.objects.filter(merged_into=source).update(merged_into=target)
        source.merged_into = target
        source.save(update_fields=["merged_into"])
        services.move_to_trash(source, actor=agent)
    return target


def move_message(agent: Any, message: Message, *, to: int) -> Ticket:
    """Move one message (with its attachments and deliveries) to ticket number ``to``; the
    agent manages both tickets. Moving a ticket's last message leaves it empty, which is
    allowed: it keeps its history and can be closed or trashed. Returns the target."""
    source = message.ticket
    _require(agent, source, MANAGE)
    if to == source.number:
        raise ActionRefused(f"The message is already on #{to}.")
    target = _managed_target(agent, to)
    with transaction.atomic():
        _lock(source, target)
        message.ticket = target
        message.save(update_fields=["ticket"])
        OutboundMessage.objects.filter(ticket_message=message).update(ticket=target)
        _refresh_message_times(source)
        _refresh_message_times(target)
        _event(
            source,
            agent,
            Kind.MOVED,
            message=message.pk,
            to_ticket=target.number,
            why=f"message {message.pk} moved to #{target.number}",
        )
        _event(
            target,
            agent,
            Kind.MOVED,
            message=message.pk,
            from_ticket=source.number,
            why=f"message {message.pk} moved here from #{source.number}",
        )
    return target


def _refresh_message_times(ticket: Ticket) -> None:
    """When the customer and the agents last wrote, from the messages the ticket holds
    (customer mail counts from when it was received, as routing records it)."""
    times = ticket.messages.aggregate(
        customer=Max(
            Coalesce("inbound__received_at", "created_at"),
            filter=Q(direction=Message.Direction.IN),
        ),
        agent=Max("created_at", filter=Q(direction=Message.Direction.OUT)),
    )
    ticket.last_customer_message_at = times["customer"]
    ticket.last_agent_message_at = times["agent"]
    ticket.save(update_fields=["last_customer_message_at", "last_agent_message_at", "updated_at"])


def get_oldest(agent: Any, ticketbox: Ticketbox) -> Ticket | None:
    """Hand the agent the ticketbox's oldest open ticket that nobody owns (longest waiting
    customer first, then the oldest ticket) and make them its owner; None when none waits.

    The row is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` in the transaction that sets
    the owner, so agents pressing it at once never get the same ticket on PostgreSQL; on
    SQLite the transaction starts IMMEDIATE, which serializes the whole claim.
    """
    if level_on(agent, ticketbox.pk) < REPLY:
        raise NotAllowed(f"Get Oldest in {ticketbox} needs reply rights.")
    with transaction.atomic():
        ticket = (
            visible_tickets(agent, REPLY)
            .filter(ticketbox=ticketbox, owner__isnull=True, status=Ticket.Status.OPEN)
            .annotate(waiting_since=Coalesce("last_customer_message_at", "created_at"))
            .order_by("waiting_since", "id")
            .select_for_update(skip_locked=True)
            .first()
        )
        if ticket is None:
            return None
        ticket.owner = agent
        ticket.save(update_fields=["owner", "updated_at"])
        _event(ticket, agent, Kind.ASSIGNED, owner=_name(agent), how="get oldest")
    return ticket


@dataclass
class BulkResult:
    done: int = 0  # tickets the action applied to (or that were already so)
    skipped: int = 0  # outside the agent's rights, not found, or refused


def bulk(
    agent: Any,
    numbers: list[int],
    action: str,
    *,
    to: Any | None = None,
    status: str = "",
    ticketbox: Ticketbox | None = None,
) -> BulkResult:
    """Apply one action to many tickets, each in its own transaction, wherever the agent
    has the right; the others are skipped and counted.

    ``action``: take, assign (``to``, None for nobody), status (``status``), move
    (``ticketbox``), trash, restore.
    """
    if action not in BULK_ACTIONS:
        raise ActionRefused("Choose an action for the selected tickets.")
    if action == "status" and status not in Ticket.Status.values:
        raise ActionRefused("Choose the status to set.")
    if action == "move" and ticketbox is None:
        raise ActionRefused("Choose the ticketbox to move to.")
    wanted = set(numbers[:MAX_BULK])
    if not wanted:
        raise ActionRefused("Select the tickets first.")
    tickets = list(
        visible_tickets(agent, READ, trash=action == "restore")
        .select_related("ticketbox", "owner")
        .filter(number__in=wanted)
        .order_by("number")
    )
    result = BulkResult(skipped=len(wanted) - len(tickets))
    for ticket in tickets:
        try:
            if action == "take":
                take(agent, ticket)
            elif action == "assign":
                assign(agent, ticket, to=to)
            elif action == "status":
                set_status(agent, ticket, status)
            elif action == "move":
                assert ticketbox is not None
                move_ticket(agent, ticket, ticketbox)
            elif action == "trash":
                trash(agent, ticket)
            else:
                restore(agent, ticket)
        except (NotAllowed, ActionRefused):
            result.skipped += 1
        else:
            result.done += 1
    return result
