"""Compose in the agent workspace: replies, reply-all, forwards and new outbound tickets go
through the real views into the outbound spool; the standard response picker and the
contact lookup; access rights on every compose URL."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from conduit.outbound import OutboundMessage
from conduit.verp import return_path_for
from contacts.models import Contact, ContactEmail
from contacts.services import find_or_create_contact
from routing import ruleset
from routing.services import route_inbound
from routing.threads import ticket_number_in_message_id
from tests.factories import make_agent, make_ticket, make_ticketbox
from tests.mail import customer_mail, route_mail, store_mail
from tickets.agents import AgentProfile, Signature
from tickets.library import StandardResponse, StandardResponseCategory, StandardResponseUsage
from tickets.models import (
    Attachment,
    Message,
    Ticket,
    Ticketbox,
    TicketboxAccess,
    TicketboxAddress,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

SUPPORT = "support@example.com"  # where customer_mail() writes to: our inbound address
FROM = "help@desk.example"  # what Support sends from
READ, REPLY = TicketboxAccess.Level.READ, TicketboxAccess.Level.REPLY


@pytest.fixture(autouse=True)
def _fresh_ruleset(settings: Any) -> Iterator[None]:
    """Our own addresses come from the compiled rule set, cached per process."""
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "", "TICKET_TAG": "[#TB-{number}]"}
    ruleset._cached = None
    yield
    ruleset._cached = None


@pytest.fixture
def support() -> Ticketbox:
    box = make_ticketbox(
        "Support",
        from_name="Acme Support",
        from_address=FROM,
        header="Thank you for writing to Acme.",
        footer="Acme Ltd · 1 Example Road",
    )
    TicketboxAddress.objects.create(ticketbox=box, address=SUPPORT)
    return box


@pytest.fixture
def agent(support: Ticketbox) -> Any:
    ann = make_agent("ann", first_name="Ann", last_name="Agent")
    TicketboxAccess.objects.create(ticketbox=support, agent=ann, level=REPLY)
    AgentProfile.objects.get_or_create(agent=ann)
    Signature.objects.create(agent=ann, name="Short", body="Ann")
    Signature.objects.create(
        agent=ann, name="Full", body="Ann Agent\nAcme Support", is_default=True
    )
    return ann


@pytest.fixture
def desk(agent: Any) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def routed(**fields: Any) -> tuple[Ticket, Message]:
    outcome = route_mail(customer_mail(**fields))
    return Ticket.objects.get(pk=outcome.ticket_id), Message.objects.get(pk=outcome.message_id)


def reply_url(ticket: Ticket, message: Message | None = None, mode: str = "reply") -> str:
    url = reverse("desk:reply", args=[ticket.number]) + f"?mode={mode}"
    return url + (f"&message={message.pk}" if message else "")


def form_of(response: Any) -> dict[str, Any]:
    """The compose form's starting values, as the browser would post them back."""
    form = response.context["form"]
    data = {name: form[name].value() for name in ("to", "cc", "subject", "body", "then_status")}
    signature = form["signature"].value()
    data["signature"] = signature.pk if isinstance(signature, Signature) else signature or ""
    if "include" in form.fields:
        data["include"] = form["include"].value() or []
    return {key: "" if value is None else value for key, value in data.items()}


