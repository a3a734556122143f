"""Actions that change tickets, ticketboxes and agents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from contacts.models import Contact
from tickets.agents import ADMINISTRATORS, EVERYONE, AgentProfile
from tickets.models import Counter, Ticket, Ticketbox, TicketboxAccess, TicketEvent

TICKET_COUNTER = "ticket_number"


class UnassignedMissing(RuntimeError):
    """The built-in Unassigned ticketbox is gone; the data migration was not applied."""


def unassigned_ticketbox() -> Ticketbox:
    """The built-in ticketbox that takes every message no rule files elsewhere."""
    try:
        return Ticketbox.objects.get(system_key=Ticketbox.UNASSIGNED)
    except Ticketbox.DoesNotExist as exc:
        raise UnassignedMissing(
            "The built-in Unassigned ticketbox is missing: run 'python manage.py migrate'."
        ) from exc


def next_ticket_numbers(count: int) -> list[int]:
    """Hand out ``count`` consecutive ticket numbers.

    The counter row is advanced with one UPDATE … RETURNING, which holds its row lock
    until the surrounding transaction ends: concurrent creators wait their turn and never
    see the same number. A rolled-back transaction gives its numbers back.
    """
    if count <= 0:
        return []
    table = Counter._meta.db_table
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET value = value + %s WHERE name = %s RETURNING value",  # noqa: S608
            [count, TICKET_COUNTER],
        )
        row = cursor.fetchone()
    if row is None:
        # The migration's row is gone: start the counter again (a racing creator hits
        # the primary key and retries).
        start = settings.MAILFLOW["TICKET_NUMBER_START"]
        try:
            with transaction.atomic():
                Counter.objects.create(name=TICKET_COUNTER, value=start - 1)
        except IntegrityError:
            pass
        return next_ticket_numbers(count)
    last = int(row[0])
    return list(range(last - count + 1, last + 1))


def next_ticket_number() -> int:
    return next_ticket_numbers(1)[0]


@dataclass
class NewTicket:
    """What a new ticket starts with; ``open_tickets`` turns a list of them into tickets."""

    subject: str
    ticketbox: Ticketbox | None = None
    contact: Contact | None = None
    owner: Any = None
    owner_id: int | None = None
    priority: int = Ticket.Priority.NORMAL
    status: str = Ticket.Status.OPEN
    created_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    follow_up_of: Ticket | None = None
    in_trash: bool = False


def open_tickets(specs: list[NewTicket], *, actor: Any = None) -> list[Ticket]:
    """Open several tickets at once (numbers, rows and "created" history in a few queries)."""
    if not specs:
        return []
    default_box = None
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        numbers = next_ticket_numbers(len(specs))
        tickets = []
        for number, spec in zip(numbers, specs, strict=True):
            if spec.ticketbox is None and default_box is None:
                default_box = unassigned_ticketbox()
            tickets.append(
                Ticket(
                    number=number,
                    subject=spec.subject[:998],
                    ticketbox=spec.ticketbox or default_box,
                    contact=spec.contact,
                    owner_id=spec.owner.pk if spec.owner is not None else spec.owner_id,
                    priority=spec.priority,
                    status=spec.status,
                    created_at=spec.created_at or timezone.now(),
                    last_customer_message_at=spec.last_customer_message_at,
                    awaiting_reply_since=spec.last_customer_message_at,
                    follow_up_of=spec.follow_up_of,
                    closed_at=now if spec.status == Ticket.Status.CLOSED else None,
                    deleted_at=now if spec.in_trash else None,
                )
            )
        Ticket.objects.bulk_create(tickets)
        TicketEvent.objects.bulk_create(
            TicketEvent(
                ticket=ticket,
                actor=actor,
                kind=TicketEvent.Kind.CREATED,
                detail=_created_detail(ticket),
            )
            for ticket in tickets
        )
    return tickets


def _created_detail(ticket: Ticket) -> dict[str, Any]:
    detail: dict[str, Any] = {"ticketbox": ticket.ticketbox.name}
    if ticket.follow_up_of is not None:
        detail["follow_up_of"] = ticket.follow_up_of.number
    return detail


def create_ticket(*, actor: Any = None, **fields: Any) -> Ticket:
    """Open a new ticket (in Unassigned unless a ticketbox is given) and record it in history.

    Takes the fields of ``NewTicket`` as keyword arguments.
    """
    return open_tickets([NewTicket(**fields)], actor=actor)[0]


def ensure_builtins() -> None:
    """Make sure the built-ins exist: groups Everyone and Administrators, the Unassigned
    ticketbox (open to Everyone) and the ticket counter. Idempotent; never resets anything.

    The data migration makes them; this runs after every migrate (and after a test
    database is flushed) so that they cannot go missing.
    """
    everyone, _ = Group.objects.get_or_create(name=EVERYONE)
    Group.objects.get_or_create(name=ADMINISTRATORS)
    unassigned, created = Ticketbox.objects.get_or_create(
        system_key=Ticketbox.UNASSIGNED,
        defaults={
            "name": "Unassigned",
            "description": "Messages no routing rule filed elsewhere wait here for an agent.",
        },
    )
    if created:
        TicketboxAccess.objects.get_or_create(
            ticketbox=unassigned, group=everyone, defaults={"level": TicketboxAccess.Level.REPLY}
        )
    Counter.objects.get_or_create(
        name=TICKET_COUNTER, defaults={"value": settings.MAILFLOW["TICKET_NUMBER_START"] - 1}
    )


def onboard_agent(user: Any) -> None:
    """Give a new agent preferences and membership of Everyone (superusers: Administrators too)."""
    AgentProfile.objects.get_or_create(agent=user)
    names = [EVERYONE, ADMINISTRATORS] if user.is_superuser else [EVERYONE]
    user.groups.add(*Group.objects.filter(name__in=names))


def sync_administrator_flag(user: Any) -> None:
    """Joining Administrators opens the admin site (is_staff); leaving it closes it again.

    Staff status granted by hand to non-administrators is left alone.
    """
    is_admin = user.is_superuser or user.groups.filter(name=ADMINISTRATORS).exists()
    if is_admin and not user.is_staff:
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    elif not is_admin and user.is_staff and getattr(user, "_mailflow_was_admin", False):
        type(user).objects.filter(pk=user.pk).update(is_staff=False)
        user.is_staff = False
    user.__dict__.pop("_mailflow_is_admin", None)


def move_to_trash(ticket: Ticket, *, actor: Any = None) -> None:
    """Put a ticket in the trash can; it stays restorable until the trash is emptied."""
    if ticket.deleted_at is not None:
        return
    with transaction.atomic():
        ticket.deleted_at = timezone.now()
        ticket.deleted_by = actor
        ticket.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEvent.Kind.DELETED)


def restore_from_trash(ticket: Ticket, *, actor: Any = None) -> None:
    """Take a ticket out of the trash, back where it was."""
    if ticket.deleted_at is None:
        return
    with transaction.atomic():
        ticket.deleted_at = None
        ticket.deleted_by = None
        ticket.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
        TicketEvent.objects.create(ticket=ticket, actor=actor, kind=TicketEvent.Kind.RESTORED)
