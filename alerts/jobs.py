"""The periodic checks, each a plain function of ``now`` (tests pass their own clock).

Every check costs a constant number of queries per ticketbox (or mail source, or
volume), never one per ticket, and is safe to run on several workers at once: alerts
carry once-keys, and state changes are conditional updates only one worker wins.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from alerts.age import check_ticket_age
from alerts.disk import check_disk
from alerts.escalation import run_escalations
from alerts.models import Alert, LogEntry
from alerts.sources import check_sources
from alerts.watermarks import check_watermarks

__all__ = [
    "check_disk",
    "check_sources",
    "check_ticket_age",
    "check_watermarks",
    "purge_log",
    "run_all",
    "run_escalations",
]

PURGE_CHUNK = 10_000


def run_all(now: datetime) -> list[Alert]:
    """One round of every check (the beat runs them as separate tasks)."""
    raised = check_ticket_age(now)
    raised += check_watermarks(now)
    raised += run_escalations(now)
    raised += check_sources(now)
    raised += check_disk(now)
    return raised


def purge_log(now: datetime) -> int:
    """Delete log entries older than MAILFLOW_LOG_RETENTION_DAYS, in chunks (short
    transactions, whatever the backlog); returns how many went."""
    cutoff = now - timedelta(days=settings.MAILFLOW["LOG_RETENTION_DAYS"])
    deleted = 0
    while True:
        chunk = list(
            LogEntry.objects.filter(at__lt=cutoff).values_list("pk", flat=True)[:PURGE_CHUNK]
        )
        if not chunk:
            return deleted
        deleted += LogEntry.objects.filter(pk__in=chunk).delete()[0]