def spooled(outbound: OutboundMessage) -> EmailMessage:
    with outbound.raw.open("rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def the_outbound() -> OutboundMessage:
    outbound = OutboundMessage.objects.get()
    assert outbound.state == OutboundMessage.State.QUEUED
    assert outbound.kind == OutboundMessage.Kind.REPLY
    return outbound


# ---------------------------------------------------------------------------------------
# Reply


def test_reply_form_is_prefilled_with_customer_tagged_subject_quote_and_default_signature(
    desk: Client, agent: Any
) -> None:
    ticket, _ = routed()
    page = desk.get(reply_url(ticket))
    assert page.status_code == 200
    data = form_of(page)
    assert data["to"] == "Carla Customer <carla@example.net>"
    assert data["cc"] == ""
    assert data["subject"] == f"Re: Broken widget [#TB-{ticket.number}]"
    assert data["body"].startswith("\n\nOn ")
    assert "Carla Customer wrote:\n> My widget is broken." in data["body"]
    assert data["signature"] == Signature.objects.get(agent=agent, is_default=True).pk
    html = page.content.decode()
    assert 'spellcheck="true"' in html
    assert 'type="file" name="attachments"' in html and "multiple" in html
    assert "Waiting on customer" in html and "Acme Support &lt;help@desk.example&gt;" in html
    assert "desk/compose.js" in html


def test_reply_follows_the_agents_quote_preferences(desk: Client, agent: Any) -> None:
    ticket, _ = routed(body="line one\n\nline two")
    AgentProfile.objects.filter(agent=agent).update(quote_prefix="| ")
    body = form_of(desk.get(reply_url(ticket)))["body"]
    assert "wrote:\n| line one\n|\n| line two" in body
    AgentProfile.objects.filter(agent=agent).update(quote_replies=False)
    assert form_of(desk.get(reply_url(ticket)))["body"] == ""


def test_reply_queues_threaded_framed_signed_mail_that_is_not_automatic(
    desk: Client, agent: Any
) -> None:
    ticket, _ = routed(extra="References: <older@example.net>\r\n")
    data = form_of(desk.get(reply_url(ticket)))
    data["body"] = "We are sending a new widget." + data["body"]
    response = desk.post(reply_url(ticket), data)
    sent = Message.objects.get(direction=Message.Direction.OUT)
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket", args=[ticket.number]) + f"#m{sent.pk}"

    outbound = the_outbound()
    assert outbound.ticket_message_id == sent.pk and outbound.ticket_id == ticket.pk
    assert outbound.envelope_from == return_path_for(outbound.pk, FROM)
    assert outbound.recipients == ["carla@example.net"]
    mail = spooled(outbound)
    assert mail["To"] == "Carla Customer <carla@example.net>"
    assert mail["From"] == f"Acme Support <{FROM}>"
    assert mail["Subject"] == f"Re: Broken widget [#TB-{ticket.number}]"
    assert mail["In-Reply-To"] == "<m1@example.net>"
    assert mail["References"] == "<older@example.net> <m1@example.net>"
    assert ticket_number_in_message_id(mail["Message-ID"]) == ticket.number
    assert mail["Auto-Submitted"] is None and mail["X-Auto-Response-Suppress"] is None
    text = text_of(mail)
    assert text.startswith("Thank you for writing to Acme.\n\nWe are sending a new widget.")
    assert "wrote:\n> My widget is broken.\n\n-- \nAnn Agent\nAcme Support\n\nAcme Ltd" in text
    assert text.rstrip().endswith("Acme Ltd · 1 Example Road")

    assert sent.ticket == ticket and sent.author == agent
    assert sent.message_id == mail["Message-ID"] and sent.in_reply_to == "<m1@example.net>"
    assert sent.to == [{"name": "Carla Customer", "address": "carla@example.net"}]
    assert sent.text.strip() == text.strip()
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.MESSAGE_OUT)
    assert event.actor == agent and event.detail["to"] == ["carla@example.net"]

    view = desk.get(reverse("desk:ticket", args=[ticket.number]))
    assert "delivery-queued" in view.content.decode()


def test_reply_goes_to_the_reply_to_address(desk: Client) -> None:
    ticket, _ = routed(extra="Reply-To: Carla at home <carla@home.example>\r\n")
    assert form_of(desk.get(reply_url(ticket)))["to"] == "Carla at home <carla@home.example>"


