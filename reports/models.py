"""Report exports: an Excel file asked for in the browser and written by a worker.

The model's Meta permission ``view_reports`` is who may see and export reports at all
(supervisors, through a group; Administrators hold every permission). What the numbers
cover is still each agent's ticketbox rights (``tickets.selectors.visible_tickets``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


def export_path(instance: ReportExport, filename: str) -> str:
    return f"reports/{instance.requested_by_id}/{filename}"


class ReportExport(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_exports"
    )
    report = models.CharField(max_length=40, help_text="The report's name in reports.registry.")
    filters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0–100.")
    row_count = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to=export_path, max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("view_reports", "Can see and export reports")]

    def __str__(self) -> str:
        return f"{self.report} for {self.requested_by} ({self.state})"


class ScheduledReport(models.Model):
    """A report mailed as an Excel workbook every day, week or month, for the period just
    ended (yesterday, last Monday to Sunday, last month), with one agent's rights."""

    class Every(models.TextChoices):
        DAY = "day", "Every day (yesterday)"
        WEEK = "week", "Every week (last Monday to Sunday)"
        MONTH = "month", "Every month (last month)"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    name = models.CharField(max_length=100)
    report = models.CharField(max_length=40, help_text="Which report.")
    enabled = models.BooleanField(default=True)
    run_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="scheduled_reports",
        help_text="The numbers cover the tickets this agent may read.",
    )
    recipients = models.TextField(help_text="Email addresses, one per line or comma-separated.")
    every = models.CharField(max_length=5, choices=Every.choices, default=Every.WEEK)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, help_text="For weekly reports."
    )
    hour = models.PositiveSmallIntegerField(
        default=7, help_text="Hour of the day it is sent (0–23, in the site's time zone)."
    )
    ticketbox = models.ForeignKey(
        "tickets.Ticketbox", null=True, blank=True, on_delete=models.CASCADE,
        help_text="Only this ticketbox (empty: all the agent may read).",
    )  # fmt: skip
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+", help_text="Only tickets this agent owns (empty: anyone's).",
    )  # fmt: skip
    grouping = models.CharField(
        max_length=5, default="day", help_text="Trend reports: day, week, month or year."
    )
    by = models.CharField(
        max_length=20, blank=True, help_text="Reports with a choice of grouping (empty: the first)."
    )
    older_than_hours = models.PositiveIntegerField(default=24, help_text="Unanswered mail.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="+", editable=False,
        help_text="The supervisor who subscribed on a report page (they may stop it there).",
    )  # fmt: skip
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_rows = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # A run in progress: the moment it is for, and when a worker took it (a lease: a run a
    # stopped worker left is taken again, for the same period).
    run_for = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        from reports.schedules import next_run

        if self.enabled:  # the next run follows the schedule as it now is
            self.next_run_at = next_run(self, timezone.now())
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from reports.schedules import validate

        validate(self)
