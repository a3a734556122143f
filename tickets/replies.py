"""Agents' outbound mail: replies, reply-all, forwards and new outbound tickets.

A mail is composed (``conduit.compose``), written to the ticket as an outbound Message
with its attachments, and queued in the outbound spool in one transaction, together with
the ticket changes it brings (first response, owner, status) and its history line. What
the compose form starts with and looks up while the agent writes is in ``tickets/drafts.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from conduit.compose import Draft, DraftAttachment, HeaderInjection, compose
from conduit.outbound import OutboundMessage
from conduit.spool import queue_outbound
from conduit.store import write_media_file
from conduit.tracking import link_rewriter, new_token, pixel_url
from contacts.models import ContactEmail
from contacts.services import find_or_create_contacts
from routing.ruleset import current_ruleset
from routing.threads import new_message_id, tagged_subject
from tickets.agents import Signature
from tickets.library import framed_text
from tickets.models import (
    Attachment,
    Message,
    Ticket,
    Ticketbox,
    TicketEvent,
    attachment_file_name,
)
from tickets.services import create_ticket

# Total size of the files sent with one mail; most mail servers refuse more than 25 MB,
# and base64 makes a file a third larger on the wire.
MAX_ATTACHMENT_BYTES = 18 * 1024 * 1024
MAX_RECIPIENTS = 50
_LINE_BREAKS = re.compile(r"[\r\n\t]+")


class Mode(StrEnum):
    REPLY = "reply"
    ALL = "all"
    FORWARD = "forward"
    NEW = "new"


# What the ticket becomes once the mail is queued ("" keeps its status).
THEN_STATUSES: list[tuple[str, str]] = [
    ("", "Keep the status"),
    (Ticket.Status.WAITING, "Waiting on customer"),
    (Ticket.Status.CLOSED, "Closed"),
]


class ReplyError(ValueError):
    """A mail that cannot be sent as written; the message tells the agent why."""


@dataclass(frozen=True)
class Upload:
    """A file the agent attached in the form."""

    filename: str
    content_type: str
    data: bytes


# ---------------------------------------------------------------------------------------
# Addresses


def format_address(name: str, address: str) -> str:
    """An address as an agent types it: ``Carla Customer <carla@example.net>``."""
    if not name:
        return address
    try:
        return str(Address(display_name=name, addr_spec=address))
    except (ValueError, IndexError):
        return address


def parse_addresses(text: str, *, label: str = "To") -> list[tuple[str, str]]:
    """(display name, address) pairs from what an agent typed, separated by commas or
    semicolons; raises ReplyError naming the first entry that is not an email address."""
    found: dict[str, tuple[str, str]] = {}
    for entry in (part.strip() for part in re.split(r"[,;\n]", _quoted_commas_kept(text))):
        if not entry:
            continue
        entry = entry.replace("\0", ",").replace("\1", ";")
        pairs = getaddresses([entry])
        # Group syntax ("Bcc: x@y") is no address of its own: a colon outside quotes is refused.
        if len(pairs) != 1 or not pairs[0][1] or ":" in re.sub(r'"[^"]*"', "", entry):
            raise ReplyError(f"{label}: “{entry}” is not an email address.")
        name, address = pairs[0]
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ReplyError(f"{label}: “{address}” is not an email address.") from exc
        found.setdefault(address.lower(), (_one_line(name)[:200], address))
    if len(found) > MAX_RECIPIENTS:
        raise ReplyError(f"{label}: at most {MAX_RECIPIENTS} addresses.")
    return list(found.values())


def _quoted_commas_kept(text: str) -> str:
    # A comma inside a quoted display name ("Doe, Jane" <jane@x>) does not separate
    # addresses: hide commas and semicolons as control characters while splitting.
    out, quoted = [], False
    for char in text.replace("\0", "").replace("\1", ""):
        if char == '"':
            quoted = not quoted
        out.append({",": "\0", ";": "\1"}.get(char, char) if quoted else char)
    return "".join(out)


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text).strip()


def outbound_from(ticketbox: Ticketbox) -> str:
    """The From address of mail sent from a ticketbox: its own, else the site default."""
    address = ticketbox.from_address or settings.MAILFLOW["DEFAULT_FROM"]
    if not address:
        raise ReplyError(
            f"Ticketbox “{ticketbox.name}” has no From address and MAILFLOW_DEFAULT_FROM is "
            "not set: ask an administrator to set one before sending."
        )
    return str(address)


def our_addresses(ticketbox: Ticketbox | None = None) -> frozenset[str]:
    """Addresses that are ours (ticketbox addresses, From addresses, mail sources, the
    default From), lower-cased: reply-all never copies the help desk to itself."""
    ours = set(current_ruleset().our_addresses)
    if settings.MAILFLOW["DEFAULT_FROM"]:
        ours.add(settings.MAILFLOW["DEFAULT_FROM"].lower())
    if ticketbox is not None and ticketbox.from_address:
        ours.add(ticketbox.from_address.lower())
    return frozenset(ours)


# ---------------------------------------------------------------------------------------
# Sending


def send_reply(
    ticket: Ticket,
    *,
    agent: Any,
    to: Sequence[tuple[str, str]],
    subject: str,
    body: str,
    cc: Sequence[tuple[str, str]] = (),
    answering: Message | None = None,
    mode: Mode = Mode.REPLY,
    signature: Signature | None = None,
    uploads: Sequence[Upload] = (),
    forwarded: Sequence[Attachment] = (),
    then_status: str = "",
) -> Message:
    """Send an agent's mail on a ticket: compose it from the ticketbox's From address
    (header, body, signature, footer), store it as an outbound Message with its
    attachments and queue it in the spool, all in one transaction with the ticket's
    first response, owner (the agent, when nobody owns it) and status. A forward is no
    answer to the customer, so it leaves the response times alone.

    The caller checks the agent's right to reply (``selectors.ticket_for(..., REPLY)``).
    Raises ReplyError when the mail cannot be sent as written.
    """
    box = ticket.ticketbox
    from_address = outbound_from(box)
    to, cc = _checked(to, "To"), _checked(cc, "Cc")
    refuse_bounced_addresses([address for _, address in [*to, *cc]])
    if not to:
        raise ReplyError("Add at least one address to send to.")
    if ticket.deleted_at is not None:
        raise ReplyError("The ticket is in the trash: restore it before replying.")
    if then_status not in dict(THEN_STATUSES):
        raise ReplyError("Choose what happens to the ticket after sending.")
    if answering is not None and answering.ticket_id != ticket.pk:
        raise ReplyError("The message answered belongs to another ticket.")
    if any(a.message.ticket_id != ticket.pk for a in forwarded):
        raise ReplyError("Only this ticket's attachments can be forwarded.")
    if not body.strip():
        raise ReplyError("Write something to send.")
    subject = tagged_subject(_one_line(subject) or ticket.subject, ticket.number)
    text = framed_text(box, _signed(body, signature))
    files = _files(uploads, forwarded)
    in_reply_to, references = "", []
    if answering is not None and mode != Mode.FORWARD:
        in_reply_to = answering.message_id
        references = [r for r in [*answering.reference_list(), answering.message_id] if r]
    message_id = new_message_id(ticket.number)
    token = new_token() if box.track_delivery else None
    try:
        raw = compose(
            Draft(
                from_name=box.from_name,
                from_address=from_address,
                to=to,
                cc=cc,
                subject=subject,
                text=text,
                message_id=message_id,
                in_reply_to=in_reply_to,
                references=references,
                attachments=[draft for draft, _ in files],
                track_link=link_rewriter(token) if token else None,
                tracking_pixel=pixel_url(token) if token else "",
            )
        )
    except HeaderInjection as error:
        raise ReplyError(str(error)) from error
    for draft, sha256 in files:  # content-addressed: a rolled-back send leaves a reusable file
        write_media_file(attachment_file_name(sha256), draft.data)
    now = timezone.now()
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        message = Message.objects.create(
            ticket=locked,
            direction=Message.Direction.OUT,
            message_id=message_id,
            in_reply_to=in_reply_to[:998],
            references="\n".join(references),
            from_name=box.from_name,
            from_address=from_address,
            to=[{"name": name, "address": address} for name, address in to],
            cc=[{"name": name, "address": address} for name, address in cc],
            subject=subject[:998],
            date=now,
            text=text,
            size=len(raw),
            author=agent,
        )
        _attachment_rows(message, files)
        queue_outbound(
            raw,
            kind=OutboundMessage.Kind.REPLY,
            envelope_from=from_address,
            recipients=[address for _, address in [*to, *cc]],
            message_id=message_id,
            subject=subject,
            ticket_id=locked.pk,
            ticket_message_id=message.pk,
            tracking_token=token,
        )
        _after_sending(locked, agent=agent, mode=mode, then_status=then_status, now=now)
        TicketEvent.objects.create(
            ticket=locked,
            actor=agent,
            kind=TicketEvent.Kind.MESSAGE_OUT,
            detail={
                "mode": str(mode),
                "to": [address for _, address in to],
                "cc": [address for _, address in cc],
                "message": message.pk,
                "attachments": len(files),
            },
        )
    return message


def open_outbound_ticket(
    *,
    agent: Any,
    ticketbox: Ticketbox,
    to: Sequence[tuple[str, str]],
    subject: str,
    body: str,
    cc: Sequence[tuple[str, str]] = (),
    signature: Signature | None = None,
    uploads: Sequence[Upload] = (),
    then_status: str = "",
) -> Message:
    """Open a ticket with the agent's first mail to a customer (the first To address is
    the ticket's contact; the agent owns it) and send that mail as ``send_reply`` does.

    The caller checks the agent's right to reply in ``ticketbox``.
    """
    outbound_from(ticketbox)  # refuse before a ticket exists
    to = _checked(to, "To")
    if not to:
        raise ReplyError("Add at least one address to send to.")
    if not _one_line(subject):
        raise ReplyError("A new ticket needs a subject.")
    # Files go to disk before the ticket counter is locked (held until commit); the send
    # below finds them there.
    for draft, sha256 in _files(uploads, ()):
        write_media_file(attachment_file_name(sha256), draft.data)
    with transaction.atomic():
        name, address = to[0]
        contact = find_or_create_contacts([(address, name)])[address.lower()]
        ticket = create_ticket(
            actor=agent,
            subject=_one_line(subject),
            ticketbox=ticketbox,
            contact=contact,
            owner=agent,
        )
        return send_reply(
            ticket,
            agent=agent,
            to=to,
            cc=cc,
            subject=subject,
            body=body,
            mode=Mode.NEW,
            signature=signature,
            uploads=uploads,
            then_status=then_status,
        )


def refuse_bounced_addresses(addresses: Sequence[str]) -> None:
    """Refuse mail to an address that bounced permanently MAILFLOW_HARD_BOUNCE_LIMIT times
    (counted by ``routing.bounces``): sending again only earns the desk a bad reputation.
    One query for all recipients."""
    limit = settings.MAILFLOW["HARD_BOUNCE_LIMIT"]
    if limit <= 0 or not addresses:
        return
    wanted = {address.lower() for address in addresses}
    bounced = list(
        ContactEmail.objects.alias(lower=Lower("address")).filter(
            lower__in=wanted, hard_bounces__gte=limit
        )
    )
    if bounced:
        email = min(bounced, key=lambda e: e.address.lower())
        why = (
            f" ({_one_line(email.last_bounce_diagnostic)[:120]})"
            if email.last_bounce_diagnostic
            else ""
        )
        raise ReplyError(
            f"Mail to {email.address} bounced {email.hard_bounces} times{why}; it will not be "
            "sent. Correct the address or reset it on the contact."
        )


def _checked(addresses: Sequence[tuple[str, str]], label: str) -> list[tuple[str, str]]:
    checked = []
    for name, address in addresses:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ReplyError(f"{label}: “{address}” is not an email address.") from exc
        checked.append((_one_line(name)[:200], address.strip()))
    if len(checked) > MAX_RECIPIENTS:
        raise ReplyError(f"{label}: at most {MAX_RECIPIENTS} addresses.")
    return checked


def _signed(body: str, signature: Signature | None) -> str:
    text = body.rstrip()
    if signature is None or not signature.body.strip():
        return text
    sign = signature.body.strip("\n")
    # The usual "-- " separator lets mail clients tell the signature apart.
    return f"{text}\n\n{sign}" if sign.startswith("--") else f"{text}\n\n-- \n{sign}"


def _files(
    uploads: Sequence[Upload], forwarded: Sequence[Attachment]
) -> list[tuple[DraftAttachment, str]]:
    files = [
        (DraftAttachment(_file_name(u.filename), u.content_type or "", u.data), "") for u in uploads
    ]
    for attachment in forwarded:
        try:
            with attachment.file.open("rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ReplyError(f"The attachment “{attachment.filename}” is missing.") from exc
        files.append(
            (DraftAttachment(attachment.filename, attachment.content_type, data), attachment.sha256)
        )
    total = sum(len(draft.data) for draft, _ in files)
    if total > MAX_ATTACHMENT_BYTES:
        raise ReplyError(
            f"The attachments add up to {total // (1024 * 1024)} MB; at most "
            f"{MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB can be sent with one mail."
        )
    return [(draft, sha or hashlib.sha256(draft.data).hexdigest()) for draft, sha in files]


def _file_name(name: str) -> str:
    # Browsers send a bare name, but some older ones send the client's full path.
    base = PurePath(name.replace("\\", "/")).name
    return re.sub(r"[\x00-\x1f\x7f]", "", base)[:255] or "attachment"


def _attachment_rows(message: Message, files: list[tuple[DraftAttachment, str]]) -> None:
    rows = []
    for draft, sha256 in files:
        row = Attachment(
            message=message,
            filename=draft.filename[:255],
            content_type=(draft.content_type or "application/octet-stream")[:255],
            size=len(draft.data),
            sha256=sha256,
        )
        row.file.name = attachment_file_name(sha256)
        rows.append(row)
    if rows:
        Attachment.objects.bulk_create(rows)


def _after_sending(ticket: Ticket, *, agent: Any, mode: Mode, then_status: str, now: Any) -> None:
    changed = ["last_agent_message_at", "awaiting_reply_since", "updated_at"]
    events = []
    if mode != Mode.FORWARD:
        ticket.last_agent_message_at = now
        ticket.awaiting_reply_since = None  # answered: the ticket-age clock stops
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            changed.append("first_response_at")
    if ticket.owner_id is None:
        ticket.owner = agent
        changed.append("owner")
        events.append(
            TicketEvent(
                ticket=ticket,
                actor=agent,
                kind=TicketEvent.Kind.ASSIGNED,
                detail={"owner": agent.get_username(), "why": "replied"},
            )
        )
    if then_status and then_status != ticket.status:
        events.append(
            TicketEvent(
                ticket=ticket,
                actor=agent,
                kind=TicketEvent.Kind.STATUS,
                detail={"from": ticket.status, "to": then_status},
            )
        )
        ticket.status = then_status
        ticket.closed_at = now if then_status == Ticket.Status.CLOSED else None
        changed += ["status", "closed_at"]
    ticket.save(update_fields=changed)
    TicketEvent.objects.bulk_create(events)
