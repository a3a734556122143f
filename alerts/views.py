"""The Alerts shortcut: an agent's alerts, marked read or cleared (thin views)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alerts import inbox, services
from alerts.models import AlertKind
from alerts.selectors import escalation_counts
from tickets.views.common import sidebar

PAGE_SIZE = 50


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "unread")
    show = show if show in inbox.SHOWS else "unread"
    kind = request.GET.get("kind", "")
    receipts = inbox.receipts_for(request.user, show=show, kind=kind)
    page = Paginator(receipts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "desk/alerts.html",
        {
            **sidebar(request),
            "title": "Alerts",
            "view": "alerts",
            "page": page,
            "show": show,
            "shows": inbox.SHOWS,
            "show_label": inbox.SHOWS[show],
            "kind": kind,
            "kinds": AlertKind.choices,
            "escalations": escalation_counts(request.user),
        },
    )


@login_required
@require_POST
def alert_mark(request: HttpRequest) -> HttpResponse:
    """Mark read or clear the chosen alerts, or all (read all / clear all read)."""
    chosen = [int(pk) for pk in request.POST.getlist("receipt") if pk.isdigit()]
    action = request.POST.get("action", "")
    ids = chosen or None
    if action == "read":
        done = services.mark_read(request.user, ids)
        messages.success(request, f"{done} alert{'s' if done != 1 else ''} marked read.")
    elif action == "clear":
        done = services.clear(request.user, ids)
        messages.success(request, f"{done} alert{'s' if done != 1 else ''} cleared.")
    else:
        messages.error(request, "Choose whether to mark the alerts read or clear them.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = ""
    return redirect(back or "desk:alerts")
