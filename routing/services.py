"""The route step: stored InboundMessages become Messages on tickets.

This first version threads by In-Reply-To / References and otherwise opens a ticket in the
source's default ticketbox or Unassigned; routing rules, subject tags, loops and blocked
senders come with the routing engine.

Mail is routed in batches (one batch per fetched or imported chunk): contacts, threads,
ticket numbers and rows are looked up and written with a few queries per batch, not per
message. A single mail is a batch of one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conduit.antivirus import StreamTooLarge, scan_message
from conduit.mime import ParsedMessage, parse_message
from conduit.models import InboundMessage
from conduit.store import read_raw, write_media_file
from contacts.services import find_or_create_contacts
from tickets.models import Attachment, Message, Ticket, TicketEvent, attachment_file_name
from tickets.services import NewTicket, open_tickets

logger = logging.getLogger("mailflow.routing")

PRIORITIES = {
    "low": Ticket.Priority.LOW,
    "normal": Ticket.Priority.NORMAL,
    "high": Ticket.Priority.HIGH,
    "urgent": Ticket.Priority.URGENT,
}
MAX_ROUTE_ATTEMPTS = 5
WAITING = (InboundMessage.State.STORED, InboundMessage.State.FAILED)


@dataclass(frozen=True)
class RouteOutcome:
    inbound_id: int
    ticket_id: int | None
    message_id: int | None
    new_ticket: bool
    already_routed: bool = False


def route_inbound(inbound_id: int) -> RouteOutcome:
    """Route one stored mail onto a ticket. Idempotent: a routed mail is left as it is.

    A failure marks the InboundMessage as failed with the reason and re-raises; the raw
    mail stays stored and is routed again by the sweep.
    """
    try:
        with transaction.atomic():
            return _route_batch([inbound_id])[0]
    except Exception as exc:
        _mark_failed(inbound_id, exc)
        raise


def route_batch(inbound_ids: Sequence[int]) -> list[RouteOutcome]:
    """Route stored mails in order of arrival, in one transaction. Never raises.

    When the batch fails as a whole, each mail is routed on its own, so one bad mail
    fails alone (recorded on it, routed again later by the sweep) and the others go
    through. Returns the outcomes of the mails that were routed.
    """
    if not inbound_ids:
        return []
    try:
        with transaction.atomic():
            return _route_batch(inbound_ids)
    except Exception as exc:  # noqa: BLE001 - isolate the failing mail below
        logger.warning(
            "Routing a batch of %d failed (%s); routing one by one", len(inbound_ids), exc
        )
    outcomes = []
    for pk in inbound_ids:
        try:
            outcomes.append(route_inbound(pk))
        except Exception:
            logger.exception("Routing inbound message %s failed", pk)
    return outcomes


def _mark_failed(inbound_id: int, exc: BaseException) -> None:
    InboundMessage.objects.filter(pk=inbound_id).update(
        state=InboundMessage.State.FAILED,
        error=f"{type(exc).__name__}: {exc}"[:5000],
        route_attempts=F("route_attempts") + 1,
    )


@dataclass
class _Mail:
    """One mail on its way through a batch."""

    inbound: InboundMessage
    parsed: ParsedMessage
    ticket: Ticket | None = None
    new_ticket: bool = False
    # An earlier mail of the same batch this one replies to; it shares that mail's ticket.
    parent: _Mail | None = None
    message: Message | None = None
    refs: list[str] = field(default_factory=list)


def _route_batch(inbound_ids: Sequence[int], *, scan: bool = True) -> list[RouteOutcome]:
    inbounds = list(
        InboundMessage.objects.select_for_update(of=("self",))
        .select_related("source")
        .filter(pk__in=inbound_ids)
        .order_by("received_at", "pk")
    )
    outcomes = {i.pk: _already_routed(i) for i in inbounds if i.state not in WAITING}
    mails = []
    for inbound in inbounds:
        if inbound.state not in WAITING:
            continue
        raw = read_raw(inbound)
        if scan and _quarantined(inbound, raw):
            outcomes[inbound.pk] = RouteOutcome(inbound.pk, None, None, new_ticket=False)
            continue
        mails.append(_Mail(inbound, parse_message(raw)))
    if mails:
        _save_attachment_files(mails)
        _thread_and_open(mails)
        _write_messages(mails)
        InboundMessage.objects.filter(pk__in=[m.inbound.pk for m in mails]).update(
            state=InboundMessage.State.ROUTED, error=""
        )
        for mail in mails:
            outcomes[mail.inbound.pk] = RouteOutcome(
                mail.inbound.pk, mail.ticket.pk, mail.message.pk, new_ticket=mail.new_ticket
            )
    missing = [pk for pk in inbound_ids if pk not in outcomes]
    if missing:
        raise InboundMessage.DoesNotExist(f"No stored inbound message with id {missing}")
    return [outcomes[pk] for pk in inbound_ids]


def _already_routed(inbound: InboundMessage) -> RouteOutcome:
    existing = Message.objects.filter(inbound=inbound).first()
    return RouteOutcome(
        inbound.pk,
        existing.ticket_id if existing else None,
        existing.pk if existing else None,
        new_ticket=False,
        already_routed=True,
    )


def _quarantined(inbound: InboundMessage, raw: bytes) -> bool:
    """Scan with the antivirus hook; infected (or unscannable) mail is kept but not routed.

    A scanner that cannot be reached raises ScannerUnavailable: the mail stays stored and
    the sweep routes it again later.
    """
    try:
        verdict = scan_message(raw)
    except StreamTooLarge as exc:
        reason = f"Not routed: too large for the virus scanner to check. {exc}"
    else:
        if verdict is None or not verdict.infected:
            return False
        reason = f"Virus found by {verdict.scanner}: {verdict.signature}"
    inbound.state = InboundMessage.State.QUARANTINED
    inbound.error = reason[:5000]
    inbound.save(update_fields=["state", "error"])
    logger.error(
        "Quarantined inbound message %s (%s): %s",
        inbound.pk,
        inbound.message_id or "no Message-ID",
        reason,
        extra={"alert": "virus_found", "inbound_id": inbound.pk},
    )
    return True


def _thread_and_open(mails: list[_Mail]) -> None:
    """Find each mail's ticket by the messages it refers to; open tickets for the rest.

    A reply to a mail earlier in the same batch joins that mail's new ticket.
    """
    for mail in mails:
        mail.refs = [
            ref
            for ref in dict.fromkeys([mail.parsed.in_reply_to, *reversed(mail.parsed.references)])
            if ref
        ]
    wanted = {ref for mail in mails for ref in mail.refs}
    known: dict[str, Ticket] = {}
    if wanted:
        for message in (
            Message.objects.filter(message_id__in=wanted, ticket__deleted_at__isnull=True)
            .select_related("ticket")
            .order_by("id")
        ):
            known.setdefault(message.message_id, message.ticket)
    senders = [
        (m.parsed.from_.address, m.parsed.from_.name) for m in mails if m.parsed.from_ is not None
    ]
    contacts = find_or_create_contacts(senders)
    openers: list[_Mail] = []
    threads: dict[str, Ticket | _Mail] = dict(known)
    for mail in mails:
        target = next((threads[ref] for ref in mail.refs if ref in threads), None)
        if target is None:
            mail.new_ticket = True
            openers.append(mail)
        elif isinstance(target, _Mail):
            mail.parent = target
        else:
            mail.ticket = target
        if mail.parsed.message_id:
            threads.setdefault(mail.parsed.message_id, mail.ticket or mail.parent or mail)
    specs = [
        NewTicket(
            subject=m.parsed.subject or "(no subject)",
            ticketbox=m.inbound.source.ticketbox_hint if m.inbound.source else None,
            contact=contacts.get(_sender(m.parsed).lower()),
            priority=PRIORITIES.get(m.parsed.priority, Ticket.Priority.NORMAL),
            created_at=m.inbound.received_at,
            last_customer_message_at=m.inbound.received_at,
        )
        for m in openers
    ]
    for opener, ticket in zip(openers, open_tickets(specs), strict=True):
        opener.ticket = ticket
    for mail in mails:
        if mail.parent is not None:
            mail.ticket = mail.parent.ticket


def _sender(parsed: ParsedMessage) -> str:
    return parsed.from_.address if parsed.from_ else ""


def _write_messages(mails: list[_Mail]) -> None:
    messages = []
    for mail in mails:
        parsed = mail.parsed
        mail.message = Message(
            ticket=mail.ticket,
            direction=Message.Direction.IN,
            message_id=parsed.message_id[:998],
            in_reply_to=parsed.in_reply_to[:998],
            references="\n".join(parsed.references),
            from_name=(parsed.from_.name if parsed.from_ else "")[:200],
            from_address=_sender(parsed)[:254],
            to=[{"name": a.name, "address": a.address} for a in parsed.to],
            cc=[{"name": a.name, "address": a.address} for a in parsed.cc],
            subject=parsed.subject[:998],
            date=parsed.date or mail.inbound.received_at,
            text=parsed.text,
            html=parsed.html or "",
            priority=PRIORITIES.get(parsed.priority, Ticket.Priority.NORMAL),
            size=mail.inbound.size,
            inbound=mail.inbound,
        )
        messages.append(mail.message)
    Message.objects.bulk_create(messages)
    _write_attachments(mails)
    _touch_threaded_tickets([m for m in mails if not m.new_ticket])


def _write_attachments(mails: list[_Mail]) -> None:
    rows = []
    for mail in mails:
        for part in mail.parsed.attachments:
            row = Attachment(
                message=mail.message,
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


def _save_attachment_files(mails: list[_Mail]) -> None:
    """Attachment files go to disk before the batch takes any database lock (the ticket
    counter is held until commit); paths are content-addressed, so a rolled-back batch
    leaves at most a file the next attempt reuses."""
    for mail in mails:
        for part in mail.parsed.attachments:
            write_media_file(attachment_file_name(part.sha256), part.payload)


def _touch_threaded_tickets(replies: list[_Mail]) -> None:
    """A customer wrote again on an existing ticket: note when, reopen it, record it."""
    if not replies:
        return
    tickets: dict[int, Ticket] = {}
    for mail in replies:
        ticket = tickets.setdefault(mail.ticket.pk, mail.ticket)
        received: datetime = mail.inbound.received_at
        if ticket.last_customer_message_at is None or received > ticket.last_customer_message_at:
            ticket.last_customer_message_at = received
        if ticket.status in (Ticket.Status.CLOSED, Ticket.Status.WAITING):
            # The customer wrote back: the ticket needs an agent again.
            ticket.status = Ticket.Status.OPEN
            ticket.closed_at = None
    now = timezone.now()
    for ticket in tickets.values():
        ticket.updated_at = now
    Ticket.objects.bulk_update(
        tickets.values(), ["last_customer_message_at", "status", "closed_at", "updated_at"]
    )
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=mail.ticket,
            kind=TicketEvent.Kind.MESSAGE_IN,
            detail={"message": mail.message.pk, "from": _sender(mail.parsed)},
        )
        for mail in replies
    )


def release_and_route(inbound_ids: list[int], *, released_by: str) -> list[RouteOutcome]:
    """An administrator's decision: route failed, waiting or quarantined mail again.

    Quarantined mail is routed without a second virus scan (the administrator vouched for
    it); the release is logged. Mail already routed is left alone.
    """
    quarantined = list(
        InboundMessage.objects.filter(
            pk__in=inbound_ids, state=InboundMessage.State.QUARANTINED
        ).values_list("pk", flat=True)
    )
    if quarantined:
        logger.warning(
            "%s released %d quarantined message(s) for routing: %s",
            released_by,
            len(quarantined),
            quarantined,
            extra={"alert": "security"},
        )
    waiting = list(
        InboundMessage.objects.filter(pk__in=inbound_ids, state__in=WAITING).values_list(
            "pk", flat=True
        )
    )
    outcomes = route_batch(waiting)
    for pk in quarantined:
        try:
            with transaction.atomic():
                InboundMessage.objects.filter(pk=pk).update(state=InboundMessage.State.STORED)
                outcomes.extend(_route_batch([pk], scan=False))
        except Exception as exc:
            _mark_failed(pk, exc)
            logger.exception("Routing released message %s failed", pk)
    return outcomes


def unrouted(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> list[int]:
    """Mails still waiting for the route step (task lost, or failed fewer than 5 times)."""
    cutoff = timezone.now() - older_than
    waiting = Q(state=InboundMessage.State.STORED) | Q(
        state=InboundMessage.State.FAILED, route_attempts__lt=MAX_ROUTE_ATTEMPTS
    )
    return list(
        InboundMessage.objects.filter(waiting, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
