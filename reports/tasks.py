"""Celery tasks of the reports app (thin wrappers around ``reports.exports``)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from reports import exports


@shared_task(name="reports.run_export", ignore_result=True)
def run_report_export(export_id: int) -> str:
    return exports.run_export(export_id).state


@shared_task(name="reports.tidy_exports", ignore_result=True)
def tidy_exports() -> tuple[int, int]:
    return exports.tidy_exports(timezone.now())


@shared_task(name="reports.send_scheduled", ignore_result=True)
def send_scheduled() -> int:
    from reports import schedules

    return schedules.send_due(timezone.now())
