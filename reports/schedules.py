"""Scheduled reports: a report mailed as an Excel workbook for the period just ended.

Every five minutes the beat sends the schedules that are due. Each is claimed by moving
its next run forward in one conditional UPDATE, so however many workers run the job a
schedule is sent once per period; the mail goes through the outbound spool (retries,
bounces) with the workbook attached, or with a note when it is too large to attach.
"""

from __future__ import annotations

import calendar
import io
import logging
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from reports.exports import file_name, write_export
from reports.filters import describe
from reports.models import ScheduledReport
from reports.registry import BY, DATES, GROUPING, OLDER_THAN, REPORTS, Report
from reports.table import GROUPINGS, Filters
from routing.conditions import is_address
from tickets.agents import agent_name

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=30)  # a run not finished by then was left by a stopped worker
ATTACH_LIMIT = 10 * 1024 * 1024  # bytes: larger workbooks are not attached (mail limits)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def recipients(schedule: ScheduledReport) -> list[str]:
    """The addresses, given one per line or separated by commas or semicolons."""
    return [a.strip() for a in re.split(r"[,;\n]", schedule.recipients) if a.strip()]


def validate(schedule: ScheduledReport) -> None:
    """Refuse a schedule that cannot be sent, saying what to fix."""
    errors: dict[str, str] = {}
    report = REPORTS.get(schedule.report)
    if report is None:
        errors["report"] = f"Choose one of: {', '.join(REPORTS)}."
    addresses = recipients(schedule)
    wrong = [a for a in addresses if not is_address(a)]
    if not addresses or wrong:
        errors["recipients"] = (
            f"Not an email address: {', '.join(wrong)}." if wrong else "Give at least one address."
        )
    if not 0 <= schedule.hour <= 23:
        errors["hour"] = "An hour from 0 to 23."
    if schedule.grouping not in GROUPINGS:
        errors["grouping"] = f"One of: {', '.join(GROUPINGS)}."
    if report and schedule.by and schedule.by not in report.by_choices:
        errors["by"] = f"One of: {', '.join(report.by_choices) or 'nothing for this report'}."
    if errors:
        raise ValidationError(errors)


def _at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def next_run(schedule: ScheduledReport, after: datetime) -> datetime:
    """The first time after ``after`` the schedule is due (its hour, local time)."""
    today = timezone.localtime(after).date()
    if schedule.every == ScheduledReport.Every.DAY:
        days = [today, today + timedelta(days=1)]
    elif schedule.every == ScheduledReport.Every.WEEK:
        ahead = (schedule.weekday - today.weekday()) % 7
        days = [today + timedelta(days=ahead), today + timedelta(days=ahead + 7)]
    else:
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        days = [first, following]
    return next(at for at in (_at(day, schedule.hour) for day in days) if at > after)


def period(schedule: ScheduledReport, sent_on: date) -> tuple[date, date]:
    """The whole period that ended before the day it is sent: yesterday, the last Monday
    to Sunday, or the last calendar month."""
    if schedule.every == ScheduledReport.Every.DAY:
        day = sent_on - timedelta(days=1)
        return day, day
    if schedule.every == ScheduledReport.Every.WEEK:
        monday = sent_on - timedelta(days=sent_on.weekday() + 7)
        return monday, monday + timedelta(days=6)
    last = sent_on.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def filters_for(schedule: ScheduledReport, report: Report, now: datetime) -> Filters:
    start, end = period(schedule, timezone.localtime(now).date())
    return Filters(
        date_from=start,
        date_to=end,
        ticketbox=schedule.ticketbox_id,
        agent=schedule.agent_id,
        grouping=schedule.grouping if GROUPING in report.accepts else "day",
        by=schedule.by if BY in report.accepts and schedule.by else report.default_by,
        older_than_hours=schedule.older_than_hours,
        now=now,
    )


def send_due(now: datetime) -> int:
    """Send every enabled schedule whose time has come, and the runs a stopped worker left
    unfinished (for the period they were for); returns how many were sent."""
    sent = 0
    ours = ScheduledReport.objects.filter(enabled=True).select_related("run_as")
    for schedule in ours.filter(claimed_at__lt=now - LEASE, run_for__isnull=False):
        taken = ScheduledReport.objects.filter(pk=schedule.pk, claimed_at=schedule.claimed_at)
        if taken.update(claimed_at=now) and schedule.run_for is not None:
            sent += send(schedule, schedule.run_for)
    for schedule in ours.filter(next_run_at__lte=now):
        claimed = ScheduledReport.objects.filter(
            pk=schedule.pk, next_run_at=schedule.next_run_at
        ).update(next_run_at=next_run(schedule, now), run_for=now, claimed_at=now)
        if claimed:
            sent += send(schedule, now)
    return sent