def test_reply_sets_first_response_owner_and_chosen_status(desk: Client, agent: Any) -> None:
    ticket, _ = routed()
    assert ticket.owner is None and ticket.first_response_at is None
    data = {**form_of(desk.get(reply_url(ticket))), "then_status": "closed"}
    assert desk.post(reply_url(ticket), data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED and ticket.closed_at is not None
    assert ticket.owner == agent
    first = ticket.first_response_at
    assert first is not None and ticket.last_agent_message_at == first
    status = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.STATUS)
    assert status.detail == {"from": "open", "to": "closed"} and status.actor == agent
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED).count() == 1

    data = {**form_of(desk.get(reply_url(ticket))), "then_status": "waiting"}
    assert desk.post(reply_url(ticket), data).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING and ticket.closed_at is None
    assert ticket.first_response_at == first and ticket.last_agent_message_at > first

    data = {**form_of(desk.get(reply_url(ticket))), "then_status": ""}
    desk.post(reply_url(ticket), data)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING
    assert OutboundMessage.objects.count() == 3


def test_reply_keeps_another_agents_ownership(desk: Client) -> None:
    ticket, _ = routed()
    bob = make_agent("bob")
    Ticket.objects.filter(pk=ticket.pk).update(owner=bob)
    desk.post(reply_url(ticket), form_of(desk.get(reply_url(ticket))))
    ticket.refresh_from_db()
    assert ticket.owner == bob


