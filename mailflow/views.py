"""Project-level views: the front door and the health check."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect


def home(request: HttpRequest) -> HttpResponse:
    """Agents start at My Tickets; everyone else at the login page."""
    if request.user.is_authenticated:
        return redirect("desk:mine")
    return redirect("login")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for container health checks and load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
