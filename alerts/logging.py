"""Python ``logging`` into the LogEntry store, so existing log calls land in the log viewer.

``LogStoreHandler`` never writes in the middle of the caller's work: a record is typed
(by logger name), checked against the log policy (cached per process) and buffered per
thread; the buffer is written when a request or Celery task ends, when it fills, on a
CRITICAL record, or by ``flush_log()`` — each time only outside any transaction of the caller (so
a rolled-back transaction neither loses its error log nor is broken by a failing log
write), in its own short transaction. A failing write is reported on stderr and
dropped; records logged while writing are ignored (no recursion). CRITICAL records also
raise a "critical_error" alert, once per logger and message per hour.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

# Longest prefix wins; names are matched without a leading "mailflow.".
TYPE_PREFIXES = [
    ("conduit.spool", "outbound"),
    ("conduit.sender", "outbound"),
    ("conduit.bounces", "outbound"),
    ("conduit.outbound", "outbound"),
    ("conduit", "inbound"),
    ("routing", "routing"),
    ("alerts", "alerts"),
    ("django.security", "security"),
    ("django.contrib.auth", "security"),
    ("security", "security"),
    ("auth", "security"),
]
IGNORED = ("django.db.backends", "alerts.logging", "mailflow.alerts.logging")
BUFFER_LIMIT = 50
DROP_AFTER = 2000  # entries kept while the database cannot take them
POLICY_SECONDS = 30.0
_FORMATTER = logging.Formatter()
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

_local = threading.local()
_policy: dict[str, int] = {}
_policy_read_at = 0.0


def log_type(logger_name: str) -> str:
    """The log type of a logger: inbound, outbound, routing, alerts, security or system."""
    name = logger_name.removeprefix("mailflow.")
    for prefix, kind in TYPE_PREFIXES:
        if name == prefix or name.startswith(prefix + "."):
            return kind
    return "system"


def forget_policy() -> None:
    """Read the log policy again at the next record (after an administrator changed it)."""
    global _policy_read_at
    _policy_read_at = 0.0


def _minimum(kind: str) -> int:
    global _policy, _policy_read_at
    if time.monotonic() - _policy_read_at > POLICY_SECONDS and not _in_callers_transaction():
        from alerts.models import LogPolicy

        try:
            with transaction.atomic():
                _policy = dict(LogPolicy.objects.values_list("type", "min_severity"))
        except Exception as exc:  # noqa: BLE001 - no table yet, database down: keep the defaults
            _complain("log policy unreadable", exc)
        _policy_read_at = time.monotonic()
    return _policy.get(kind, logging.INFO)


def _in_callers_transaction() -> bool:
    """In an atomic block of the caller (a test case's own wrapping ones do not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _pending() -> list[Any]:
    if not hasattr(_local, "pending"):
        _local.pending = []
    return _local.pending


class LogStoreHandler(logging.Handler):
    """Feeds LogEntry; add it to LOGGING's root handlers (see mailflow/settings.py)."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(_local, "writing", False) or record.name.startswith(IGNORED):
            return
        # Client errors (404s) are noise here; server errors (5xx) are kept.
        if record.name == "django.request" and record.levelno < logging.ERROR:
            return
        try:
            from django.apps import apps

            if not apps.ready:
                return
            kind = "security" if getattr(record, "alert", "") == "security" else None
            kind = kind or log_type(record.name)
            if record.levelno < _minimum(kind):
                return
            pending = _pending()
            if len(pending) < DROP_AFTER:
                pending.append(self._entry(record, kind))
            if len(pending) >= BUFFER_LIMIT or record.levelno >= logging.CRITICAL:
                flush_log()
        except Exception:  # noqa: BLE001 - logging must never break the caller
            self.handleError(record)

    def _entry(self, record: logging.LogRecord, kind: str) -> Any:
        from alerts.models import LogEntry

        detail: dict[str, Any] = {}
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                detail[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            detail["traceback"] = _FORMATTER.formatException(record.exc_info)[-20_000:]
        detail["where"] = f"{record.pathname}:{record.lineno}"
        return LogEntry(
            at=datetime.fromtimestamp(record.created, UTC),
            type=kind,
            severity=min(max(record.levelno // 10 * 10, 10), 50),
            logger=record.name[:200],
            message=record.getMessage()[:20_000],
            detail=detail,
        )


def flush_log(**_: Any) -> int:
    """Write this thread's buffered entries, unless the caller is inside a transaction
    (they wait for the next flush then). Returns how many were written."""
    pending = _pending()
    if not pending or getattr(_local, "writing", False) or _in_callers_transaction():
        return 0
    from alerts.models import LogEntry

    entries = pending[:]
    pending.clear()
    _local.writing = True
    try:
        with transaction.atomic():
            LogEntry.objects.bulk_create(entries)
        for entry in entries:
            if entry.severity >= logging.CRITICAL:
                _raise_critical(entry)
        return len(entries)
    except Exception as exc:  # noqa: BLE001 - a failing log write must never reach the caller
        _complain(f"{len(entries)} log entries lost", exc)
        return 0
    finally:
        _local.writing = False


def _raise_critical(entry: Any) -> None:
    from alerts.models import AlertKind
    from alerts.services import Severity, raise_alert

    digest = hashlib.sha256(f"{entry.logger}\n{entry.message}".encode()).hexdigest()[:24]
    hour = entry.at.strftime("%Y%m%d%H")
    with transaction.atomic():
        raise_alert(
            AlertKind.CRITICAL_ERROR,
            title=f"Critical error in {entry.logger}: {entry.message.splitlines()[0][:200]}",
            body=entry.message + ("\n\n" + entry.detail.get("traceback", "")).rstrip(),
            severity=Severity.CRITICAL,
            once_key=f"critical_error:{digest}:{hour}",
            now=entry.at,
        )


def _complain(what: str, exc: BaseException) -> None:
    if not getattr(_local, "complained", False):  # once per thread, not per record
        _local.complained = True
        print(f"mailflow log store: {what}: {type(exc).__name__}: {exc}", file=sys.stderr)


def connect_flush_points() -> None:
    """Flush when a request or a Celery task ends (called by AlertsConfig.ready)."""
    from celery.signals import task_postrun
    from django.core.signals import request_finished

    request_finished.connect(flush_log, dispatch_uid="alerts.flush_log")
    task_postrun.connect(flush_log, dispatch_uid="alerts.flush_log", weak=False)
