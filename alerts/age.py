"""Ticket age: a customer message waiting unanswered past its ticketbox's threshold.

One query finds every ticket that crossed since the last day (the ticketboxes' thresholds
OR-ed, on the partial index of waiting tickets), leaving out tickets already alerted for
this wait; one bulk insert raises the alerts (``once_key`` per ticket, wait and threshold,
so racing workers raise each once).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from alerts.models import Alert, AlertKind
from alerts.services import AlertDraft, raise_alerts
from tickets.models import Ticket, Ticketbox

# Tickets that crossed longer ago than this while the jobs were not running are not
# alerted late; it also keeps each run's candidates to a day's worth.
LOOKBACK = timedelta(days=1)


def waiting_tickets() -> Q:
    """Tickets with an unanswered customer message (the partial index's condition)."""
    return Q(awaiting_reply_since__isnull=False, deleted_at__isnull=True) & ~Q(status="closed")


def check_ticket_age(now: datetime) -> list[Alert]:
    thresholds: dict[int, int] = {
        pk: minutes
        for pk, minutes in Ticketbox.objects.values_list("pk", "age_alert_minutes")
        if minutes is not None
    }
    if not thresholds:
        return []
    crossed = Q(pk__in=[])
    for box, minutes in thresholds.items():
        cutoff = now - timedelta(minutes=minutes)
        crossed |= Q(
            ticketbox_id=box,
            awaiting_reply_since__lte=cutoff,
            awaiting_reply_since__gt=cutoff - LOOKBACK,
        )
    alerted = Alert.objects.filter(
        kind=AlertKind.TICKET_AGE,
        ticket=OuterRef("pk"),
        created_at__gte=OuterRef("awaiting_reply_since"),
    )
    rows = (
        Ticket.objects.filter(waiting_tickets() & crossed)
        .exclude(Exists(alerted))
        .values_list(
            "pk",
            "number",
            "subject",
            "ticketbox_id",
            "ticketbox__name",
            "owner_id",
            "awaiting_reply_since",
        )
    )
    drafts = []
    for pk, number, subject, box, box_name, owner, since in rows:
        assert since is not None  # the query asks for waiting tickets only
        minutes = thresholds[box]
        drafts.append(
            AlertDraft(
                title=f"#{number} in {box_name} has waited {_duration(minutes)} for an answer: "
                f"{subject}",
                ticket_id=pk,
                ticketbox_id=box,
                agent_ids=frozenset({owner} if owner else ()),
                once_key=f"ticket_age:{pk}:{since.timestamp():.0f}:{minutes}",
            )
        )
    with transaction.atomic():
        return raise_alerts(AlertKind.TICKET_AGE, drafts, now=now)


def _duration(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day(s)"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour(s)"
    return f"{minutes} minute(s)"
