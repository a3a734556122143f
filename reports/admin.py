"""Admin: scheduled reports (what is mailed to whom, when, and how the last run went)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from reports import schedules
from reports.models import ScheduledReport
from reports.registry import REPORTS
from reports.table import GROUPINGS


class ScheduledReportForm(forms.ModelForm):
    report = forms.ChoiceField(choices=[(r.name, r.title) for r in REPORTS.values()])
    grouping = forms.ChoiceField(choices=[(g, g.title()) for g in GROUPINGS], initial="day")
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Email addresses, one per line or comma-separated.",
    )

    class Meta:
        model = ScheduledReport
        fields = ["name", "report", "enabled", "run_as", "recipients", "every", "weekday", "hour",
                  "ticketbox", "agent", "grouping", "by", "older_than_hours"]  # fmt: skip


@admin.register(ScheduledReport)
class ScheduledReportAdmin(admin.ModelAdmin):
    form = ScheduledReportForm
    list_display = ["name", "report_title", "every", "run_as", "enabled", "next_run_at",
                    "last_run_at", "last_outcome"]  # fmt: skip
    list_filter = ["enabled", "every", "report"]
    search_fields = ["name", "recipients"]
    readonly_fields = ["next_run_at", "last_run_at", "last_rows", "last_error"]
    autocomplete_fields = ["run_as", "agent"]
    actions = ["send_now"]
    fieldsets = [
        (None, {"fields": ["name", "report", "enabled", "run_as", "recipients"]}),
        ("When", {"fields": ["every", "weekday", "hour"]}),
        ("Filters", {"fields": ["ticketbox", "agent", "grouping", "by", "older_than_hours"]}),
        ("Last run", {"fields": ["next_run_at", "last_run_at", "last_rows", "last_error"]}),
    ]

    @admin.display(description="Report")
    def report_title(self, obj: ScheduledReport) -> str:
        report = REPORTS.get(obj.report)
        return report.title if report else obj.report

    @admin.display(description="Last run")
    def last_outcome(self, obj: ScheduledReport) -> str:
        if obj.last_run_at is None:
            return "—"
        return f"Failed: {obj.last_error[:80]}" if obj.last_error else f"{obj.last_rows} rows"

    @admin.action(description="Send the selected reports now (for the period just ended)")
    def send_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        now = timezone.now()
        chosen = list(queryset.select_related("run_as"))
        sent = sum(schedules.send(schedule, now) for schedule in chosen)
        if sent:
            self.message_user(request, f"{sent} report(s) queued for sending.", messages.SUCCESS)
        if sent < len(chosen):
            self.message_user(
                request, f"{len(chosen) - sent} could not be sent: see Last run.", messages.ERROR
            )
