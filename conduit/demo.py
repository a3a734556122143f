"""Demo outbox: the embedded default (`make run`) sends replies to a local SMTP server
that files them in a Maildir under var/outbox (Procfile.dev runs it), so the whole path
queued → sent works without a real mail server."""

from __future__ import annotations

from conduit.destinations import SmtpDestination

DEMO_SMTP_PORT = 8025


def create_outbox() -> SmtpDestination:
    return SmtpDestination.objects.create(
        name="Demo outbox (var/outbox)",
        host="127.0.0.1",
        port=DEMO_SMTP_PORT,
        security=SmtpDestination.Security.NONE,
        auth=SmtpDestination.Auth.NONE,
        is_default=True,
        timeout_seconds=10,
    )
