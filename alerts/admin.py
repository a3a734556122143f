"""Admin: the log viewer (read-only, filtered by type, severity and start time), the log
policy, escalation rules, and the alert types with their recipients."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from alerts.models import AlertRecipient, AlertType, EscalationRule, LogEntry, LogPolicy


class SinceFilter(admin.SimpleListFilter):
    """Entries from a start time on: a recent span, or any ISO date/time in ``?since=``."""

    title = "since"
    parameter_name = "since"
    SPANS = {
        "1h": ("The last hour", timedelta(hours=1)),
        "24h": ("The last 24 hours", timedelta(days=1)),
        "7d": ("The last 7 days", timedelta(days=7)),
        "30d": ("The last 30 days", timedelta(days=30)),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, label) for code, (label, _) in self.SPANS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        start = self.start(value)
        return queryset.filter(at__gte=start) if start else queryset.none()

    def start(self, value: str) -> datetime | None:
        if value in self.SPANS:
            return timezone.now() - self.SPANS[value][1]
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime(day.year, day.month, day.day)
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "severity", "type", "logger", "short_message"]
    list_filter = ["type", "severity", SinceFilter]
    search_fields = ["message"]
    date_hierarchy = "at"
    readonly_fields = ["at", "type", "severity", "logger", "message", "detail"]
    list_per_page = 100
    show_full_result_count = False  # a count of millions of rows on every page is slow

    @admin.display(description="message")
    def short_message(self, entry: LogEntry) -> str:
        return entry.message[:200]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LogPolicy)
class LogPolicyAdmin(admin.ModelAdmin):
    list_display = ["type", "min_severity"]
    list_editable = ["min_severity"]
    list_display_links = ["type"]


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "ticketbox",
        "warn_after_hours",
        "escalate_after_hours",
        "escalate_to",
        "enabled",
    ]
    list_filter = ["enabled"]
    autocomplete_fields = ["escalate_to"]


class AlertRecipientInline(admin.TabularInline):
    model = AlertRecipient
    extra = 1
    autocomplete_fields = ["agent"]


@admin.register(AlertType)
class AlertTypeAdmin(admin.ModelAdmin):
    list_display = ["kind", "enabled", "channel", "email_to"]
    list_editable = ["enabled", "channel"]
    list_display_links = ["kind"]
    inlines = [AlertRecipientInline]
