"""Reading a report's filters from a request (a form limited to what the agent may see)
and describing them in words for the page and the spreadsheet's Filters sheet."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from reports.registry import AGENT, BY, DATES, GROUPING, OLDER_THAN, TICKETBOX, Report
from reports.table import GROUPINGS, Filters
from tickets.agents import agent_name
from tickets.models import Ticketbox
from tickets.selectors import ticketboxes_for

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 10
DATE = {"type": "date"}


def default_range(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def default_data(report: Report) -> dict[str, Any]:
    """What the form shows before the supervisor chose: the last 30 days, by day."""
    start, end = default_range()
    return {
        "date_from": start.isoformat(),
        "date_to": end.isoformat(),
        "grouping": "day",
        "by": report.default_by,
        "older_than": 24,
    }


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return agent_name(obj)


class ReportFilterForm(forms.Form):
    """The filters a report accepts; ticketboxes limited to the agent's own."""

    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(DATE))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(DATE))
    ticketbox = forms.ModelChoiceField(Ticketbox.objects.none(), required=False, empty_label="All")
    agent = AgentChoiceField(get_user_model().objects.none(), required=False, empty_label="Anyone")
    grouping = forms.ChoiceField(
        choices=[(g, g.title()) for g in GROUPINGS], required=False, initial="day"
    )
    by = forms.ChoiceField(choices=[], required=False)
    older_than = forms.IntegerField(
        label="Waiting longer than (hours)", min_value=0, max_value=24 * 365, required=False
    )

    def __init__(self, *args: Any, agent: Any, report: Report, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.report = report
        box_field = self.fields["ticketbox"]
        assert isinstance(box_field, forms.ModelChoiceField)
        box_field.queryset = ticketboxes_for(agent).order_by("name")
        agent_field = self.fields["agent"]
        assert isinstance(agent_field, forms.ModelChoiceField)
        agent_field.queryset = (
            get_user_model().objects.filter(is_active=True).order_by("first_name", "username")
        )
        by_field = self.fields["by"]
        assert isinstance(by_field, forms.ChoiceField)
        by_field.choices = list(report.by_choices.items())
        for name in ("ticketbox", "agent", "grouping", "by"):
            if name not in report.accepts:
                del self.fields[name]
        if DATES not in report.accepts:
            del self.fields["date_from"], self.fields["date_to"]
        if OLDER_THAN not in report.accepts:
            del self.fields["older_than"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The range ends before it starts.")
        if start and end and (end - start).days > MAX_DAYS:
            raise forms.ValidationError("Choose at most ten years.")
        return data

    def filters(self) -> Filters:
        """The cleaned filters (defaults for what was left empty)."""
        data = self.cleaned_data
        start, end = default_range()
        box, who = data.get("ticketbox"), data.get("agent")
        return Filters(
            date_from=data.get("date_from") or start,
            date_to=data.get("date_to") or end,
            ticketbox=box.pk if box else None,
            agent=who.pk if who else None,
            grouping=data.get("grouping") or "day",
            by=data.get("by") or self.report.default_by,
            older_than_hours=24 if data.get("older_than") is None else data["older_than"],
        )


def describe(report: Report, filters: Filters) -> list[tuple[str, Any]]:
    """The filters in words, for the page and the spreadsheet (names, not ids)."""
    lines: list[tuple[str, Any]] = [("Report", report.title)]
    if DATES in report.accepts:
        lines += [("From", filters.date_from), ("To", filters.date_to)]
    else:
        lines.append(("As of", timezone.localtime(filters.now).replace(tzinfo=None)))
    if TICKETBOX in report.accepts:
        box = Ticketbox.objects.filter(pk=filters.ticketbox).first() if filters.ticketbox else None
        lines.append(("Ticketbox", box.name if box else "All visible to the requester"))
    if AGENT in report.accepts:
        who = get_user_model().objects.filter(pk=filters.agent).first() if filters.agent else None
        lines.append(("Ticket owner", agent_name(who, "Anyone")))
    if GROUPING in report.accepts:
        lines.append(("Grouped by", filters.grouping))
    if BY in report.accepts:
        lines.append(("By", report.by_choices.get(filters.by, filters.by)))
    if OLDER_THAN in report.accepts:
        lines.append(("Waiting longer than (hours)", filters.older_than_hours))
    return lines
