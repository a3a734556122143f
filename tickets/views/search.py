"""The search box: one page of matching tickets the agent may read."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets.search import search_tickets
from tickets.selectors import MANAGE, level_on
from tickets.views.common import profile_of, sidebar

MAX_QUERY = 200


@login_required
def search(request: HttpRequest) -> HttpResponse:
    agent = request.user
    text = " ".join(request.GET.get("q", "").split())[:MAX_QUERY]
    page = request.GET.get("page", "1")
    results = search_tickets(
        agent,
        text,
        page=int(page) if page.isdigit() else 1,
        size=profile_of(agent).rows_per_page,
    )
    # Like the lists: where a ticketbox hands out tickets with Get Oldest, agents without
    # manage rights see unowned tickets but cannot open them from here.
    closed_to_agent = {
        hit.ticket.pk
        for hit in results.hits
        if hit.ticket.ticketbox.require_get_oldest
        and hit.ticket.owner_id is None
        and level_on(agent, hit.ticket.ticketbox_id) < MANAGE
    }
    context = {
        **sidebar(request),
        "title": f"Search: {text}" if text else "Search",
        "search_query": text,
        "results": results,
        "closed_to_agent": closed_to_agent,
        "params": urlencode({"q": text}),
        "view": "search",
    }
    return render(request, "desk/search.html", context)
