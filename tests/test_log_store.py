"""The log store: Python logging lands in LogEntry by type, filtered by the log policy,
never inside (or breaking) the caller's transaction; critical errors alert; old entries
are purged; administrators filter the log viewer by type, severity and start time."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts import logging as log_store
from alerts.jobs import purge_log
from alerts.models import Alert, AlertKind, LogEntry, LogPolicy, LogSeverity
from tests.factories import make_ticketbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_policy() -> None:
    log_store.forget_policy()
    log_store.flush_log()


def entries(logger: str) -> list[LogEntry]:
    return list(LogEntry.objects.filter(logger=logger).order_by("id"))


def unique(prefix: str) -> str:
    return f"{prefix}.t{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("mailflow.conduit", "inbound"),
        ("conduit.fetch", "inbound"),
        ("conduit.imap", "inbound"),
        ("conduit.spool", "outbound"),
        ("mailflow.conduit.sender", "outbound"),
        ("mailflow.routing", "routing"),
        ("alerts.services", "alerts"),
        ("django.security.csrf", "security"),
        ("django.contrib.auth", "security"),
        ("celery.worker", "system"),
        ("conduitx", "system"),
    ],
)
def test_logger_names_map_to_log_types(name: str, kind: str) -> None:
    assert log_store.log_type(name) == kind


def test_log_calls_land_in_the_store_with_type_severity_and_detail() -> None:
    name = unique("mailflow.routing")
    logging.getLogger(name).warning("Ticket %s moved", 42, extra={"inbound_id": 7})
    log_store.flush_log()
    [entry] = entries(name)
    assert (entry.type, entry.severity, entry.message) == ("routing", 30, "Ticket 42 moved")
    assert entry.detail["inbound_id"] == 7 and "where" in entry.detail


def test_exceptions_keep_their_traceback() -> None:
    name = unique("mailflow.conduit")
    try:
        raise ValueError("bad header")
    except ValueError:
        logging.getLogger(name).exception("Parsing failed")
    log_store.flush_log()
    [entry] = entries(name)
    assert (
        entry.severity == LogSeverity.ERROR
        and "ValueError: bad header" in entry.detail["traceback"]
    )


def test_the_policy_sets_the_minimum_severity_kept_per_type() -> None:
    LogPolicy.objects.update_or_create(type="routing", defaults={"min_severity": 40})
    routing, system = unique("mailflow.routing"), unique("mailflow.misc")
    logging.getLogger(routing).warning("dropped: below the routing minimum")
    logging.getLogger(routing).error("kept")
    logging.getLogger(system).info("kept: system keeps info by default")
    logging.getLogger(system).debug("dropped: below info")
    log_store.flush_log()
    assert [e.message for e in entries(routing)] == ["kept"]
    assert [e.message for e in entries(system)] == ["kept: system keeps info by default"]


def test_inside_a_transaction_entries_wait_and_survive_its_rollback() -> None:
    name = unique("mailflow.routing")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_ticketbox("Twin")
        logging.getLogger(name).error("about to fail")
        assert log_store.flush_log() == 0  # nothing written inside the caller's transaction
        make_ticketbox("Twin")
    assert entries(name) == []
    assert log_store.flush_log() == 1
    assert [e.message for e in entries(name)] == ["about to fail"]


def test_a_failing_log_write_never_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database is gone")

    monkeypatch.setattr(LogEntry.objects, "bulk_create", broken)
    name = unique("mailflow.routing")
    logging.getLogger(name).error("lost, quietly")
    assert log_store.flush_log() == 0
    make_ticketbox("Still works")  # the caller's connection and transaction are fine


def test_a_request_end_flushes_the_buffer(client: Client) -> None:
    name = unique("mailflow.routing")
    logging.getLogger(name).info("written when the request ends")
    client.get("/")
    assert len(entries(name)) == 1


def test_critical_records_raise_one_alert_per_logger_and_message_per_hour(
    admin_user: Any,
) -> None:
    name = unique("mailflow.conduit")
    for _ in range(3):
        logging.getLogger(name).critical("Spool directory is not writable")
    log_store.flush_log()
    assert len(entries(name)) == 3
    [alert] = Alert.objects.filter(kind=AlertKind.CRITICAL_ERROR)
    assert alert.title == f"Critical error in {name}: Spool directory is not writable"
    assert {r.agent.username for r in alert.receipts.all()} == {"root"}


def test_old_entries_are_purged_after_the_retention(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "LOG_RETENTION_DAYS": 30}
    now = datetime.fromisoformat("2026-11-24T12:00:00+00:00")
    for days in (40, 31, 29, 1):
        LogEntry.objects.create(
            at=now - timedelta(days=days), type="system", severity=20, logger="t", message=f"{days}"
        )
    assert purge_log(now) == 2
    assert sorted(LogEntry.objects.filter(logger="t").values_list("message", flat=True)) == [
        "1",
        "29",
    ]


# ---------------------------------------------------------------------------------------
# The log viewer


@pytest.fixture
def viewer(admin_user: Any) -> Client:
    now = timezone.now()
    rows = [
        ("inbound", 40, "pop3 login failed", timedelta(minutes=5)),
        ("routing", 20, "ticket routed", timedelta(minutes=30)),
        ("security", 30, "csrf failure", timedelta(hours=5)),
        ("inbound", 20, "fetched 3 messages", timedelta(days=3)),
    ]
    for kind, severity, message, age in rows:
        LogEntry.objects.create(
            at=now - age, type=kind, severity=severity, logger="viewer", message=message
        )
    client = Client()
    client.force_login(admin_user)
    return client


def shown(client: Client, **query: str) -> set[str]:
    response = client.get(
        reverse("admin:alerts_logentry_changelist"), {"logger": "viewer", **query}
    )
    assert response.status_code == 200
    return {e.message for e in response.context["cl"].result_list}


def test_the_log_viewer_filters_by_type_severity_and_start_time(viewer: Client) -> None:
    every = {"pop3 login failed", "ticket routed", "csrf failure", "fetched 3 messages"}
    assert shown(viewer) == every
    assert shown(viewer, type="inbound") == {"pop3 login failed", "fetched 3 messages"}
    assert shown(viewer, severity="40") == {"pop3 login failed"}
    assert shown(viewer, since="1h") == {"pop3 login failed", "ticket routed"}
    assert shown(viewer, since="24h", type="inbound") == {"pop3 login failed"}
    start = (timezone.now() - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    assert shown(viewer, since=start) == {"pop3 login failed", "ticket routed", "csrf failure"}
    assert shown(viewer, q="csrf") == {"csrf failure"}


def test_the_log_viewer_is_read_only(viewer: Client) -> None:
    entry = LogEntry.objects.filter(logger="viewer").first()
    assert entry is not None
    url = reverse("admin:alerts_logentry_change", args=[entry.pk])
    assert viewer.get(url).status_code == 200
    viewer.post(url, {"message": "rewritten"})
    entry.refresh_from_db()
    assert entry.message != "rewritten"
    assert viewer.get(reverse("admin:alerts_logentry_add")).status_code == 403