def test_uploaded_attachments_are_sent_in_the_mime_and_kept_on_the_ticket(desk: Client) -> None:
    ticket, _ = routed()
    data = form_of(desk.get(reply_url(ticket)))
    data["attachments"] = [
        SimpleUploadedFile("manual.pdf", b"%PDF-1.4 manual", content_type="application/pdf"),
        SimpleUploadedFile("C:\\Users\\ann\\notes.txt", b"hello\n", content_type="text/plain"),
    ]
    assert desk.post(reply_url(ticket), data).status_code == 302
    mail = spooled(the_outbound())
    parts = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(parts) == {"manual.pdf", "notes.txt"}
    assert parts["manual.pdf"].get_content() == b"%PDF-1.4 manual"
    assert parts["manual.pdf"].get_content_type() == "application/pdf"
    assert parts["notes.txt"].get_content().replace("\r\n", "\n") == "hello\n"

    sent = Message.objects.get(direction=Message.Direction.OUT)
    rows = {a.filename: a for a in Attachment.objects.filter(message=sent)}
    assert set(rows) == {"manual.pdf", "notes.txt"}
    pdf = rows["manual.pdf"]
    assert pdf.sha256 == hashlib.sha256(b"%PDF-1.4 manual").hexdigest() and pdf.size == 15
    download = desk.get(reverse("desk:attachment", args=[pdf.pk]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 manual"


def test_reply_all_copies_the_other_recipients_but_never_ourselves(desk: Client) -> None:
    ticket, message = routed(
        to=f"Support <{SUPPORT}>, Bob <bob@example.org>",
        extra=f"Cc: carol@example.org, {FROM.upper()}, Carla <CARLA@example.net>\r\n",
    )
    data = form_of(desk.get(reply_url(ticket, message, "all")))
    assert data["to"] == "Carla Customer <carla@example.net>"
    assert data["cc"] == "Bob <bob@example.org>, carol@example.org"
    assert form_of(desk.get(reply_url(ticket, message)))["cc"] == ""

    desk.post(reply_url(ticket, message, "all"), data)
    outbound = the_outbound()
    assert outbound.recipients == ["carla@example.net", "bob@example.org", "carol@example.org"]
    mail = spooled(outbound)
    assert mail["Cc"] == "Bob <bob@example.org>, carol@example.org"
    assert Message.objects.get(direction="out").cc == [
        {"name": "Bob", "address": "bob@example.org"},
        {"name": "", "address": "carol@example.org"},
    ]


def test_each_message_of_the_ticket_can_be_answered_or_forwarded(desk: Client) -> None:
    ticket, message = routed()
    html = desk.get(reverse("desk:ticket", args=[ticket.number])).content.decode()
    url = reverse("desk:reply", args=[ticket.number])
    for mode in ("all", "forward"):
        assert f"{url}?message={message.pk}&amp;mode={mode}" in html


ATTACHED = (
    b"From: Carla Customer <carla@example.net>\r\nTo: support@example.com\r\n"
    b"Subject: Invoice wrong\r\nMessage-ID: <inv@example.net>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
    b"Content-Type: text/plain\r\n\r\nThe invoice is wrong.\r\n--B\r\n"
    b'Content-Type: application/pdf; name="inv.pdf"\r\n'
    b'Content-Disposition: attachment; filename="inv.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7w=\r\n--B--\r\n"
)


def test_forward_starts_empty_and_sends_the_original_text_and_attachments(
    desk: Client,
) -> None:
    outcome = route_inbound(store_mail(ATTACHED).pk)
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    message = Message.objects.get(pk=outcome.message_id)
    original = Attachment.objects.get(message=message)
    page = desk.get(reply_url(ticket, message, "forward"))
    data = form_of(page)
    assert data["to"] == "" and data["cc"] == ""
    assert data["subject"] == f"Fwd: Invoice wrong [#TB-{ticket.number}]"
    assert "---------- Forwarded message ----------" in data["body"]
    assert "From: Carla Customer <carla@example.net>" in data["body"]
    assert "The invoice is wrong." in data["body"] and "> The invoice" not in data["body"]
    assert data["include"] == [str(original.pk)]
    assert "inv.pdf" in page.content.decode()

    assert "to" in desk.post(reply_url(ticket, message, "forward"), data).context["form"].errors
    data["to"] = "Billing <billing@partner.example>"
    assert desk.post(reply_url(ticket, message, "forward"), data).status_code == 302
    mail = spooled(the_outbound())
    assert mail["To"] == "Billing <billing@partner.example>"
    assert mail["In-Reply-To"] is None
    (part,) = list(mail.iter_attachments())
    assert part.get_filename() == "inv.pdf"
    assert part.get_content() == b"%PDF-1.4\n%\xc3\xa4\xc3\xbc"
    assert "The invoice is wrong." in text_of(mail)
    sent = Message.objects.get(direction="out")
    assert sent.attachments.get().sha256 == original.sha256
    ticket.refresh_from_db()
    assert ticket.first_response_at is None  # a forward is no answer to the customer


def test_forward_without_the_original_attachments_when_unticked(desk: Client) -> None:
    outcome = route_inbound(store_mail(ATTACHED).pk)
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    message = Message.objects.get(pk=outcome.message_id)
    data = {**form_of(desk.get(reply_url(ticket, message, "forward"))), "include": []}
    data["to"] = "billing@partner.example"
    desk.post(reply_url(ticket, message, "forward"), data)
    assert list(spooled(the_outbound()).iter_attachments()) == []


def test_missing_from_address_is_a_clear_form_error_and_sends_nothing(
    desk: Client, support: Ticketbox, settings: Any
) -> None:
    ticket, _ = routed()
    Ticketbox.objects.filter(pk=support.pk).update(from_address="")
    page = desk.get(reply_url(ticket))
    assert "has no From address" in page.content.decode()
    response = desk.post(reply_url(ticket), form_of(page))
    assert response.status_code == 200
    assert "has no From address and MAILFLOW_DEFAULT_FROM is not set" in response.content.decode()
    assert not OutboundMessage.objects.exists()
    assert not Message.objects.filter(direction="out").exists()

    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "desk@fallback.example"}
    assert desk.post(reply_url(ticket), form_of(page)).status_code == 302
    outbound = the_outbound()
    assert outbound.envelope_from == return_path_for(outbound.pk, "desk@fallback.example")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", "not an address"),
        ("to", "carla@example.net, bob"),
        ("cc", "x@y@z"),
        ("to", ""),
        ("to", "carla@example.net\r\nBcc: victim@example.org"),
    ],
)
def test_bad_addresses_are_refused(desk: Client, field: str, value: str) -> None:
    ticket, _ = routed()
    data = {**form_of(desk.get(reply_url(ticket))), field: value}
    response = desk.post(reply_url(ticket), data)
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not OutboundMessage.objects.exists()


def test_quoted_display_names_with_commas_are_one_address(desk: Client) -> None:
    ticket, _ = routed()
    data = {**form_of(desk.get(reply_url(ticket))), "to": '"Doe, Jane" <jane@example.org>'}
    assert desk.post(reply_url(ticket), data).status_code == 302
    assert the_outbound().recipients == ["jane@example.org"]


