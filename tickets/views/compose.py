"""Compose: reply, reply-all and forward on a ticket, new outbound tickets, the standard
response picker and the contact lookup of the address fields. Thin: the form reads the
request, ``tickets.replies`` sends, ``tickets.drafts`` prefills and looks up."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from tickets.agents import Signature
from tickets.drafts import (
    contact_suggestions,
    message_to_answer,
    reply_prefill,
    standard_response_text,
    standard_responses_for,
)
from tickets.library import StandardResponse
from tickets.models import Attachment, Message, Ticket, Ticketbox
from tickets.replies import (
    THEN_STATUSES,
    Mode,
    ReplyError,
    Upload,
    format_address,
    open_outbound_ticket,
    outbound_from,
    parse_addresses,
    send_reply,
)
from tickets.selectors import REPLY, message_for, ticket_for, ticketboxes_for
from tickets.views.common import profile_of, sidebar

# ---------------------------------------------------------------------------------------
# Forms


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data]
        return [one(data, initial)] if data else []


class AddressField(forms.CharField):
    """Addresses separated by commas; cleans to a list of (display name, address)."""

    def __init__(self, *, label: str, required: bool) -> None:
        attrs = {"list": "contact-suggestions", "autocomplete": "off", "data-lookup": "1"}
        super().__init__(
            label=label,
            required=required,
            max_length=5000,
            widget=forms.TextInput(attrs={**attrs, "size": 80}),
        )

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        try:
            return parse_addresses(text, label=str(self.label))
        except ReplyError as exc:
            raise ValidationError(str(exc)) from exc


class ComposeForm(forms.Form):
    to = AddressField(label="To", required=True)
    cc = AddressField(label="Cc", required=False)
    subject = forms.CharField(max_length=998, widget=forms.TextInput(attrs={"size": 80}))
    body = forms.CharField(
        strip=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "true", "id": "compose-body"}),
    )
    signature = forms.ModelChoiceField(
        queryset=Signature.objects.none(), required=False, empty_label="No signature"
    )
    attachments = MultipleFileField(required=False)
    then_status = forms.ChoiceField(
        label="Then set the ticket to", choices=THEN_STATUSES, required=False
    )

    def __init__(self, *args: Any, agent: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        signatures = Signature.objects.filter(agent=agent)
        self.fields["signature"].queryset = signatures  # type: ignore[attr-defined]

    def uploads(self) -> list[Upload]:
        return [
            Upload(f.name or "attachment", f.content_type or "", f.read())
            for f in self.cleaned_data.get("attachments") or []
        ]


class ReplyForm(ComposeForm):
    include = forms.MultipleChoiceField(
        label="Include the original attachments",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, offered: list[Attachment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offered = {str(a.pk): a for a in offered}
        include = self.fields["include"]
        assert isinstance(include, forms.MultipleChoiceField)
        include.choices = [(key, a.filename) for key, a in self.offered.items()]

    def forwarded(self) -> list[Attachment]:
        return [self.offered[key] for key in self.cleaned_data.get("include") or []]


class NewTicketForm(ComposeForm):
    ticketbox = forms.ModelChoiceField(queryset=Ticketbox.objects.none())

    field_order = ["ticketbox", "to", "cc", "subject", "body"]

    def __init__(self, *args: Any, agent: Any, **kwargs: Any) -> None:
        super().__init__(*args, agent=agent, **kwargs)
        self.fields["ticketbox"].queryset = ticketboxes_for(agent, REPLY)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------
# Pages


@login_required
@require_http_methods(["GET", "POST"])
def reply(request: HttpRequest, number: int) -> HttpResponse:
    """Reply (``mode=reply``), reply to all (``all``) or forward (``forward``) the message
    ``message`` of a ticket (default: the customer's latest); REPLY level needed."""
    agent = request.user
    ticket = ticket_for(agent, number, REPLY)
    mode = _mode(request.GET.get("mode", ""))
    answering = _answering(agent, ticket, request.GET.get("message", ""))
    if request.method == "POST":
        offered = [a for a in answering.attachments.all() if not a.inline] if answering else []
        form = ReplyForm(
            request.POST,
            request.FILES,
            agent=agent,
            offered=offered if mode == Mode.FORWARD else [],
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                sent = send_reply(
                    ticket,
                    agent=agent,
                    to=data["to"],
                    cc=data["cc"],
                    subject=data["subject"],
                    body=data["body"],
                    answering=answering,
                    mode=mode,
                    signature=data["signature"],
                    uploads=form.uploads(),
                    forwarded=form.forwarded(),
                    then_status=data["then_status"],
                )
            except ReplyError as exc:
                form.add_error(None, str(exc))
            else:
                verb = "Forward" if mode == Mode.FORWARD else "Reply"
                messages.success(request, f"{verb} queued to {_recipients(sent)}.")
                return redirect(reverse("desk:ticket", args=[ticket.number]) + f"#m{sent.pk}")
    else:
        prefill = reply_prefill(ticket, answering, mode=mode, profile=profile_of(agent))
        form = ReplyForm(
            agent=agent,
            offered=prefill.attachments,
            initial={
                "to": prefill.to_text,
                "cc": prefill.cc_text,
                "subject": prefill.subject,
                "body": prefill.body,
                "signature": _default_signature(agent),
                "include": [str(a.pk) for a in prefill.attachments],
                "then_status": "",
            },
        )
    return _page(
        request,
        form,
        ticket=ticket,
        ticketbox=ticket.ticketbox,
        mode=mode,
        answering=answering,
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_ticket(request: HttpRequest) -> HttpResponse:
    """A new ticket opened by the agent's first mail to a customer."""
    agent = request.user
    if request.method == "POST":
        form = NewTicketForm(request.POST, request.FILES, agent=agent)
        if form.is_valid():
            data = form.cleaned_data
            try:
                sent = open_outbound_ticket(
                    agent=agent,
                    ticketbox=data["ticketbox"],
                    to=data["to"],
                    cc=data["cc"],
                    subject=data["subject"],
                    body=data["body"],
                    signature=data["signature"],
                    uploads=form.uploads(),
                    then_status=data["then_status"],
                )
            except ReplyError as exc:
                form.add_error(None, str(exc))
            else:
                ticket = sent.ticket
                messages.success(
                    request, f"Ticket #{ticket.number} opened; mail queued to {_recipients(sent)}."
                )
                return redirect("desk:ticket", number=ticket.number)
    else:
        boxes = ticketboxes_for(agent, REPLY)
        chosen = request.GET.get("ticketbox", "")
        form = NewTicketForm(
            agent=agent,
            initial={
                "ticketbox": boxes.filter(pk=chosen).first() if chosen.isdigit() else None,
                "to": request.GET.get("to", ""),
                "signature": _default_signature(agent),
                "then_status": "",
            },
        )
    box = getattr(form, "cleaned_data", {}).get("ticketbox") or form.initial.get("ticketbox")
    return _page(request, form, ticket=None, ticketbox=box, mode=Mode.NEW, answering=None)


def _page(
    request: HttpRequest,
    form: ComposeForm,
    *,
    ticket: Ticket | None,
    ticketbox: Ticketbox | None,
    mode: Mode,
    answering: Message | None,
) -> HttpResponse:
    from_line, from_problem = "", ""
    if ticketbox is not None:
        try:
            from_line = format_address(ticketbox.from_name, outbound_from(ticketbox))
        except ReplyError as exc:
            from_problem = str(exc)
    signatures = {str(s.pk): s.body for s in form.fields["signature"].queryset}  # type: ignore[attr-defined]
    titles = {Mode.REPLY: "Reply", Mode.ALL: "Reply to all", Mode.FORWARD: "Forward"}
    context = {
        **sidebar(request),
        "title": titles.get(mode, "New ticket"),
        "form": form,
        "ticket": ticket,
        "mode": str(mode),
        "answering": answering,
        "from_line": from_line,
        "from_problem": from_problem,
        "signature_bodies": signatures,
        "modes": [(Mode.REPLY, "Reply"), (Mode.ALL, "Reply all"), (Mode.FORWARD, "Forward")],
    }
    return render(request, "desk/compose.html", context)


def _mode(value: str) -> Mode:
    try:
        mode = Mode(value or Mode.REPLY)
    except ValueError as exc:
        raise Http404("No such compose mode.") from exc
    if mode == Mode.NEW:
        raise Http404("No such compose mode.")
    return mode


def _answering(agent: Any, ticket: Ticket, pk: str) -> Message | None:
    if not pk:
        return message_to_answer(ticket)
    if not pk.isdigit():
        raise Http404("No such message.")
    message = message_for(agent, int(pk), REPLY)
    if message.ticket_id != ticket.pk:
        raise Http404("No such message on this ticket.")
    return message


def _default_signature(agent: Any) -> Signature | None:
    return Signature.objects.filter(agent=agent, is_default=True).first()


def _recipients(message: Message) -> str:
    return ", ".join(entry["address"] for entry in [*message.to, *message.cc])


# ---------------------------------------------------------------------------------------
# Standard responses and contact lookup (JSON for compose.js)


@login_required
@require_GET
def response_picker(request: HttpRequest) -> JsonResponse:
    """Active standard responses matching ``q``, grouped by category, most used first."""
    groups = standard_responses_for(request.user, request.GET.get("q", "")[:200])
    return JsonResponse(
        {
            "groups": [
                {
                    "name": group.name,
                    "responses": [
                        {"id": r.id, "title": r.title, "shortcut": r.shortcut, "used": r.used}
                        for r in group.responses
                    ],
                }
                for group in groups
            ]
        }
    )


@login_required
@require_http_methods(["GET", "POST"])
def response_text(request: HttpRequest, pk: int) -> JsonResponse:
    """A response's text with merge fields filled for ``ticket`` (or ``ticketbox``).
    GET previews it; POST inserts it and counts one use by the agent."""
    agent = request.user
    response = get_object_or_404(StandardResponse, pk=pk, is_active=True)
    params = request.POST if request.method == "POST" else request.GET
    ticket = box = None
    if params.get("ticket"):
        ticket = ticket_for(agent, _number(params["ticket"]), REPLY)
    elif params.get("ticketbox"):
        box = get_object_or_404(ticketboxes_for(agent, REPLY), pk=_number(params["ticketbox"]))
    text = standard_response_text(
        response,
        agent=agent,
        ticket=ticket,
        ticketbox=box,
        count_use=request.method == "POST",
    )
    return JsonResponse({"id": response.pk, "title": response.title, "text": text})


def _number(value: str) -> int:
    if not value.isdigit():
        raise Http404("Not a number.")
    return int(value)


@login_required
@require_GET
def contact_lookup(request: HttpRequest) -> JsonResponse:
    """Up to 10 contact addresses matching ``q`` by name or address."""
    return JsonResponse({"results": contact_suggestions(request.GET.get("q", "")[:200])})
