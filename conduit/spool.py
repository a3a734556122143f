"""The outbound spool: mail waits here until an SMTP server has taken it.

``queue_outbound`` writes a mail in the caller's transaction. ``send_due`` claims due mail
(``SELECT … FOR UPDATE SKIP LOCKED``; a lease; committed before anything is sent), hands it to
``conduit.sender`` grouped by destination, and records every attempt as it comes. A message
is marked sent only after the server accepted its DATA; a worker that dies leaves its lease
to run out and the message is claimed again: it may be sent once more, never lost.

When a server takes the mail for some recipients and refuses others, the message is sent:
the refused recipients are kept on its delivery attempt, shown on the ticket, and the agent
is alerted. They are not retried, as a retry would send the mail again to the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conduit.deliveries import Recorder, SpoolRound, commits_without_waiting_for_disk
from conduit.destinations import SmtpDestination
from conduit.outbound import OutboundMessage, spool_path
from conduit.secretbox import SecretUnreadable
from conduit.sender import Envelope, Outcome, Result, deliver
from conduit.smtp import Server, server_label
from conduit.store import write_media_file
from conduit.verp import return_path_for

# Mail sent with a VERP return path (bounces+<id>…), so that a bounce names its message.
VERP_KINDS = frozenset(
    {OutboundMessage.Kind.REPLY, OutboundMessage.Kind.FORWARD, OutboundMessage.Kind.AUTO_REPLY}
)


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
    tracking_token: str | None = None,
) -> OutboundMessage:
    """Write the mail's bytes to the spool directory and queue it, in the caller's
    transaction: it is sent only if the change that caused it commits."""
    outbound = OutboundMessage(
        tracking_token=tracking_token,
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
    if kind in VERP_KINDS:  # the return path names the row, so it needs the row's id
        outbound.envelope_from = return_path_for(outbound.pk, envelope_from)
        OutboundMessage.objects.filter(pk=outbound.pk).update(envelope_from=outbound.envelope_from)
    return outbound


# Sending ------------------------------------------------------------------------------------

State = OutboundMessage.State


def send_due(
    now: datetime | None = None, limit: int | None = None, *, ids: Collection[int] | None = None
) -> SpoolRound:
    """Send what is due (at most ``limit``, default SPOOL_BATCH; only ``ids`` when given)
    and record every attempt. Cheap when nothing is due: one query."""
    lease_seconds = settings.MAILFLOW["SPOOL_LEASE_SECONDS"]
    claimed, lease = _claim(now or timezone.now(), limit or settings.MAILFLOW["SPOOL_BATCH"], ids)
    spool_round = SpoolRound(claimed=len(claimed))
    if not claimed:
        return spool_round
    recorder = Recorder(claimed, lease=lease, now=now, spool_round=spool_round)
    default = SmtpDestination.objects.filter(is_default=True, enabled=True).first()
    groups: dict[SmtpDestination, list[OutboundMessage]] = {}
    waiting = []
    for outbound in claimed:
        destination = destination_for(outbound, default)
        if destination is None:
            waiting.append(outbound)
        else:
            groups.setdefault(destination, []).append(outbound)
    if waiting:
        recorder.no_destination(waiting)
    jobs = []
    for destination, messages in groups.items():
        try:
            server = Server.of(destination)
        except SecretUnreadable as exc:
            at = timezone.now()
            label = server_label(destination.name, destination.host, destination.effective_port)
            recorder.record(
                [Result(m.pk, Outcome.DEFERRED, label, at, at, None, str(exc)) for m in messages]
            )
            continue
        recorder.destinations[server.label] = destination.pk
        jobs.append((server, [_envelope(m) for m in messages]))
    if jobs:
        with commits_without_waiting_for_disk():
            deliver(jobs, recorder.record, seconds=lease_seconds * 0.8)
    recorder.finish()
    return spool_round


def send_now(ids: Collection[int]) -> SpoolRound:
    """Send these messages now, waiting (queued, deferred) or failed: a failed message gets
    one more attempt (and more, as long as it is younger than SPOOL_MAX_AGE_HOURS)."""
    now = timezone.now()
    OutboundMessage.objects.filter(pk__in=ids, state=State.FAILED).update(state=State.QUEUED)
    OutboundMessage.objects.filter(pk__in=ids, state__in=[State.QUEUED, State.DEFERRED]).update(
        next_attempt_at=now
    )
    return send_due(now=now, limit=len(ids), ids=ids)


def destination_for(
    outbound: OutboundMessage, default: SmtpDestination | None
) -> SmtpDestination | None:
    """The message's own destination, else its ticketbox's, else the default (enabled ones)."""
    box = outbound.ticket.ticketbox if outbound.ticket else None
    for choice in (outbound.destination, box.smtp_destination if box else None, default):
        if choice is not None and choice.enabled:
            return choice
    return None


def _claim(
    now: datetime, limit: int, ids: Collection[int] | None
) -> tuple[list[OutboundMessage], datetime]:
    """Take due messages (and those of a crashed worker, whose lease ran out) for this
    worker: state sending, a lease, one more attempt; committed before anything is sent."""
    lease = now + timedelta(seconds=settings.MAILFLOW["SPOOL_LEASE_SECONDS"])
    due = Q(state__in=[State.QUEUED, State.DEFERRED], next_attempt_at__lte=now) | Q(
        state=State.SENDING, lease_expires_at__lte=now
    )
    with transaction.atomic():
        rows = OutboundMessage.objects.select_for_update(skip_locked=True).filter(due)
        if ids is not None:
            rows = rows.filter(pk__in=list(ids))
        pks = list(rows.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
        if not pks:
            return [], lease
        OutboundMessage.objects.filter(pk__in=pks).update(
            state=State.SENDING, lease_expires_at=lease, attempts=F("attempts") + 1
        )
    claimed = OutboundMessage.objects.filter(pk__in=pks).select_related(
        "destination", "ticket__ticketbox__smtp_destination", "ticket_message__author"
    )
    return list(claimed), lease


def _envelope(outbound: OutboundMessage) -> Envelope:
    return Envelope(
        pk=outbound.pk,
        sender=outbound.envelope_from,
        recipients=tuple(outbound.recipients),
        path=Path(outbound.raw.path),
        size=outbound.size,
    )