# ---------------------------------------------------------------------------------------
# Access


def test_read_only_agent_gets_404_on_reply(support: Ticketbox) -> None:
    ticket, _ = routed()
    reader = make_agent("reader")
    TicketboxAccess.objects.create(ticketbox=support, agent=reader, level=READ)
    client = Client()
    client.force_login(reader)
    assert client.get(reverse("desk:ticket", args=[ticket.number])).status_code == 200
    assert client.get(reply_url(ticket)).status_code == 404
    data = {"to": "carla@example.net", "subject": "x", "body": "sneaky", "then_status": ""}
    assert client.post(reply_url(ticket), data).status_code == 404
    assert not OutboundMessage.objects.exists()


def test_ticket_outside_rights_is_404_everywhere_in_compose(desk: Client) -> None:
    elsewhere = make_ticket(ticketbox=make_ticketbox("Secret"))
    data = {"to": "carla@example.net", "subject": "x", "body": "hi", "then_status": ""}
    assert desk.get(reverse("desk:reply", args=[elsewhere.number])).status_code == 404
    assert desk.post(reverse("desk:reply", args=[elsewhere.number]), data).status_code == 404
    assert desk.get(reverse("desk:reply", args=[999999])).status_code == 404
    response = StandardResponse.objects.create(title="Hi", body="Hi {{ contact.name }}")
    url = reverse("desk:response_text", args=[response.pk])
    assert desk.post(url, {"ticket": elsewhere.number}).status_code == 404
    assert not StandardResponseUsage.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_a_message_of_another_ticket_cannot_be_answered(desk: Client) -> None:
    ticket, _ = routed()
    _, other_message = routed(message_id="<other@example.net>", subject="Other matter")
    assert desk.get(reply_url(ticket, other_message)).status_code == 404
    secret = make_ticket(ticketbox=make_ticketbox("Secret"))
    hidden = Message.objects.create(
        ticket=secret, direction="in", from_address="x@example.org", date=secret.created_at
    )
    assert desk.get(reply_url(ticket, hidden, "forward")).status_code == 404


def test_ticket_in_the_trash_cannot_be_replied_to(desk: Client, agent: Any) -> None:
    ticket, _ = routed()
    data = form_of(desk.get(reply_url(ticket)))
    Ticket.objects.filter(pk=ticket.pk).update(deleted_at=ticket.created_at)
    assert desk.post(reply_url(ticket), data).status_code == 404


def test_compose_pages_need_a_login() -> None:
    client = Client()
    for name in ("compose", "responses", "contact_lookup"):
        response = client.get(reverse(f"desk:{name}"))
        assert response.status_code == 302 and "login" in response["Location"]


# ---------------------------------------------------------------------------------------
# New outbound ticket


def test_new_ticket_opens_a_ticket_for_the_contact_and_sends_the_first_mail(
    desk: Client, agent: Any, support: Ticketbox
) -> None:
    page = desk.get(reverse("desk:compose") + f"?ticketbox={support.pk}")
    assert page.status_code == 200
    assert [box.name for box in page.context["form"].fields["ticketbox"].queryset] == [
        "Support",
        "Unassigned",
    ]
    data = {
        "ticketbox": support.pk,
        "to": "Dana Doe <dana@example.org>",
        "cc": "",
        "subject": "Your order",
        "body": "Your order has shipped.",
        "signature": Signature.objects.get(agent=agent, name="Short").pk,
        "then_status": "waiting",
    }
    response = desk.post(reverse("desk:compose"), data)
    ticket = Ticket.objects.get(subject="Your order")
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket", args=[ticket.number])
    assert ticket.ticketbox == support and ticket.owner == agent
    assert ticket.status == Ticket.Status.WAITING and ticket.first_response_at is not None
    assert ticket.contact.name == "Dana Doe"
    assert ticket.contact.primary_email == "dana@example.org"
    mail = spooled(the_outbound())
    assert mail["Subject"] == f"Your order [#TB-{ticket.number}]"
    assert mail["To"] == "Dana Doe <dana@example.org>" and mail["In-Reply-To"] is None
    assert "Your order has shipped.\n\n-- \nAnn" in text_of(mail)
    sent = ticket.messages.get()
    assert sent.direction == "out" and sent.author == agent
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds[0] == TicketEvent.Kind.CREATED and TicketEvent.Kind.MESSAGE_OUT in kinds


