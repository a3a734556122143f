"""The periodic alert jobs run at once on two real Celery workers (real Redis, the test's
PostgreSQL): every job is sent to both workers, three times over, for the same moment,
and each alert is raised exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db.models import Count
from django.utils import timezone

from alerts.models import Alert, AlertKind, EscalationRule, WatchState
from conduit.models import MailSource
from tests.factories import make_agent, make_ticket, make_ticketbox
from tests.integration.workers import two_workers, worker_env
from tickets.models import TicketboxAccess, TicketEvent

pytestmark = [
    pytest.mark.integration,
    pytest.mark.redis,
    pytest.mark.postgres,  # two worker processes share the test database
    pytest.mark.django_db(transaction=True),
]

JOBS = [
    "alerts.check_ticket_age",
    "alerts.check_watermarks",
    "alerts.run_escalations",
    "alerts.check_sources",
    "alerts.check_disk",
]
# Tickets waiting 49 hours (escalated), 30 hours (warned), 2 hours (age alert only: the
# age check looks back a day, so the long waits crossed its threshold too long ago).
ESCALATED, WARNED, AGED = 30, 20, 25


@pytest.fixture
def workers(
    redis_url: str, database_url: str, settings: Any, tmp_path: Path
) -> Iterator[tuple[Celery, list[str], list[Path]]]:
    env = worker_env(redis_url, database_url, settings, tmp_path / "var")
    # Every volume counts as low on space: the disk alert must come once per volume.
    env["MAILFLOW_DISK_FREE_MIN_PERCENT"] = "100"
    with two_workers(env, "jobs", tmp_path) as running:
        yield running


def _a_help_desk_in_trouble(now: Any) -> None:
    boss, olga = make_agent("boss"), make_agent("olga")
    box = make_ticketbox("Support", supervisor=boss, age_alert_minutes=60, high_watermark=10)
    for agent in (boss, olga):
        TicketboxAccess.objects.create(ticketbox=box, agent=agent)
    EscalationRule.objects.create(name="Two days", warn_after_hours=24, escalate_after_hours=48)
    for count, waited in ((ESCALATED, 49), (WARNED, 30), (AGED, 2)):
        for _ in range(count):
            since = now - timedelta(hours=waited)
            make_ticket(ticketbox=box, owner=olga, last_customer_message_at=since)
    MailSource.objects.create(
        name="Inbox", host="mail.example.com", username="u", failure_count=5, last_error="refused"
    )


def _settled(expected: int, logs: list[Path], timeout: float = 120) -> None:
    """Wait until ``expected`` alerts exist and no more come for a few seconds."""
    deadline = time.monotonic() + timeout
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = Alert.objects.count()
        if count != last:
            last, quiet_since = count, time.monotonic()
        elif count >= expected and time.monotonic() - quiet_since > 4:
            return
        time.sleep(0.2)
    for log in logs:
        print(log.read_text(errors="replace")[-4000:])
    raise AssertionError(f"{last} alerts after {timeout} s, expected {expected}")


def test_two_workers_running_every_job_raise_each_alert_once(
    workers: tuple[Celery, list[str], list[Path]],
) -> None:
    client, queues, logs = workers
    now = timezone.now()
    _a_help_desk_in_trouble(now)
    for _ in range(3):
        for job in JOBS:
            for queue in queues:
                client.send_task(job, kwargs={"now": now.isoformat()}, queue=queue)

    _settled(AGED + ESCALATED + WARNED + 1 + 1 + 1, logs)

    kinds = dict(Alert.objects.values_list("kind").annotate(n=Count("id")))
    low_volumes = WatchState.objects.filter(key__startswith="disk:", state="low").count()
    assert 1 <= low_volumes <= 2  # media, and the database when its directory is readable
    assert kinds == {
        AlertKind.TICKET_AGE: AGED,
        AlertKind.ESCALATION: ESCALATED,
        AlertKind.ESCALATION_WARNING: WARNED,
        AlertKind.WATERMARK_HIGH: 1,
        AlertKind.INBOUND_DELIVERY: 1,
        AlertKind.LOW_DISK: low_volumes,
    }
    for kind in (AlertKind.TICKET_AGE, AlertKind.ESCALATION, AlertKind.ESCALATION_WARNING):
        tickets = Alert.objects.filter(kind=kind).values("ticket").distinct().count()
        assert tickets == kinds[kind]
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATED).count() == ESCALATED
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATION_WARNING).count() == WARNED
    for log in logs:
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, text[-4000:]
