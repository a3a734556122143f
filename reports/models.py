"""Report exports: an Excel file asked for in the browser and written by a worker.

The model's Meta permission ``view_reports`` is who may see and export reports at all
(supervisors, through a group; Administrators hold every permission). What the numbers
cover is still each agent's ticketbox rights (``tickets.selectors.visible_tickets``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