def test_new_ticket_reuses_the_known_contact(desk: Client, support: Ticketbox) -> None:
    known = find_or_create_contact("dana@example.org", name="Dana Known")
    data = {"ticketbox": support.pk, "to": "DANA@example.org", "subject": "Hi", "body": "Hello"}
    desk.post(reverse("desk:compose"), data)
    assert Ticket.objects.get(subject="Hi").contact == known
    assert Contact.objects.count() == 1


def test_new_ticket_is_refused_in_a_ticketbox_without_reply_rights(
    desk: Client, agent: Any
) -> None:
    readable = make_ticketbox("Readable", from_address="r@desk.example")
    TicketboxAccess.objects.create(ticketbox=readable, agent=agent, level=READ)
    data = {"ticketbox": readable.pk, "to": "dana@example.org", "subject": "Hi", "body": "Hello"}
    response = desk.post(reverse("desk:compose"), data)
    assert response.status_code == 200 and "ticketbox" in response.context["form"].errors
    assert not Ticket.objects.filter(subject="Hi").exists()


def test_new_ticket_without_a_from_address_opens_nothing(desk: Client) -> None:
    unassigned = Ticketbox.objects.get(system_key=Ticketbox.UNASSIGNED)
    data = {"ticketbox": unassigned.pk, "to": "dana@example.org", "subject": "Hi", "body": "Yo"}
    response = desk.post(reverse("desk:compose"), data)
    assert "has no From address" in response.content.decode()
    assert not Ticket.objects.exists() and not Contact.objects.exists()


# ---------------------------------------------------------------------------------------
# Standard responses


@pytest.fixture
def library(agent: Any) -> dict[str, StandardResponse]:
    billing = StandardResponseCategory.objects.create(name="Billing")
    shipping = StandardResponseCategory.objects.create(name="Shipping")
    responses = {
        "refund": StandardResponse.objects.create(
            category=billing, title="Refund issued", shortcut="refund", body="Refunded."
        ),
        "invoice": StandardResponse.objects.create(
            category=billing, title="Invoice copy", body="Here is your invoice."
        ),
        "late": StandardResponse.objects.create(
            category=shipping, title="Parcel late", body="Your parcel is on its way."
        ),
        "old": StandardResponse.objects.create(title="Old", body="refund", is_active=False),
    }
    StandardResponseUsage.objects.create(response=responses["invoice"], agent=agent, count=5)
    StandardResponseUsage.objects.create(response=responses["late"], agent=agent, count=2)
    other = make_agent("other")
    StandardResponseUsage.objects.create(response=responses["refund"], agent=other, count=50)
    return responses


def picker(client: Client, q: str = "") -> list[tuple[str, list[str]]]:
    data = client.get(reverse("desk:responses"), {"q": q}).json()
    return [(g["name"], [r["title"] for r in g["responses"]]) for g in data["groups"]]


def test_picker_groups_by_category_with_the_agents_most_used_first(
    desk: Client, library: dict[str, StandardResponse]
) -> None:
    assert picker(desk) == [
        ("Most used", ["Invoice copy", "Parcel late"]),
        ("Billing", ["Invoice copy", "Refund issued"]),
        ("Shipping", ["Parcel late"]),
    ]


def test_inserting_a_response_counts_its_use_and_reorders_the_picker(
    desk: Client, agent: Any, library: dict[str, StandardResponse]
) -> None:
    url = reverse("desk:response_text", args=[library["refund"].pk])
    assert desk.get(url).json()["text"] == "Refunded."  # a preview counts nothing
    assert not StandardResponseUsage.objects.filter(agent=agent, response=library["refund"])
    for _ in range(6):
        assert desk.post(url).status_code == 200
    usage = StandardResponseUsage.objects.get(agent=agent, response=library["refund"])
    assert usage.count == 6 and usage.last_used_at is not None
    assert picker(desk)[0] == ("Most used", ["Refund issued", "Invoice copy", "Parcel late"])
    assert StandardResponseUsage.objects.get(response=library["refund"], agent__username="other")
    assert picker(desk)[1] == ("Billing", ["Refund issued", "Invoice copy"])


