"""The outbound spool: queue mail for delivery (the spooler that sends it comes with it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from conduit.outbound import OutboundMessage, spool_path
from conduit.store import write_media_file


def queue_outbound(
    raw: bytes,
    *,
    kind: str,
    envelope_from: str,
    recipients: Sequence[str],
    message_id: str,
    subject: str = "",
    ticket_id: int | None = None,
    ticket_message_id: int | None = None,
) -> OutboundMessage:
    """Write the mail's bytes to the spool directory and queue it, in the caller's
    transaction: it is sent only if the change that caused it commits."""
    outbound = OutboundMessage(
        kind=kind,
        ticket_id=ticket_id,
        ticket_message_id=ticket_message_id,
        message_id=message_id[:998],
        envelope_from=envelope_from,
        recipients=list(recipients),
        subject=subject[:998],
        size=len(raw),
    )
    name = spool_path(outbound, f"{uuid.uuid4().hex}.eml")
    write_media_file(name, raw)
    outbound.raw.name = name
    outbound.save()
    return outbound
