"""Customer mail for tests: a plain message as bytes, stored and routed like real mail."""

from __future__ import annotations

from django.db import transaction

from conduit.models import InboundMessage, MailSource
from conduit.store import store_raw
from routing.services import RouteOutcome, route_inbound


def customer_mail(
    *,
    sender: str = "Carla Customer <carla@example.net>",
    to: str = "support@example.com",
    subject: str = "Broken widget",
    message_id: str = "<m1@example.net>",
    extra: str = "",
    body: str = "My widget is broken.",
) -> bytes:
    """A plain-text mail; ``extra`` is more header lines, each ending in CRLF."""
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMessage-ID: {message_id}\r\n{extra}"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def store_mail(raw: bytes, source: MailSource | None = None) -> InboundMessage:
    with transaction.atomic():
        return store_raw(raw, origin="test", source=source).inbound


def route_mail(raw: bytes, source: MailSource | None = None) -> RouteOutcome:
    return route_inbound(store_mail(raw, source).pk)
