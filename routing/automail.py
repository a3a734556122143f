"""Automatic mail decided by routing: auto-replies (a standard response) and forwarded
copies. Each is written to the ticket and queued in the outbound spool in the route
transaction; the per-sender window is claimed atomically at this point."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.utils import timezone

from conduit.compose import Draft, compose
from conduit.outbound import OutboundMessage
from conduit.spool import queue_outbound
from routing.loops import claim_auto_reply_slots
from routing.plan import Plan
from routing.threads import message_id_domain, new_message_id, tagged_subject
from tickets.agents import agent_name
from tickets.library import StandardResponse, fill_merge_fields, framed_text
from tickets.models import Message, Ticket, TicketEvent

logger = logging.getLogger("mailflow.routing")


def send_automatic_mail(plans: list[Plan]) -> None:
    replies = [p for p in plans if p.auto_reply_id and p.ticket is not None]
    if replies:
        _auto_replies(replies)
    for plan in plans:
        if plan.forward_to and not plan.forward_reason:
            _forward(plan)


def _auto_replies(plans: list[Plan]) -> None:
    window = timedelta(minutes=settings.MAILFLOW["AUTO_REPLY_WINDOW_MINUTES"])
    claimed = claim_auto_reply_slots(
        [p.auto_reply_to for p in plans], now=timezone.now(), window=window
    )
    responses = StandardResponse.objects.in_bulk({p.auto_reply_id for p in plans})
    done: set[str] = set()
    for plan in plans:
        address = plan.auto_reply_to.lower()
        response = responses.get(plan.auto_reply_id)
        if address not in claimed or address in done:
            plan.auto_reply_reason = f"not sent: {plan.auto_reply_to} was answered moments ago"
            continue
        if response is None:
            plan.auto_reply_reason = "not sent: the standard response was deleted"
            continue
        done.add(address)
        _auto_reply(plan, response)


def _merge_values(plan: Plan, ticket: Ticket) -> dict[str, str]:
    contact = plan.contact
    return {
        "contact.name": (contact.name if contact else "") or plan.sender,
        "contact.email": plan.sender,
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticketbox.name": ticket.ticketbox.name,
        "ticketbox.expected_response_time": ticket.ticketbox.expected_response_time,
        "agent.name": agent_name(ticket.owner if ticket.owner_id else None, ""),
    }


def _auto_reply(plan: Plan, response: StandardResponse) -> None:
    ticket = plan.on_ticket
    parsed = plan.parsed
    subject = tagged_subject(_re(parsed.subject or ticket.subject), ticket.number)
    text = framed_text(
        ticket.ticketbox, fill_merge_fields(response.body, _merge_values(plan, ticket))
    )
    message_id = new_message_id(ticket.number)
    references = [*parsed.references, parsed.message_id]
    box = ticket.ticketbox
    raw = compose(
        Draft(
            from_name=box.from_name,
            from_address=plan.from_address,
            to=[("", plan.auto_reply_to)],
            subject=subject,
            text=text,
            message_id=message_id,
            in_reply_to=parsed.message_id,
            references=references,
            automatic=True,
        )
    )
    message = Message.objects.create(
        ticket=ticket,
        direction=Message.Direction.OUT,
        message_id=message_id,
        in_reply_to=parsed.message_id[:998],
        references="\n".join(r for r in references if r),
        from_name=box.from_name,
        from_address=plan.from_address,
        to=[{"name": "", "address": plan.auto_reply_to}],
        subject=subject[:998],
        date=timezone.now(),
        text=text,
        size=len(raw),
    )
    queue_outbound(
        raw,
        kind=OutboundMessage.Kind.AUTO_REPLY,
        envelope_from=plan.from_address,
        recipients=[plan.auto_reply_to],
        message_id=message_id,
        subject=subject,
        ticket_id=ticket.pk,
        ticket_message_id=message.pk,
    )
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.AUTO_REPLY,
        detail={
            "to": plan.auto_reply_to,
            "response": response.title,
            "why": plan.auto_reply_reason,
        },
    )
    plan.auto_reply_reason = f"sent ({plan.auto_reply_reason})"


def _forward(plan: Plan) -> None:
    ticket = plan.ticket
    subject = f"Fwd: {plan.parsed.subject}".strip()
    if ticket is not None:
        subject = tagged_subject(subject, ticket.number)
        message_id = new_message_id(ticket.number)
    else:
        message_id = make_msgid(domain=message_id_domain())
    lines = [
        f"Forwarded automatically by routing rule “{plan.rule.name if plan.rule else ''}”.",
        f"From: {plan.sender or 'unknown sender'}",
        f"Subject: {plan.parsed.subject}",
    ]
    if ticket is not None:
        lines.append(f"Ticket: #{ticket.number} in {ticket.ticketbox.name}")
    raw = compose(
        Draft(
            from_name=ticket.ticketbox.from_name if ticket else "",
            from_address=plan.from_address,
            to=[("", address) for address in plan.forward_to],
            subject=subject,
            text="\n".join(lines) + "\n\nThe original message is attached.",
            message_id=message_id,
            automatic=True,
            attach_original=plan.facts.raw,
        )
    )
    queue_outbound(
        raw,
        kind=OutboundMessage.Kind.FORWARD,
        envelope_from=plan.from_address,
        recipients=list(plan.forward_to),
        message_id=message_id,
        subject=subject,
        ticket_id=ticket.pk if ticket else None,
    )
    if ticket is not None:
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.FORWARDED,
            detail={"to": list(plan.forward_to), "rule": plan.rule.name if plan.rule else None},
        )
    plan.forward_reason = "forwarded"


def _re(subject: str) -> str:
    return subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
