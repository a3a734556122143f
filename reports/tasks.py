"""Celery tasks of the reports app (thin wrappers around ``reports.exports``)."""

from __future__ import annotations

from celery import shared_task

from reports import exports


@shared_task(name="reports.run_export", ignore_result=True)
def run_report_export(export_id: int) -> str:
    return exports.run_export(export_id).state
