"""Ticket actions, Get Oldest and bulk actions: each a POST that reads the form, calls one
function of ``tickets.workflow`` and redirects with a flash message saying what happened.

Rights are checked by the selectors (the ticket must be visible) and by the workflow (the
level the action needs); either way, what is outside the agent's rights answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tickets import workflow
from tickets.models import Ticket, Ticketbox
from tickets.selectors import MANAGE, READ, message_for, ticket_for, ticketboxes_for
from tickets.templatetags.desk import agent_name
from tickets.workflow import ActionRefused, GetOldestRequired, NotAllowed


def _number(value: str | None) -> int | None:
    value = (value or "").strip().lstrip("#")
    return int(value) if value.isdigit() else None


def _agent(value: str | None) -> Any | None:
    pk = _number(value)
    return get_user_model().objects.filter(pk=pk).first() if pk is not None else None


def _ticketbox(agent: Any, value: str | None, level: int = READ) -> Ticketbox | None:
    pk = _number(value)
    return ticketboxes_for(agent, level).filter(pk=pk).first() if pk is not None else None


def _run(
    request: HttpRequest,
    ticket: Ticket,
    action: Callable[[], object],
    done: str,
    *,
    unchanged: str = "",
    then: str = "",
) -> HttpResponse:
    """Do ``action``; flash ``done`` (or ``unchanged`` when it returned False) and go to
    ``then`` (default: the ticket). Refusals flash why; missing rights are a 404."""
    back = reverse("desk:ticket", args=[ticket.number])
    try:
        outcome = action()
    except NotAllowed as exc:
        raise Http404("No such ticket.") from exc
    except GetOldestRequired as exc:
        messages.error(request, str(exc))
        return redirect("desk:ticketbox", box_id=ticket.ticketbox_id)
    except ActionRefused as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(back)
    if outcome is False and unchanged:
        messages.info(request, unchanged)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(then or back)


@login_required
@require_POST
def take(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    return _run(
        request,
        ticket,
        lambda: workflow.take(request.user, ticket),
        f"You own #{number} now.",
        unchanged=f"#{number} is already yours.",
    )


@login_required
@require_POST
def assign(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    to = _agent(request.POST.get("agent"))
    if to is None and request.POST.get("agent"):
        messages.error(request, "No such agent.")
        return redirect("desk:ticket", number=number)
    who = agent_name(to, "nobody")
    return _run(
        request,
        ticket,
        lambda: workflow.assign(request.user, ticket, to=to),
        f"#{number} assigned to {who}.",
        unchanged=f"#{number} was already assigned to {who}.",
    )


@login_required
@require_POST
def set_status(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    status = request.POST.get("status", "")
    label = dict(Ticket.Status.choices).get(status, status)
    return _run(
        request,
        ticket,
        lambda: workflow.set_status(request.user, ticket, status),
        f"#{number} is now {label.lower()}.",
        unchanged=f"#{number} was already {label.lower()}.",
    )


@login_required
@require_POST
def set_priority(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    priority = _number(request.POST.get("priority"))
    label = dict(Ticket.Priority.choices).get(priority or 0, "")
    return _run(
        request,
        ticket,
        lambda: workflow.set_priority(request.user, ticket, priority or 0),
        f"Priority of #{number} set to {label.lower()}.",
        unchanged=f"#{number} already had {label.lower()} priority.",
    )


@login_required
@require_POST
def move(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    box = _ticketbox(request.user, request.POST.get("ticketbox"))
    if box is None:
        raise Http404("No such ticketbox.")
    return _run(
        request,
        ticket,
        lambda: workflow.move_ticket(request.user, ticket, box),
        f"#{number} moved to {box}.",
        unchanged=f"#{number} is already in {box}.",
    )


@login_required
@require_POST
def escalate(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    to = _agent(request.POST.get("agent"))
    return _run(
        request,
        ticket,
        lambda: workflow.escalate(request.user, ticket, to=to, note=request.POST.get("note", "")),
        f"#{number} escalated to {agent_name(to)}.",
    )


@login_required
@require_POST
def trash_ticket(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    return _run(
        request,
        ticket,
        lambda: workflow.trash(request.user, ticket),
        f"#{number} moved to the trash.",
        then=reverse("desk:ticketbox", args=[ticket.ticketbox_id]),
    )


@login_required
@require_POST
def restore(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number, trash=True)
    return _run(
        request,
        ticket,
        lambda: workflow.restore(request.user, ticket),
        f"#{number} restored from the trash.",
    )


@login_required
@require_POST
def merge(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    into = _number(request.POST.get("into"))
    if into is None:
        messages.error(request, "Give the number of the ticket to merge into.")
        return redirect("desk:ticket", number=number)
    return _run(
        request,
        ticket,
        lambda: workflow.merge(request.user, ticket, into=into),
        f"#{number} merged into #{into}; #{number} is in the trash.",
        then=reverse("desk:ticketbox", args=[ticket.ticketbox_id]),
    )


@login_required
@require_POST
def add_note(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for(request.user, number)
    private = request.POST.get("private") in ("1", "on", "true")
    return _run(
        request,
        ticket,
        lambda: workflow.add_note(
            request.user, ticket, body=request.POST.get("body", ""), private=private
        ),
        "Private note added." if private else "Note added.",
    )


@login_required
@require_POST
def move_message(request: HttpRequest, pk: int) -> HttpResponse:
    message = message_for(request.user, pk)
    to = _number(request.POST.get("to"))
    if to is None:
        messages.error(request, "Give the number of the ticket to move the message to.")
        return redirect("desk:ticket", number=message.ticket.number)
    return _run(
        request,
        message.ticket,
        lambda: workflow.move_message(request.user, message, to=to),
        f"Message moved to #{to}.",
    )


@login_required
@require_POST
def get_oldest(request: HttpRequest, box_id: int) -> HttpResponse:
    box = ticketboxes_for(request.user).filter(pk=box_id).first()
    if box is None:
        raise Http404("No such ticketbox.")
    try:
        ticket = workflow.get_oldest(request.user, box)
    except NotAllowed as exc:
        raise Http404("No such ticketbox.") from exc
    if ticket is None:
        messages.info(request, f"Nothing waiting in {box}: no open ticket without an owner.")
        return redirect("desk:ticketbox", box_id=box.pk)
    messages.success(request, f"#{ticket.number} is yours: the oldest waiting in {box}.")
    return redirect("desk:ticket", number=ticket.number)


BULK_DONE = {
    "take": "Took",
    "assign": "Assigned",
    "status": "Set the status of",
    "move": "Moved",
    "trash": "Moved to the trash",
    "restore": "Restored",
}


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """The list's "with selected" form: one action over the ticked tickets, applied where
    the agent has the right; the rest are skipped and counted."""
    post = request.POST
    numbers = [n for n in map(_number, post.getlist("tickets")) if n is not None]
    action = post.get("action", "")
    to = _agent(post.get("agent"))
    box = _ticketbox(request.user, post.get("ticketbox"), MANAGE)
    back = post.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("desk:mine")
    if action == "assign" and to is None:
        messages.error(request, "Choose the agent to assign the tickets to.")
        return HttpResponseRedirect(back)
    try:
        result = workflow.bulk(
            request.user, numbers, action, to=to, status=post.get("status", ""), ticketbox=box
        )
    except ActionRefused as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(back)
    text = f"{BULK_DONE[action]} {result.done} ticket{'s' if result.done != 1 else ''}."
    if result.skipped:
        text += f" Skipped {result.skipped}: outside your rights or not possible."
    (messages.warning if result.skipped else messages.success)(request, text)
    return HttpResponseRedirect(back)


@login_required
@require_POST
def empty_trash(request: HttpRequest) -> HttpResponse:
    """Administrators delete everything in the trash for good (the button is the POST)."""
    try:
        count = workflow.empty_trash(request.user)
    except NotAllowed as exc:
        raise Http404("No such page.") from exc
    messages.success(
        request, f"Trash emptied: {count} ticket{'s' if count != 1 else ''} deleted for good."
    )
    return redirect("desk:trash")
