"""Django admin for routing rules, blocked senders and the auto-reply log, and the page
that tests a message against the rules ("explain")."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from mailflow.admin import EvidenceAdmin
from routing.explain import explain, result_lines
from routing.forms import ConditionFormSet, ExplainForm
from routing.models import AutoReplyLog, BlockedSender, RoutingRule, RuleCondition


class RuleConditionInline(admin.TabularInline):
    model = RuleCondition
    formset = ConditionFormSet
    extra = 0
    min_num = 1
    fields = ["field", "header_name", "operator", "value", "case_sensitive", "position"]
    formfield_overrides = {
        RuleCondition._meta.get_field("value").__class__: {
            "widget": forms.Textarea(attrs={"rows": 2, "cols": 40})
        }
    }


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "name",
        "enabled",
        "match",
        "conditions_summary",
        "actions_summary",
        "hit_count",
        "last_hit_at",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "match", "file_into", "delete_action"]
    search_fields = ["name", "description", "conditions__value", "forward_to", "add_note"]
    ordering = ["position", "id"]
    inlines = [RuleConditionInline]
    autocomplete_fields = ["assign_to"]
    readonly_fields = ["hit_count", "last_hit_at", "created_at", "updated_at"]
    actions = ["enable_rules", "disable_rules", "duplicate_rules"]
    change_list_template = "admin/routing/routingrule/change_list.html"
    change_form_template = "admin/routing/routingrule/change_form.html"
    fieldsets = [
        (None, {"fields": ["name", "description", ("position", "enabled"), "match"]}),
        (
            "Actions (applied when this rule takes the message)",
            {
                "fields": [
                    "file_into",
                    "assign_to",
                    ("set_priority", "set_status"),
                    "auto_reply",
                    "forward_to",
                    "add_note",
                    "delete_action",
                ]
            },
        ),
        ("Statistics", {"fields": [("hit_count", "last_hit_at"), ("created_at", "updated_at")]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RoutingRule]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("conditions")
            .select_related("file_into", "assign_to", "auto_reply")
        )

    @admin.display(description="conditions")
    def conditions_summary(self, rule: RoutingRule) -> str:
        joiner = " and " if rule.match == RoutingRule.Match.ALL else " or "
        return joiner.join(str(c) for c in rule.conditions.all()) or "—"

    @admin.display(description="actions")
    def actions_summary(self, rule: RoutingRule) -> str:
        parts = []
        if rule.file_into_id:
            parts.append(f"file into {rule.file_into}")
        if rule.assign_to_id:
            parts.append(f"assign to {rule.assign_to}")
        if rule.set_priority:
            parts.append(f"priority {rule.get_set_priority_display()}")
        if rule.set_status:
            parts.append(f"status {rule.get_set_status_display()}")
        if rule.auto_reply_id:
            parts.append(f"auto-reply “{rule.auto_reply}”")
        if rule.forward_to.strip():
            parts.append(f"forward to {', '.join(rule.forward_addresses())}")
        if rule.add_note.strip():
            parts.append("add a note")
        if rule.delete_action:
            parts.append(rule.get_delete_action_display().lower())
        return "; ".join(parts) or "—"

    @admin.action(description="Enable selected rules")
    def enable_rules(self, request: HttpRequest, queryset: QuerySet[RoutingRule]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected rules")
    def disable_rules(self, request: HttpRequest, queryset: QuerySet[RoutingRule]) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[RoutingRule], on: bool) -> None:
        with transaction.atomic():
            for rule in queryset:  # save() so every worker's compiled rule set is invalidated
                rule.enabled = on
                rule.save(update_fields=["enabled", "updated_at"])
        word = "enabled" if on else "disabled"
        self.message_user(request, f"{queryset.count()} rule(s) {word}.", messages.SUCCESS)

    @admin.action(description="Duplicate selected rules (disabled copies)")
    def duplicate_rules(self, request: HttpRequest, queryset: QuerySet[RoutingRule]) -> None:
        with transaction.atomic():
            for rule in queryset.prefetch_related("conditions"):
                conditions = list(rule.conditions.all())
                rule.pk = None
                rule.name = f"{rule.name} (copy)"
                rule.enabled = False
                rule.hit_count, rule.last_hit_at = 0, None
                rule.save()
                for condition in conditions:
                    condition.pk = None
                    condition.rule = rule
                    condition.save()
        self.message_user(
            request,
            f"Copied {queryset.count()} rule(s); the copies are disabled.",
            messages.SUCCESS,
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.explain_view)
        return [path("explain/", view, name="routing_explain"), *super().get_urls()]

    def explain_view(self, request: HttpRequest) -> HttpResponse:
        """Test a message against the rules: the same report as `manage.py route_explain`."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = ExplainForm(request.POST, request.FILES)
        elif request.GET.get("inbound"):  # from a stored message's page: explain at once
            form = ExplainForm({"inbound": request.GET["inbound"]})
        else:
            form = ExplainForm()
        if form.is_bound and form.is_valid():
            inbound = form.cleaned_data.get("inbound_row")
            source = form.cleaned_data.get("source") or (inbound.source if inbound else None)
            report = explain(form.raw(), source=source)
        highlight = request.GET.get("rule", "")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Test a message against the routing rules",
            "form": form,
            "report": report,
            "report_json": json.dumps(report, indent=2, ensure_ascii=False) if report else "",
            "highlight": int(highlight) if highlight.isdigit() else None,
            "result_lines": result_lines(report) if report else [],
        }
        return TemplateResponse(request, "admin/routing/explain.html", context)


@admin.register(BlockedSender)
class BlockedSenderAdmin(admin.ModelAdmin):
    list_display = [
        "pattern",
        "action",
        "reason",
        "hit_count",
        "last_hit_at",
        "created_by",
        "created_at",
    ]
    list_filter = ["action"]
    search_fields = ["pattern", "reason"]
    readonly_fields = ["hit_count", "last_hit_at", "created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: BlockedSender, form: Any, change: bool) -> None:
        if not change:
            obj.created_by_id = request.user.pk
        super().save_model(request, obj, form, change)


@admin.register(AutoReplyLog)
class AutoReplyLogAdmin(EvidenceAdmin):
    list_display = ["address", "last_sent_at", "count"]
    search_fields = ["address"]
    date_hierarchy = "last_sent_at"


def explain_link(inbound_id: int) -> str:
    url = reverse("admin:routing_explain") + f"?inbound={inbound_id}"
    return format_html('<a href="{}">Explain routing</a>', url)
