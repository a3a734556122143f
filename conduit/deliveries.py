"""What happened to each outbound message: the state an attempt leads to (back-off, the
maximum age), the record of every attempt, the agent told when a reply is not delivered,
and the ticket's words for it ("Not delivered: 550 5.1.1 user unknown at mx.example.com").
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Field
from django.db.models.expressions import RawSQL
from django.utils import dateformat, timezone

from alerts.services import raise_alert
from conduit.destinations import SmtpDestination
from conduit.outbound import DeliveryAttempt, OutboundMessage
from conduit.sender import Outcome, Result
from conduit.smtp import host_of

logger = logging.getLogger("mailflow.conduit")

NO_DESTINATION = "No SMTP destination: add one in the admin and make it the default"
# The fields a delivery result changes on an OutboundMessage.
_RESULT_FIELDS = [
    "state",
    "attempts",
    "next_attempt_at",
    "lease_expires_at",
    "sent_at",
    "last_error",
    "smtp_code",
    "smtp_status",
    "smtp_text",
]
State = OutboundMessage.State


@dataclass
class SpoolRound:
    """What one round of the spooler did."""

    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    not_tried: int = 0  # the round's time ran out first: due again at once
    no_destination: int = 0

    def add(self, other: SpoolRound) -> None:
        for count in fields(self):
            setattr(self, count.name, getattr(self, count.name) + getattr(other, count.name))

    def __str__(self) -> str:
        return (
            f"{self.claimed} claimed: {self.sent} sent, {self.deferred} deferred, "
            f"{self.failed} failed, {self.not_tried} not tried, "
            f"{self.no_destination} without a destination"
        )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th attempt was deferred: the first wait
    doubles with every attempt, up to the longest."""
    first = settings.MAILFLOW["SPOOL_RETRY_FIRST_SECONDS"]
    longest = settings.MAILFLOW["SPOOL_RETRY_MAX_SECONDS"]
    return timedelta(seconds=min(longest, first * 2 ** min(max(attempts - 1, 0), 40)))


def give_up_at(created_at: datetime) -> datetime:
    return created_at + timedelta(hours=settings.MAILFLOW["SPOOL_MAX_AGE_HOURS"])


def after_attempt(
    outcome: Outcome, *, attempts: int, created_at: datetime, now: datetime
) -> tuple[str, datetime | None]:
    """The state a message goes to after an attempt, and when it is tried next. A deferred
    message is tried until it is SPOOL_MAX_AGE_HOURS old (the last try at that moment), then
    it has failed."""
    if outcome is Outcome.SENT:
        return State.SENT, None
    if outcome is Outcome.FAILED:
        return State.FAILED, None
    deadline = give_up_at(created_at)
    if now >= deadline:
        return State.FAILED, None
    return State.DEFERRED, min(now + retry_delay(attempts), deadline)


class Recorder:
    """Writes results as they come (a group of them per transaction), so a message's record
    is committed before its connection takes the next message."""

    def __init__(
        self,
        claimed: list[OutboundMessage],
        *,
        lease: datetime,
        now: datetime | None,
        spool_round: SpoolRound,
    ) -> None:
        self.claimed = {m.pk: m for m in claimed}
        self.lease = lease
        self.now = now
        self.round = spool_round
        self.destinations: dict[str, int] = {}  # server label → SmtpDestination pk
        self.sent: Counter[str] = Counter()
        self.errors: dict[str, str] = {}

    def _save(self, rows: list[OutboundMessage]) -> None:
        """One UPDATE for a group of rows: a value they share is set as is, the others (send
        times, queue ids) with a CASE on the id, written as SQL because building it from
        When() objects cost more than the rest of the round. Only rows this round still
        holds: one whose lease ran out may be another worker's now."""
        changes: dict[str, Any] = {}
        for name in _RESULT_FIELDS:
            values = [getattr(row, name) for row in rows]
            if len(set(values)) == 1:
                changes[name] = values[0]
                continue
            field = OutboundMessage._meta.get_field(name)
            assert isinstance(field, Field)
            params: list[Any] = []
            for row, value in zip(rows, values, strict=True):
                params += [row.pk, field.get_db_prep_save(value, connection)]
            whens = " ".join(["WHEN %s THEN %s"] * len(rows))
            # Only placeholders are formatted in; the values go as parameters.
            changes[name] = RawSQL(f'CASE "id" {whens} END', params, output_field=field)  # noqa: S611
        held = OutboundMessage.objects.filter(state=State.SENDING, lease_expires_at=self.lease)
        held.filter(pk__in=[row.pk for row in rows]).update(**changes)

    def no_destination(self, waiting: list[OutboundMessage]) -> None:
        """Mail with nowhere to go waits (deferred, not failed) and administrators hear of
        it once a day. Nothing was attempted, so the attempt count goes back."""
        now = self.now or timezone.now()
        for outbound in waiting:
            outbound.attempts -= 1
            outbound.state = State.DEFERRED
            outbound.lease_expires_at = None
            outbound.next_attempt_at = now + retry_delay(1)
            outbound.last_error = NO_DESTINATION
        with transaction.atomic():
            self._save(waiting)
            raise_alert(
                "outbound_failure",
                title="Mail is waiting: no SMTP destination",
                body=f"{NO_DESTINATION}. Mail waits in the spool until then.",
                once_key=f"no-smtp-destination:{now:%Y-%m-%d}",
            )
        self.round.no_destination += len(waiting)

    def record(self, results: list[Result]) -> None:
        now = self.now or timezone.now()
        rows, attempts, tell = [], [], []
        for result in results:
            outbound = self.claimed[result.pk]
            outbound.lease_expires_at = None
            rows.append(outbound)
            if result.outcome is Outcome.NOT_TRIED:
                outbound.attempts -= 1
                outbound.state = State.DEFERRED if outbound.attempts else State.QUEUED
                self.round.not_tried += 1
                continue
            state, next_at = after_attempt(
                result.outcome, attempts=outbound.attempts, created_at=outbound.created_at, now=now
            )
            outbound.state = state
            outbound.smtp_code = result.code
            outbound.smtp_status = result.status
            outbound.smtp_text = result.text
            if state == State.SENT:
                outbound.sent_at = result.finished_at
                outbound.last_error = ""
                self.sent[result.server] += 1
                self.round.sent += 1
                if result.refused:
                    tell.append((outbound, "partly delivered"))
            elif state == State.DEFERRED:
                outbound.next_attempt_at = next_at or now
                outbound.last_error = result.reason
                self.round.deferred += 1
            else:
                outbound.last_error = result.reason
                if result.outcome is Outcome.DEFERRED:
                    hours = settings.MAILFLOW["SPOOL_MAX_AGE_HOURS"]
                    outbound.last_error = f"gave up after {hours:g} hours; {result.reason}"
                self.round.failed += 1
                tell.append((outbound, "failed"))
            if result.outcome is Outcome.DEFERRED:  # the server's trouble, not the mail's
                self.errors[result.server] = result.reason
            attempts.append(
                DeliveryAttempt(
                    outbound_id=outbound.pk,
                    destination=result.server[:300],
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                    outcome=result.outcome.value,
                    smtp_code=result.code,
                    smtp_status=result.status,
                    smtp_text=result.text,
                    refused_recipients=result.refused,
                )
            )
        with transaction.atomic():
            self._save(rows)
            DeliveryAttempt.objects.bulk_create(attempts)
            for outbound, what in tell:
                _tell_agent(
                    outbound, what, attempts=[a for a in attempts if a.outbound_id == outbound.pk]
                )

    def finish(self) -> None:
        """The destinations' status columns: one update per destination."""
        now = timezone.now()
        for label, pk in self.destinations.items():
            changes: dict[str, object] = {"sent_count": F("sent_count") + self.sent[label]}
            if self.sent[label]:
                changes["last_success_at"] = now
            if label in self.errors:
                changes.update(last_error=self.errors[label], last_error_at=now)
            elif self.sent[label]:
                changes["last_error"] = ""
            SmtpDestination.objects.filter(pk=pk).update(**changes)


