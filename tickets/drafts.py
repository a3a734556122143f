"""The compose form's side of a reply: what it starts with (recipients, subject, the
quoted or forwarded message) and what it looks up while the agent writes (standard
responses, most used first, with per-agent usage; contact addresses). Sending is
``tickets/replies.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import dateformat, timezone
from django.utils.html import strip_tags

from conduit.store import read_raw
from contacts.models import ContactEmail
from routing.threads import tagged_subject
from tickets.agents import AgentProfile, agent_name
from tickets.library import StandardResponse, StandardResponseUsage, fill_merge_fields
from tickets.models import Attachment, Message, Ticket, Ticketbox
from tickets.replies import Mode, format_address, our_addresses

FORWARD_LINE = "---------- Forwarded message ----------"
_FORWARD_PREFIX = re.compile(r"^\s*(fwd?|wg)\s*:", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv)\s*:", re.IGNORECASE)


@dataclass
class Prefill:
    """What the compose form starts with."""

    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    subject: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def to_text(self) -> str:
        return ", ".join(format_address(name, address) for name, address in self.to)

    @property
    def cc_text(self) -> str:
        return ", ".join(format_address(name, address) for name, address in self.cc)


# ---------------------------------------------------------------------------------------
# The compose form's starting point


def message_to_answer(ticket: Ticket) -> Message | None:
    """The message a plain "Reply" answers: the customer's latest, else the latest."""
    messages = ticket.messages.order_by("-date", "-id")
    return messages.filter(direction=Message.Direction.IN).first() or messages.first()


def reply_prefill(
    ticket: Ticket, message: Message | None, *, mode: Mode, profile: AgentProfile
) -> Prefill:
    """Recipients, subject and quoted body for answering (or forwarding) ``message``.

    Reply goes to the customer (the message's Reply-To, else its From; for our own
    message, its recipients); reply-all copies the message's other recipients except our
    own addresses; forward leaves To empty, includes the original text and offers its
    attachments.
    """
    base = (message.subject if message else "") or ticket.subject
    if mode == Mode.FORWARD:
        subject = base if _FORWARD_PREFIX.match(base) else f"Fwd: {base}".strip()
        body = f"\n\n{forwarded_text(message)}" if message else ""
        offered = [a for a in message.attachments.all() if not a.inline] if message else []
        return Prefill([], [], tagged_subject(subject, ticket.number), body, offered)
    subject = tagged_subject(base if _REPLY_PREFIX.match(base) else f"Re: {base}", ticket.number)
    if message is None:
        contact = ticket.contact
        email = contact.primary_email if contact else ""
        to = [(contact.name if contact else "", email)] if email else []
        return Prefill(to, [], subject, "")
    to = _customer_addresses(message)
    cc: list[tuple[str, str]] = []
    if mode == Mode.ALL:
        skip = our_addresses(ticket.ticketbox) | {address.lower() for _, address in to}
        cc = _other_recipients(message, skip=set(skip))
    body = ""
    if profile.quote_replies:
        body = f"\n\n{quoted_text(message, prefix=profile.quote_prefix)}"
    return Prefill(to, cc, subject, body)


def _other_recipients(message: Message, *, skip: set[str]) -> list[tuple[str, str]]:
    """Reply-all's copies: whoever else the message went to, except ``skip``."""
    # Our own message went To the customer; a customer's went To us and maybe others.
    others = message.cc if message.direction == Message.Direction.OUT else message.to + message.cc
    cc = []
    for entry in others:
        address = (entry.get("address") or "").strip()
        if address and address.lower() not in skip:
            skip.add(address.lower())
            cc.append((entry.get("name") or "", address))
    return cc


def _customer_addresses(message: Message) -> list[tuple[str, str]]:
    if message.direction == Message.Direction.OUT:
        return [(e.get("name") or "", e["address"]) for e in message.to if e.get("address")]
    reply_to = _reply_to_header(message)
    if reply_to:
        return reply_to
    return [(message.from_name, message.from_address)] if message.from_address else []


def _reply_to_header(message: Message) -> list[tuple[str, str]]:
    """The Reply-To addresses of a received message, read from its stored raw mail."""
    if message.inbound is None:
        return []
    try:
        raw = read_raw(message.inbound)
    except OSError:
        return []
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        values = BytesHeaderParser(policy=policy.default).parsebytes(head).get_all("reply-to")
    except (ValueError, TypeError, IndexError):
        return []
    pairs = getaddresses([str(value) for value in values or []])
    return [(name, address) for name, address in pairs if "@" in address]


def _body_of(message: Message) -> str:
    return (message.text or strip_tags(message.html)).strip("\n")


def _when(message: Message) -> str:
    return dateformat.format(timezone.localtime(message.date), "D, j M Y \\a\\t H:i")


def quoted_text(message: Message, *, prefix: str) -> str:
    """The message quoted line by line under an attribution line."""
    name = message.from_name or message.from_address or "someone"
    lines = [
        f"{prefix}{line}" if line.strip() else prefix.rstrip()
        for line in _body_of(message).splitlines()
    ]
    return "\n".join([f"On {_when(message)}, {name} wrote:", *lines])


