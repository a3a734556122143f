"""Report pages, Excel downloads and export progress (thin: the work is in
``reports.registry`` reports and ``reports.exports``). Who may not report gets 404."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from reports import charts, exports, schedules
from reports.filters import ReportFilterForm, default_data, describe
from reports.models import ReportExport, ScheduledReport
from reports.overview import Figure, overview
from reports.registry import REPORTS, Report, UnknownReport, report_named
from reports.scope import can_report
from reports.table import Column
from tickets.views.common import sidebar

View = Callable[..., HttpResponseBase]


def supervisors_only(view: View) -> View:
    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not can_report(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return checked


def shown(value: Any, kind: str) -> str:
    """A cell as the page shows it."""
    if value is None or value == "":
        return "—"
    if kind == "duration":
        minutes = round(value.total_seconds() / 60)
        days, rest = divmod(minutes, 24 * 60)
        return (f"{days} d " if days else "") + f"{rest // 60} h {rest % 60:02} min"
    if kind == "datetime":
        return localtime(value).strftime("%Y-%m-%d %H:%M")
    if kind == "float":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{value:,}"
    return str(value)


def _cell(value: Any, column: Column) -> tuple[str, str, str]:
    """A cell as shown, its kind, and where it leads: a ticket number (written without a
    thousands separator) opens the ticket."""
    if column.key == "number" and value:
        return str(value), column.kind, reverse("desk:ticket", args=[value])
    return shown(value, column.kind), column.kind, ""


def _figure(figure: Figure) -> tuple[Figure, str, str]:
    """An overview figure with its value and the previous window's, as shown."""
    kind = "duration" if figure.is_duration else "int"
    return figure, shown(figure.value, kind), shown(figure.previous, kind)


def _report(name: str) -> Report:
    try:
        return report_named(name)
    except UnknownReport:
        raise Http404("No such report.") from None


@supervisors_only
def report_index(request: HttpRequest) -> HttpResponse:
    context = {
        "title": "Reports",
        "view": "reports",
        "reports": REPORTS.values(),
        "figures": [_figure(figure) for figure in overview(request.user)],
        "exports": [
            (export, REPORTS[export.report].title if export.report in REPORTS else export.report)
            for export in exports.recent_exports(request.user)
        ],
        "keep_days": exports.keep_days(),
        "subscriptions": schedules.subscriptions(request.user),
    }
    return render(request, "desk/reports.html", {**sidebar(request), **context})


@supervisors_only
def report_page(request: HttpRequest, name: str) -> HttpResponse:
    report = _report(name)
    form = ReportFilterForm(request.GET or None, agent=request.user, report=report)
    context: dict[str, Any] = {"title": report.title, "view": "reports", "report": report}
    if request.GET and not form.is_valid():
        return render(
            request, "desk/reports_report.html", {**sidebar(request), **context, "form": form}
        )
    if not request.GET:
        form = ReportFilterForm(default_data(report), agent=request.user, report=report)
        form.is_valid()
    filters = form.filters()
    table = report.run(request.user, filters)
    rows = list(table.rows)
    table.rows = rows
    context |= {
        "form": form,
        "filters": describe(report, filters),
        "columns": table.columns,
        "rows": rows,
        "cells": [[_cell(v, c) for v, c in zip(row, table.columns, strict=True)] for row in rows],
        "note": table.note,
        "cut": report.screen_rows is not None and len(rows) >= report.screen_rows,
        "chart": charts.render(report.chart, table, report.title) if report.chart and rows else "",
    }
    return render(request, "desk/reports_report.html", {**sidebar(request), **context})


@supervisors_only
@require_POST
def report_export(request: HttpRequest, name: str) -> HttpResponseBase:
    """Small: the workbook at once. Large: queued for a worker, then the progress page."""
    report = _report(name)
    form = ReportFilterForm(request.POST, agent=request.user, report=report)
    if not form.is_valid():
        return redirect(reverse("desk:report", args=[name]))
    filters = form.filters()
    table = exports.full_table(report, request.user, filters)
    if not exports.is_small(table):
        export = exports.request_export(request.user, report, filters)
        return redirect("desk:report_export_page", pk=export.pk)
    out = io.BytesIO()
    exports.write_export(report, request.user, filters, out, table=table)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=exports.file_name(report, filters))


def _own_export(request: HttpRequest, pk: int) -> ReportExport:
    return get_object_or_404(ReportExport, pk=pk, requested_by=request.user)


@supervisors_only
def export_page(request: HttpRequest, pk: int) -> HttpResponse:
    export = _own_export(request, pk)
    report = _report(export.report)
    context = {
        "title": f"Export: {report.title}",
        "view": "reports",
        "export": export,
        "report": report,
        "keep_days": exports.keep_days(),
    }
    return render(request, "desk/reports_export.html", {**sidebar(request), **context})


@supervisors_only
def export_status(request: HttpRequest, pk: int) -> JsonResponse:
    export = _own_export(request, pk)
    done = export.state == ReportExport.State.DONE
    return JsonResponse(
        {
            "state": export.state,
            "progress": export.progress,
            "rows": export.row_count,
            "error": export.error,
            "download": reverse("desk:report_download", args=[export.pk]) if done else "",
        }
    )


@supervisors_only
def export_download(request: HttpRequest, pk: int) -> FileResponse:
    export = _own_export(request, pk)
    if export.state != ReportExport.State.DONE or not export.file:
        raise Http404("Not ready.")
    name = (export.file.name or "report.xlsx").rsplit("/", 1)[-1]
    return FileResponse(export.file.open("rb"), as_attachment=True, filename=name)


@supervisors_only
@require_POST
def report_subscribe(request: HttpRequest, name: str) -> HttpResponseBase:
    """Mail this report, with the filters on the page, to the agent every day, week or month."""
    report = _report(name)
    form = ReportFilterForm(request.POST, agent=request.user, report=report)
    every = request.POST.get("every", "")
    if not form.is_valid() or every not in ScheduledReport.Every.values:
        messages.error(request, "Choose the filters again, and every day, week or month.")
        return redirect(reverse("desk:report", args=[name]))
    try:
        made = schedules.subscribe(request.user, report, form.filters(), every)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect(reverse("desk:report", args=[name]))
    when = made.next_run_at and localtime(made.next_run_at).strftime("%a %d %b %Y, %H:%M")
    messages.success(
        request, f"“{made.name}” will be mailed to {made.recipients}; first on {when}."
    )
    return redirect("desk:reports")


@supervisors_only
@require_POST
def schedule_stop(request: HttpRequest, pk: int) -> HttpResponseBase:
    if not schedules.unsubscribe(request.user, pk):
        raise Http404("No such scheduled report of yours.")
    messages.success(request, "The scheduled report is stopped.")
    return redirect("desk:reports")