def send(schedule: ScheduledReport, now: datetime) -> int:
    """Write the schedule's report for the period before ``now`` and queue the mail; a
    failure is recorded on the schedule (shown in the admin) and logged. Either way the
    run is over. Returns 1 when sent, else 0."""
    done = ScheduledReport.objects.filter(pk=schedule.pk)
    try:
        if not schedule.run_as.is_active:
            raise ValueError(f"{schedule.run_as} is no longer active: choose who it runs as.")
        report = REPORTS[schedule.report]
        filters = filters_for(schedule, report, now)
        out = io.BytesIO()
        rows = write_export(report, schedule.run_as, filters, out)
        with transaction.atomic():
            _mail(schedule, report, filters, rows, out.getvalue())
            done.update(
                last_run_at=now, last_rows=rows, last_error="", run_for=None, claimed_at=None
            )
    except Exception as error:
        log.exception("scheduled report %r failed", schedule.name)
        done.update(last_run_at=now, last_error=str(error)[:2000], run_for=None, claimed_at=None)
        return 0
    return 1


def _mail(
    schedule: ScheduledReport, report: Report, filters: Filters, rows: int, workbook: bytes
) -> None:
    from alerts.services import queue_notification
    from conduit.compose import DraftAttachment

    lines = [f"{label}: {value}" for label, value in describe(report, filters)]
    lines.append(f"Tickets readable by: {agent_name(schedule.run_as)}")
    query = {
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "ticketbox": filters.ticketbox,
        "agent": filters.agent,
        "grouping": filters.grouping if GROUPING in report.accepts else None,
        "by": filters.by or None,
        "older_than": filters.older_than_hours if OLDER_THAN in report.accepts else None,
    }
    query_text = urlencode({key: str(value) for key, value in query.items() if value})
    link = settings.MAILFLOW["SITE_URL"].rstrip("/") + reverse("desk:report", args=[report.name])
    attachments = []
    if len(workbook) <= ATTACH_LIMIT:
        attachments.append(DraftAttachment(file_name(report, filters), XLSX, workbook))
        lines += [f"Rows: {rows}", "", "The workbook is attached."]
    else:
        size = len(workbook) // (1024 * 1024)
        lines += [f"Rows: {rows}", "", f"The workbook ({size} MB) is too large to attach:"]
        lines += ["export it from the report page."]
    lines += ["", f"{link}?{query_text}", "", f"Scheduled report “{schedule.name}”."]
    when = (
        _span(filters)
        if DATES in report.accepts
        else f"as of {timezone.localtime(filters.now):%a %d %b %Y}"
    )
    subject = f"{report.title}, {when}"
    sent_to = queue_notification(
        recipients(schedule), subject=subject, text="\n".join(lines), attachments=attachments
    )
    if not sent_to:
        raise ValueError("Not sent: set MAILFLOW_DEFAULT_FROM, the address mail comes from.")


def _span(filters: Filters) -> str:
    start, end = filters.date_from, filters.date_to
    if start == end:
        return f"{start:%a %d %b %Y}"
    if (
        start.day == 1
        and end.day == calendar.monthrange(end.year, end.month)[1]
        and (start.month == end.month)
    ):
        return f"{start:%B %Y}"
    return f"{start:%d %b} – {end:%d %b %Y}"


def subscribe(agent: Any, report: Report, filters: Filters, every: str) -> ScheduledReport:
    """A schedule mailing ``report`` to the agent, with their rights and these filters
    (the dates become the period just ended). Refused, saying why, when it cannot be sent."""
    if not agent.email:
        raise ValidationError("Your account has no email address: ask an administrator to add one.")
    made = ScheduledReport(
        name=f"{report.title}, every {every}",
        report=report.name,
        run_as=agent,
        created_by=agent,
        recipients=agent.email,
        every=every,
        ticketbox_id=filters.ticketbox,
        agent_id=filters.agent,
        grouping=filters.grouping,
        by=filters.by,
        older_than_hours=filters.older_than_hours,
    )
    made.full_clean()
    made.save()
    return made


def subscriptions(agent: Any) -> list[ScheduledReport]:
    """The schedules the agent made on report pages (theirs to stop)."""
    return list(ScheduledReport.objects.filter(created_by=agent))


def unsubscribe(agent: Any, schedule_id: int) -> bool:
    deleted, _ = ScheduledReport.objects.filter(pk=schedule_id, created_by=agent).delete()
    return bool(deleted)
