"""Celery tasks of the alerts app: the beat's periodic checks (thin wrappers around
``alerts.jobs``). Each takes an optional ISO time so a test can drive the clock."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from alerts import jobs


def _now(now: str | None) -> datetime:
    return datetime.fromisoformat(now) if now else timezone.now()


@shared_task(name="alerts.check_ticket_age", ignore_result=True)
def check_ticket_age(now: str | None = None) -> int:
    return len(jobs.check_ticket_age(_now(now)))


@shared_task(name="alerts.check_watermarks", ignore_result=True)
def check_watermarks(now: str | None = None) -> int:
    return len(jobs.check_watermarks(_now(now)))


@shared_task(name="alerts.run_escalations", ignore_result=True)
def run_escalations(now: str | None = None) -> int:
    return len(jobs.run_escalations(_now(now)))


@shared_task(name="alerts.check_sources", ignore_result=True)
def check_sources(now: str | None = None) -> int:
    return len(jobs.check_sources(_now(now)))


@shared_task(name="alerts.check_disk", ignore_result=True)
def check_disk(now: str | None = None) -> int:
    return len(jobs.check_disk(_now(now)))


@shared_task(name="alerts.purge_log", ignore_result=True)
def purge_log(now: str | None = None) -> int:
    return jobs.purge_log(_now(now))
