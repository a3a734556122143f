"""Ticket lists: My Tickets, a ticketbox, another agent's tickets, the trash."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import listing
from tickets.models import Ticket
from tickets.selectors import MANAGE, level_on, ticketboxes_for, visible_tickets
from tickets.views.common import profile_of, sidebar


def _render_list(
    request: HttpRequest, tickets: QuerySet[Ticket], title: str, **extra: Any
) -> HttpResponse:
    query = listing.ListQuery.from_params(request.GET)
    tickets = listing.apply(tickets, query, request.user)
    page = listing.page_of(tickets, request.GET.get("page"), profile_of(request.user).rows_per_page)
    rows = listing.rows_of(page, get_oldest_only=extra.get("get_oldest_only", False))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        **sidebar(request),
        "title": title,
        "page": page,
        "rows": rows,
        "query": query,
        "params": params.urlencode(),
        "statuses": Ticket.Status.choices,
        "priorities": Ticket.Priority.choices,
        "ages": list(listing.AGES),
        "columns": [
            ("number", "#"),
            ("priority", "Priority"),
            ("subject", "Subject"),
            ("contact", "Contact"),
            ("status", "Status"),
            ("owner", "Owner"),
            ("box", "Ticketbox"),
            ("waiting", "Customer wrote"),
        ],
        "move_targets": ticketboxes_for(request.user, MANAGE),
        "agents": get_user_model().objects.filter(is_active=True).order_by("username"),
        **extra,
    }
    return render(request, "desk/list.html", context)


@login_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    tickets = visible_tickets(request.user).filter(owner=request.user)
    return _render_list(request, tickets, "My tickets", view="mine")


@login_required
def ticketbox_tickets(request: HttpRequest, box_id: int) -> HttpResponse:
    box = ticketboxes_for(request.user).filter(pk=box_id).first()
    if box is None:
        raise Http404("No such ticketbox.")
    tickets = visible_tickets(request.user).filter(ticketbox=box)
    return _render_list(
        request,
        tickets,
        box.name,
        view="box",
        ticketbox=box,
        can_manage=level_on(request.user, box.pk) >= MANAGE,
        get_oldest_only=box.hands_out_with_get_oldest and level_on(request.user, box.pk) < MANAGE,
    )


@login_required
def agent_tickets(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_user_model().objects.filter(pk=agent_id, is_active=True).first()
    if agent is None:
        raise Http404("No such agent.")
    tickets = visible_tickets(request.user).filter(owner=agent)
    title = f"Tickets of {agent.get_full_name() or agent}"
    return _render_list(request, tickets, title, view="agent")


@login_required
def trash(request: HttpRequest) -> HttpResponse:
    tickets = visible_tickets(request.user, trash=True)
    return _render_list(request, tickets, "Trash", view="trash")
