"""Exporting a report to Excel: at once for small ones, by a worker for large ones.

A large export is a ``ReportExport`` row (queued → running → done or failed) that a Celery
task fills in; the page polls its progress. The numbers are computed with the rights of
the agent who asked, when the worker runs. Hourly housekeeping (``tidy_exports``) deletes
exports older than ``MAILFLOW_REPORT_EXPORT_KEEP_DAYS`` with their files, and fails the
ones no worker finished (a worker that stopped mid-export leaves them running).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from reports.excel import write_workbook
from reports.filters import describe
from reports.models import ReportExport
from reports.registry import Report, report_named
from reports.table import Filters, Table
from tickets.purge import delete_files_on_commit

log = logging.getLogger(__name__)
DIRECT_LIMIT = 5000  # rows: more than this goes to a worker with a progress bar
UNFINISHED_AFTER = timedelta(hours=6)  # a million rows take about a minute
UNFINISHED = (
    "No worker finished this export within 6 hours: a worker stopped, or none is running. "
    "Export the report again."
)


def file_name(report: Report, filters: Filters) -> str:
    return f"{report.name}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.xlsx"


def full_table(report: Report, agent: Any, filters: Filters) -> Table:
    """Every row of the report (rows of row-per-ticket reports stay a lazy stream)."""
    return report.run(agent, filters, full=True)


def is_small(table: Table) -> bool:
    return table.total is None or table.total <= DIRECT_LIMIT


def write_export(
    report: Report,
    agent: Any,
    filters: Filters,
    out: str | IO[bytes],
    *,
    table: Table | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> int:
    """Write the whole report as a workbook to ``out``; returns the row count.
    ``progress(rows_done, rows_total)`` is called as rows are written."""
    table = table or full_table(report, agent, filters)

    def tick(done: int) -> None:
        if progress is not None:
            progress(done, table.total)

    return write_workbook(report, table, describe(report, filters), out, tick)


def request_export(agent: Any, report: Report, filters: Filters) -> ReportExport:
    """Queue an export for a worker (enqueued once the row is committed)."""
    from reports.tasks import run_report_export

    export = ReportExport.objects.create(
        requested_by=agent, report=report.name, filters=filters.to_json()
    )
    transaction.on_commit(partial(run_report_export.delay, export.pk))
    return export


def run_export(export_id: int) -> ReportExport:
    """Write a queued export's file, keeping its progress up to date; a failure is
    recorded on the export (the page shows it) and logged."""
    export = ReportExport.objects.select_related("requested_by").get(pk=export_id)
    if export.state != ReportExport.State.QUEUED:
        return export  # already run (a retried task): nothing doubles
    ReportExport.objects.filter(pk=export.pk).update(state=ReportExport.State.RUNNING)
    shown = [-1]

    def progress(done: int, total: int | None) -> None:
        percent = min(99, done * 100 // total) if total else 0
        if percent != shown[0]:
            shown[0] = percent
            ReportExport.objects.filter(pk=export.pk).update(progress=percent, row_count=done)

    try:
        report = report_named(export.report)
        filters = Filters.from_json(export.filters)
        with tempfile.TemporaryFile(suffix=".xlsx") as out:
            rows = write_export(report, export.requested_by, filters, out, progress=progress)
            out.seek(0)
            export.file.save(file_name(report, filters), File(out), save=False)
    except Exception as error:
        log.exception("report export %s failed", export.pk)
        ReportExport.objects.filter(pk=export.pk).update(
            state=ReportExport.State.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        export.refresh_from_db()
        return export
    export.state, export.progress, export.row_count = ReportExport.State.DONE, 100, rows
    export.finished_at = timezone.now()
    export.save(update_fields=["state", "progress", "row_count", "file", "finished_at"])
    return export


def keep_days() -> int:
    """Days an export is kept (0: for good)."""
    return int(settings.MAILFLOW["REPORT_EXPORT_KEEP_DAYS"])


def recent_exports(agent: Any, limit: int = 10) -> list[ReportExport]:
    """The agent's own latest exports (nobody sees another agent's)."""
    return list(ReportExport.objects.filter(requested_by=agent)[:limit])


def tidy_exports(now: datetime) -> tuple[int, int]:
    """Delete exports older than the keep period (their files after commit) and fail the
    queued or running ones no worker finished; returns (deleted, failed)."""
    with transaction.atomic():
        failed = ReportExport.objects.filter(
            state__in=[ReportExport.State.QUEUED, ReportExport.State.RUNNING],
            created_at__lt=now - UNFINISHED_AFTER,
        ).update(state=ReportExport.State.FAILED, error=UNFINISHED, finished_at=now)
        if not keep_days():
            return 0, failed
        old = ReportExport.objects.filter(created_at__lt=now - timedelta(days=keep_days()))
        files = [name for name in old.values_list("file", flat=True) if name]
        deleted, _ = old.delete()
        delete_files_on_commit(files, "with an old report export")
    if deleted or failed:
        log.info("report exports: %d old ones deleted, %d unfinished ones failed", deleted, failed)
    return deleted, failed