@contextmanager
def commits_without_waiting_for_disk() -> Iterator[None]:
    """PostgreSQL: while results are recorded, a commit returns before its WAL reaches the
    disk (it saves a disk flush per group of results). A database crash could then forget
    the last moment's results: those messages, still leased as sending, are sent once more,
    never lost. A crash of the worker forgets nothing."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _tell_agent(outbound: OutboundMessage, what: str, *, attempts: list[DeliveryAttempt]) -> None:
    """A failed (or partly refused) reply alerts the agent who wrote it; a rule's forwarded
    copy alerts the alert's recipients; automatic mail (auto-replies, alert emails) is only
    logged, so a failing alert email cannot raise alerts forever."""
    line = delivery_status_line(outbound, attempts=attempts)
    if outbound.kind not in (OutboundMessage.Kind.REPLY, OutboundMessage.Kind.FORWARD):
        logger.warning("Outbound message %s %s: %s", outbound.pk, what, line)
        return
    author = outbound.author
    to = ", ".join(outbound.recipients)
    raise_alert(
        "outbound_failure",
        title=(f"Not delivered to {to}" if what == "failed" else f"Not delivered to all of {to}")
        + (f": {outbound.subject}" if outbound.subject else ""),
        body=line,
        ticket=outbound.ticket,
        agents=[author] if author else [],
        once_key=f"outbound-{'failed' if what == 'failed' else 'refused'}:{outbound.pk}",
    )


# The ticket's words for it -------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return dateformat.format(local, "H:i" if local.date() == timezone.localdate() else "j M H:i")


def delivery_status_line(
    outbound: OutboundMessage, *, attempts: Sequence[DeliveryAttempt] | None = None
) -> str:
    """What happened to a mail, in plain words for the ticket: "Sent 14:02 to
    mx.example.com", "Deferred: 451 4.7.1 try later (next try 14:30)", "Not delivered: 550
    5.1.1 user unknown at mx.example.com". Reads ``outbound.tries`` (prefetch it)."""
    tries = list(outbound.tries.all()) if attempts is None else list(attempts)
    last = tries[-1] if tries else None
    host = host_of(last.destination) if last else ""
    if outbound.state == State.SENT:
        line = f"Sent {_when(outbound.sent_at)}" + (f" to {host}" if host else "")
        if last and last.refused_recipients:
            refused = "; ".join(f"{a}: {why}" for a, why in last.refused_recipients.items())
            line += f"; not delivered to {refused}"
        return line
    if outbound.state == State.DEFERRED:
        return f"Deferred: {outbound.last_error} (next try {_when(outbound.next_attempt_at)})"
    if outbound.state == State.FAILED:
        where = f" at {host}" if host and outbound.smtp_code else ""
        return f"Not delivered: {outbound.last_error}{where}"
    if outbound.state == State.BOUNCED:
        detail = " ".join(
            part for part in (outbound.bounce_status, outbound.bounce_diagnostic) if part
        )
        label = outbound.get_bounce_category_display() if outbound.bounce_category else ""
        return "Bounced" + (f" ({label})" if label else "") + (f": {detail}" if detail else "")
    if outbound.state == State.SENDING:
        return "Sending"
    return outbound.get_state_display()
