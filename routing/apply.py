"""Writing what ``routing.plan`` decided: contacts, tickets, messages, attachments, history,
notes, the trash, discards, automatic mail and rule statistics, a few queries per batch."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from alerts.notify import notify_new_tickets
from conduit.models import InboundMessage
from conduit.store import write_media_file
from contacts.services import find_or_create_contacts
from routing import automail
from routing.bounces import record_delivery_reports
from routing.models import BlockedSender, RoutingRule
from routing.plan import TRASH, Plan
from tickets.models import Attachment, Message, Note, Ticket, TicketEvent, attachment_file_name
from tickets.services import NewTicket, open_tickets

logger = logging.getLogger("mailflow.routing")


def apply_plans(plans: list[Plan]) -> None:
    kept = [p for p in plans if not p.discarded and p.bounce is None]
    _discard([p for p in plans if p.discarded])
    record_delivery_reports(p for p in plans if p.bounce is not None)
    if kept:
        save_attachment_files(kept)
        contacts = find_or_create_contacts(
            [(p.sender, p.parsed.from_.name if p.parsed.from_ else "") for p in kept if p.sender]
        )
        for plan in kept:
            plan.contact = contacts.get(plan.sender.lower())
        _open_tickets(kept)
        _write_messages(kept)
        _touch_threaded_tickets([p for p in kept if not p.new_ticket])
        _record_new_tickets([p for p in kept if p.new_ticket])
        notify_new_tickets([p.on_ticket for p in kept if p.new_ticket])
    automail.send_automatic_mail(plans)
    _count_hits(plans)


def _discard(plans: list[Plan]) -> None:
    """Discarded mail opens no ticket; its raw mail stays stored, and the decision is logged."""
    for plan in plans:
        reason = f"Discarded: {plan.delete_reason}"
        logger.warning(
            "Discarded inbound message %s from %s (%s): %s",
            plan.inbound.pk if plan.inbound else "-",
            plan.sender or "unknown sender",
            plan.parsed.subject or "no subject",
            plan.delete_reason,
            extra={
                "alert": "blocked_sender" if plan.blocked else "discarded",
                "inbound_id": plan.inbound.pk if plan.inbound else None,
            },
        )
        if plan.inbound is not None:
            InboundMessage.objects.filter(pk=plan.inbound.pk).update(
                state=InboundMessage.State.DISCARDED, error=reason[:5000]
            )


def _open_tickets(plans: list[Plan]) -> None:
    openers = [p for p in plans if p.new_ticket]
    specs = [
        NewTicket(
            subject=p.parsed.subject or "(no subject)",
            ticketbox=p.ticketbox,
            contact=p.contact,
            owner_id=p.owner_id,
            priority=p.priority,
            status=p.status,
            created_at=p.received_at,
            last_customer_message_at=p.received_at,
            follow_up_of=p.follow_up_of,
            in_trash=p.delete == TRASH,
        )
        for p in openers
    ]
    for plan, ticket in zip(openers, open_tickets(specs), strict=True):
        plan.ticket = ticket
    for plan in plans:
        if plan.parent is not None:
            plan.ticket = plan.parent.ticket


def _write_messages(plans: list[Plan]) -> None:
    messages = []
    for plan in plans:
        parsed = plan.parsed
        plan.message = Message(
            ticket=plan.ticket,
            direction=Message.Direction.IN,
            message_id=parsed.message_id[:998],
            in_reply_to=parsed.in_reply_to[:998],
            references="\n".join(parsed.references),
            from_name=(parsed.from_.name if parsed.from_ else "")[:200],
            from_address=plan.sender[:254],
            to=[{"name": a.name, "address": a.address} for a in parsed.to],
            cc=[{"name": a.name, "address": a.address} for a in parsed.cc],
            subject=parsed.subject[:998],
            date=parsed.date or plan.received_at,
            text=parsed.text,
            html=parsed.html or "",
            priority=plan.priority,
            size=plan.inbound.size if plan.inbound else 0,
            inbound=plan.inbound,
        )
        messages.append(plan.message)
    Message.objects.bulk_create(messages)
    rows = []
    for plan in plans:
        for part in plan.parsed.attachments:
            row = Attachment(
                message=plan.message,
                filename=part.filename[:255],
                content_type=part.content_type[:255],
                size=part.size,
                sha256=part.sha256,
                inline=part.inline,
                content_id=part.content_id[:998],
            )
            row.file.name = attachment_file_name(part.sha256)
            rows.append(row)
    if rows:
        Attachment.objects.bulk_create(rows)


def save_attachment_files(plans: list[Plan]) -> None:
    """Attachment files go to disk before the batch takes any database lock (the ticket
    counter is held until commit); paths are content-addressed, so a rolled-back batch
    leaves at most a file the next attempt reuses."""
    for plan in plans:
        for part in plan.parsed.attachments:
            write_media_file(attachment_file_name(part.sha256), part.payload)


def _touch_threaded_tickets(replies: list[Plan]) -> None:
    """A customer wrote again on an existing ticket: note when, reopen it, record it."""
    if not replies:
        return
    tickets: dict[int, Ticket] = {}
    events = []
    for plan in replies:
        ticket = tickets.setdefault(plan.on_ticket.pk, plan.on_ticket)
        received: datetime = plan.received_at
        if ticket.last_customer_message_at is None or received > ticket.last_customer_message_at:
            ticket.last_customer_message_at = received
        if ticket.awaiting_reply_since is None or ticket.status == Ticket.Status.CLOSED:
            ticket.awaiting_reply_since = received  # the ticket-age and escalation clock
        if plan.reopen and ticket.status != Ticket.Status.OPEN:
            events.append(
                TicketEvent(
                    ticket=ticket,
                    kind=TicketEvent.Kind.STATUS,
                    detail={"from": ticket.status, "to": "open", "why": "the customer replied"},
                )
            )
            ticket.status = Ticket.Status.OPEN
            ticket.closed_at = None
    now = timezone.now()
    for ticket in tickets.values():
        ticket.updated_at = now
    Ticket.objects.bulk_update(
        tickets.values(),
        ["last_customer_message_at", "awaiting_reply_since", "status", "closed_at", "updated_at"],
    )
    events += [
        TicketEvent(
            ticket=plan.ticket,
            kind=TicketEvent.Kind.MESSAGE_IN,
            detail={
                "message": plan.message.pk if plan.message else None,
                "from": plan.sender,
                "threaded_by": plan.thread_method or "the mail it answers, in the same batch",
            },
        )
        for plan in replies
    ]
    TicketEvent.objects.bulk_create(events)


def _record_new_tickets(openers: list[Plan]) -> None:
    """History of how each new ticket was routed, the rule's note, and the trash."""
    events, notes = [], []
    for plan in openers:
        if plan.parent is not None:
            continue
        detail = {
            "ticketbox": plan.on_ticket.ticketbox.name,
            "why": plan.ticketbox_reason,
            "rule": plan.rule.name if plan.rule else None,
        }
        if plan.owner_id:
            detail["owner_why"] = plan.owner_reason
        events.append(TicketEvent(ticket=plan.ticket, kind=TicketEvent.Kind.ROUTED, detail=detail))
        if plan.delete == TRASH:
            events.append(
                TicketEvent(
                    ticket=plan.ticket,
                    kind=TicketEvent.Kind.DELETED,
                    detail={"why": plan.delete_reason},
                )
            )
            logger.info(
                "Ticket #%s from %s went to the trash: %s",
                plan.on_ticket.number,
                plan.sender,
                plan.delete_reason,
                extra={"alert": "blocked_sender" if plan.blocked else "trashed_by_rule"},
            )
        if plan.note:
            notes.append(Note(ticket=plan.ticket, author=None, body=plan.note))
    TicketEvent.objects.bulk_create(events)
    Note.objects.bulk_create(notes)


def _count_hits(plans: list[Plan]) -> None:
    now = timezone.now()
    rules = Tally(p.rule.id for p in plans if p.rule is not None)
    for rule_id, hits in rules.items():
        RoutingRule.objects.filter(pk=rule_id).update(
            hit_count=F("hit_count") + hits, last_hit_at=now
        )
    blocked = Tally(p.blocked.id for p in plans if p.blocked is not None)
    for blocked_id, hits in blocked.items():
        BlockedSender.objects.filter(pk=blocked_id).update(
            hit_count=F("hit_count") + hits, last_hit_at=now
        )
