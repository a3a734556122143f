"""One ticket: the thread, notes, history, contact panel; a message's HTML in a sandboxed
frame; its headers; attachment downloads."""

from __future__ import annotations

import base64
import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from conduit.deliveries import delivery_status_line
from conduit.mime_html import REMOTE_IMAGE_ATTRIBUTE
from conduit.outbound import BounceCategory
from conduit.store import read_raw
from tickets.models import Message, Ticket, TicketEvent
from tickets.selectors import (
    MANAGE,
    REPLY,
    attachment_for,
    level_on,
    message_for,
    notes_visible,
    ticket_for,
    ticketboxes_for,
    visible_tickets,
)
from tickets.views.common import sidebar

# Raster types a browser shows inline without risk; everything else is a download.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/gif", "image/jpeg", "image/webp", "image/bmp"})
MAX_INLINE_DATA_URI = 2 * 1024 * 1024
_REMOTE_IMAGE = re.compile(rf'{REMOTE_IMAGE_ATTRIBUTE}="([^"]*)" src=""')
_CID = re.compile(r'src="cid:([^"]+)"', re.IGNORECASE)


@login_required
def ticket_view(request: HttpRequest, number: int) -> HttpResponse:
    agent = request.user
    ticket = ticket_for(agent, number, trash=None)
    level = level_on(agent, ticket.ticketbox_id)
    box = ticket.ticketbox
    if box.hands_out_with_get_oldest and ticket.owner_id is None and level < MANAGE:
        messages.info(request, f"{box} hands out tickets with Get Oldest.")
        return redirect("desk:ticketbox", box_id=box.pk)
    thread = list(
        ticket.messages.select_related("author").prefetch_related(
            "attachments", "deliveries__tries"
        )
    )
    for message in thread:
        for outbound in message.deliveries.all():
            outbound.status_line = delivery_status_line(outbound)
    contact = ticket.contact
    other_tickets = (
        visible_tickets(agent)
        .filter(contact=contact)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:10]
        if contact
        else []
    )
    context = {
        **sidebar(request),
        "ticket": ticket,
        "thread": thread,
        "notes": notes_visible(agent, ticket),
        "events": TicketEvent.objects.filter(ticket=ticket).select_related("actor"),
        "contact": contact,
        "contact_emails": _with_bounce_labels(list(contact.emails.all())) if contact else [],
        "hard_bounce_limit": settings.MAILFLOW["HARD_BOUNCE_LIMIT"] or 10**9,
        "other_tickets": other_tickets,
        "can_reply": level >= REPLY and not ticket.in_trash,
        "can_manage": level >= MANAGE,
        "statuses": Ticket.Status.choices,
        "priorities": Ticket.Priority.choices,
        "follow_ups": list(ticket.follow_ups.values_list("number", flat=True)),
        "agents": get_user_model().objects.filter(is_active=True).order_by("username"),
        "move_targets": ticketboxes_for(agent, MANAGE),
        **_neighbours(agent, ticket),
    }
    return render(request, "desk/ticket.html", context)


def _neighbours(agent: Any, ticket: Ticket) -> dict[str, int | None]:
    """The next and previous open tickets of the same ticketbox, for j / k."""
    same_box = (
        visible_tickets(agent)
        .filter(ticketbox_id=ticket.ticketbox_id)
        .exclude(status=Ticket.Status.CLOSED)
        .values_list("number", flat=True)
    )
    return {
        "next_number": same_box.filter(number__gt=ticket.number).order_by("number").first(),
        "previous_number": same_box.filter(number__lt=ticket.number).order_by("-number").first(),
    }


@login_required
@require_GET
@xframe_options_sameorigin
def message_body(request: HttpRequest, pk: int) -> HttpResponse:
    """A message's sanitized HTML as its own document for a sandboxed frame: no script can
    run, and nothing is fetched from elsewhere until the agent asks for images."""
    message = message_for(request.user, pk)
    images = request.GET.get("images") == "1"
    html = message.html or _text_as_html(message.text)
    html = _CID.sub(lambda m: _inline_image(message, m[1]), html)
    if images:
        html = _REMOTE_IMAGE.sub(r'src="\1"', html)
    document = (
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
        "<style>body{font:14px/1.45 system-ui,sans-serif;margin:8px;color:#222;"
        "background:#fff;overflow-wrap:anywhere}img{max-width:100%;height:auto}"
        "pre{white-space:pre-wrap}blockquote{margin:0 0 0 .6em;padding-left:.6em;"
        "border-left:2px solid #ccc;color:#555}</style></head><body>"
        f"{html}</body></html>"
    )
    response = HttpResponse(document, content_type="text/html; charset=utf-8")
    remote = " https: http:" if images else ""
    response["Content-Security-Policy"] = (
        "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox; "
        f"default-src 'none'; style-src 'unsafe-inline'; img-src data:{remote}; "
        "font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
    )
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _text_as_html(text: str) -> str:
    from django.utils.html import escape

    return f"<pre>{escape(text)}</pre>"


def _inline_image(message: Message, content_id: str) -> str:
    """A cid: image of the same message as a data: URI (raster types only)."""
    wanted = content_id.strip("<>")
    for attachment in message.attachments.all():
        if attachment.content_id.strip("<>") != wanted:
            continue
        if attachment.content_type in INLINE_IMAGE_TYPES and attachment.size <= MAX_INLINE_DATA_URI:
            try:
                data = attachment.file.open("rb").read()
            except OSError:
                break
            encoded = base64.b64encode(data).decode()
            return f'src="data:{attachment.content_type};base64,{encoded}"'
    return 'src=""'


@login_required
@require_GET
def message_headers(request: HttpRequest, pk: int) -> HttpResponse:
    """The raw header block of a received message (or what we stored of a sent one)."""
    message = message_for(request.user, pk)
    if message.inbound is not None:
        try:
            raw = read_raw(message.inbound)
        except OSError as exc:
            raise Http404("The raw message is not on disk.") from exc
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        text = head.decode("utf-8", "replace")
    else:
        text = "\n".join(
            f"{name}: {value}"
            for name, value in (
                ("From", f"{message.from_name} <{message.from_address}>"),
                ("Subject", message.subject),
                ("Message-ID", message.message_id),
                ("In-Reply-To", message.in_reply_to),
            )
            if value
        )
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int, inline: bool = False) -> FileResponse:
    """Attachments are downloads (never rendered by the browser), except raster images
    asked for inline by the message frame."""
    attachment = attachment_for(request.user, pk)
    show_inline = inline and attachment.content_type in INLINE_IMAGE_TYPES
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:
        raise Http404("The attachment file is missing.") from exc
    response = FileResponse(
        handle,
        as_attachment=not show_inline,
        filename=attachment.filename or "attachment",
        content_type=attachment.content_type if show_inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _with_bounce_labels(emails: list[Any]) -> list[Any]:
    """Each address with the words for its last bounce ("no such user")."""
    labels = dict(BounceCategory.choices)
    for email in emails:
        email.bounce_label = labels.get(email.last_bounce_category, "")
    return emails