def test_picker_search_matches_title_shortcut_and_body_of_active_responses(
    desk: Client, library: dict[str, StandardResponse]
) -> None:
    assert picker(desk, "REFUND") == [("Billing", ["Refund issued"])]
    assert picker(desk, "on its way") == [
        ("Most used", ["Parcel late"]),
        ("Shipping", ["Parcel late"]),
    ]
    assert picker(desk, "nothing like this") == []
    inactive = reverse("desk:response_text", args=[library["old"].pk])
    assert desk.post(inactive).status_code == 404


def test_response_text_fills_merge_fields_for_the_ticket(desk: Client, agent: Any) -> None:
    ticket, _ = routed()
    response = StandardResponse.objects.create(
        title="Hello",
        body="Dear {{ contact.name }}, ticket {{ ticket.number }} in {{ ticketbox.name }}. "
        "{{ agent.name }} · {{ contact.nickname }}",
    )
    url = reverse("desk:response_text", args=[response.pk])
    text = desk.post(url, {"ticket": ticket.number}).json()["text"]
    assert text == (
        f"Dear Carla Customer, ticket {ticket.number} in Support. Ann Agent · "
        "{{ contact.nickname }}"
    )
    box = Ticketbox.objects.get(name="Support")
    text = desk.post(url, {"ticketbox": box.pk}).json()["text"]
    assert text.startswith("Dear {{ contact.name }}, ticket {{ ticket.number }} in Support.")
    hidden = make_ticketbox("Hidden")
    assert desk.post(url, {"ticketbox": hidden.pk}).status_code == 404
    assert StandardResponseUsage.objects.get(agent=agent, response=response).count == 2


# ---------------------------------------------------------------------------------------
# Contact lookup


def test_contact_lookup_matches_names_and_addresses(desk: Client) -> None:
    dana = find_or_create_contact("dana@example.org", name="Dana Doe")
    ContactEmail.objects.create(contact=dana, address="dana@work.example")
    find_or_create_contact("ed@example.org", name="Ed Danaher")
    find_or_create_contact("zed@example.org", name="Zed")

    def lookup(q: str) -> list[str]:
        response = desk.get(reverse("desk:contact_lookup"), {"q": q})
        return [r["label"] for r in response.json()["results"]]

    assert lookup("dana") == [
        "Dana Doe <dana@example.org>",
        "Dana Doe <dana@work.example>",
        "Ed Danaher <ed@example.org>",
    ]
    assert lookup("ZED@") == ["Zed <zed@example.org>"]
    assert lookup("d") == []
    assert lookup("nobody-like-this") == []


def test_contact_lookup_returns_at_most_ten(desk: Client) -> None:
    for n in range(15):
        find_or_create_contact(f"many{n}@example.org", name=f"Many {n}")
    results = desk.get(reverse("desk:contact_lookup"), {"q": "many"}).json()["results"]
    assert len(results) == 10


# ---------------------------------------------------------------------------------------
# The shared framing


def test_auto_replies_share_the_ticketbox_header_and_footer(support: Ticketbox) -> None:
    thanks = StandardResponse.objects.create(title="Thanks", body="We got it.")
    Ticketbox.objects.filter(pk=support.pk).update(
        auto_reply=Ticketbox.AutoReply.ALWAYS, auto_reply_response=thanks
    )
    route_mail(customer_mail())
    outbound = OutboundMessage.objects.get(kind=OutboundMessage.Kind.AUTO_REPLY)
    text = text_of(spooled(outbound))
    assert re.fullmatch(
        r"Thank you for writing to Acme\.\n\nWe got it\.\n\nAcme Ltd · 1 Example Road\n?", text
    )