def forwarded_text(message: Message) -> str:
    """The original message under a "Forwarded message" block of its headers."""
    sender = format_address(message.from_name, message.from_address)
    to = ", ".join(format_address(e.get("name") or "", e.get("address", "")) for e in message.to)
    lines = [FORWARD_LINE, f"From: {sender}", f"Date: {_when(message)}"]
    lines += [f"Subject: {message.subject}", f"To: {to}", "", _body_of(message)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Standard responses


@dataclass
class ResponseChoice:
    id: int
    title: str
    shortcut: str
    used: int


@dataclass
class ResponseGroup:
    name: str
    responses: list[ResponseChoice]


MOST_USED = "Most used"


def standard_responses_for(
    agent: Any, query: str = "", *, most_used: int = 5, limit: int = 200
) -> list[ResponseGroup]:
    """Active standard responses matching ``query`` (title, shortcut or body), grouped by
    category with the agent's most used first in each; the agent's favourites also head
    the list as their own group."""
    used = StandardResponseUsage.objects.filter(response=OuterRef("pk"), agent=agent)
    rows = (
        StandardResponse.objects.filter(is_active=True)
        .select_related("category__parent")
        .annotate(used=Coalesce(Subquery(used.values("count")[:1]), Value(0)))
    )
    query = query.strip()
    if query:
        rows = rows.filter(
            Q(title__icontains=query) | Q(shortcut__icontains=query) | Q(body__icontains=query)
        )
    groups: dict[str, ResponseGroup] = {}
    favourites: list[ResponseChoice] = []
    for row in rows.order_by("-used", "title")[:limit]:
        choice = ResponseChoice(row.pk, row.title, row.shortcut, row.used)
        if choice.used and len(favourites) < most_used:
            favourites.append(choice)
        name = str(row.category) if row.category else "Other"
        groups.setdefault(name, ResponseGroup(name, [])).responses.append(choice)
    ordered = sorted(groups.values(), key=lambda g: (g.name == "Other", g.name.lower()))
    return [ResponseGroup(MOST_USED, favourites), *ordered] if favourites else ordered


def response_merge_values(
    *, agent: Any, ticket: Ticket | None = None, ticketbox: Ticketbox | None = None
) -> dict[str, str]:
    """The merge fields a response can use in this reply; unknown ones stay as written."""
    values = {"agent.name": agent_name(agent)}
    box = ticket.ticketbox if ticket is not None else ticketbox
    if box is not None:
        values["ticketbox.name"] = box.name
    if ticket is not None:
        values["ticket.number"] = str(ticket.number)
        values["ticket.subject"] = ticket.subject
        contact = ticket.contact
        if contact is not None:
            email = contact.primary_email or ""
            values["contact.name"] = contact.name or email
            values["contact.email"] = email
    return values


def standard_response_text(
    response: StandardResponse,
    *,
    agent: Any,
    ticket: Ticket | None = None,
    ticketbox: Ticketbox | None = None,
    count_use: bool = True,
) -> str:
    """A response's body with its merge fields filled; counts one use by the agent (the
    picker lists the agent's most used first)."""
    if count_use:
        record_response_use(response, agent=agent)
    values = response_merge_values(agent=agent, ticket=ticket, ticketbox=ticketbox)
    return fill_merge_fields(response.body, values)


def record_response_use(response: StandardResponse, *, agent: Any) -> None:
    now = timezone.now()
    usage = StandardResponseUsage.objects.filter(response=response, agent=agent)
    if usage.update(count=F("count") + 1, last_used_at=now):
        return
    try:
        with transaction.atomic():
            StandardResponseUsage.objects.create(
                response=response, agent=agent, count=1, last_used_at=now
            )
    except IntegrityError:  # a concurrent first use made the row
        usage.update(count=F("count") + 1, last_used_at=now)


# ---------------------------------------------------------------------------------------
# Contact lookup


def contact_suggestions(query: str, *, limit: int = 10) -> list[dict[str, str]]:
    """Contact addresses whose address or contact name contains ``query`` (at least two
    characters), those starting with it first.

    Contacts are the help desk's shared address book (as in other help desks, every
    agent may write to any customer). On PostgreSQL both matches use trigram indexes; the
    two are separate queries (an OR across the join would scan), each already in the final
    order, merged here.
    """
    query = query.strip()
    if len(query) < 2:
        return []
    matches = [
        _suggested(Q(address__icontains=query), query, limit),
        _suggested(Q(contact__name__icontains=query), query, limit),
    ]
    seen: dict[int, tuple[Any, ...]] = {}
    for email in (email for found in matches for email in found):
        folded = query.casefold()
        starts = not email.address.casefold().startswith(folded) and not (
            email.contact.name.casefold().startswith(folded)
        )
        seen[email.pk] = (starts, email.contact.name, email.address, email)
    emails = [row[-1] for row in sorted(seen.values(), key=lambda row: row[:3])[:limit]]
    return [
        {
            "name": email.contact.name,
            "address": email.address,
            "label": format_address(email.contact.name, email.address),
        }
        for email in emails
    ]


def _suggested(match: Q, query: str, limit: int) -> list[ContactEmail]:
    starts = Case(
        When(address__istartswith=query, then=Value(0)),
        When(contact__name__istartswith=query, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return list(
        ContactEmail.objects.filter(match)
        .select_related("contact")
        .annotate(starts=starts)
        .order_by("starts", "contact__name", "address")[:limit]
    )
