"""The first route step: stored mail becomes messages on tickets, threaded by references."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from conduit.models import InboundMessage
from conduit.store import store_raw
from contacts.models import Contact
from routing.services import route_inbound, unrouted
from tests.mail import customer_mail, store_mail
from tickets import services as ticket_services
from tickets.models import Attachment, Message, Ticket, Ticketbox

pytestmark = pytest.mark.django_db

mail, store = customer_mail, store_mail


def test_new_mail_opens_a_ticket_in_unassigned_with_its_contact() -> None:
    outcome = route_inbound(store(mail()).pk)
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert outcome.new_ticket
    assert ticket.ticketbox == ticket_services.unassigned_ticketbox()
    assert ticket.subject == "Broken widget"
    assert ticket.contact.name == "Carla Customer"
    assert ticket.contact.primary_email == "carla@example.net"
    assert ticket.last_customer_message_at is not None
    message = Message.objects.get(pk=outcome.message_id)
    assert message.direction == "in"
    assert message.text.strip() == "My widget is broken."
    assert message.message_id == "<m1@example.net>"
    assert InboundMessage.objects.get().state == InboundMessage.State.ROUTED


def test_reply_threads_onto_the_ticket_by_in_reply_to_and_reopens_it() -> None:
    first = route_inbound(store(mail()).pk)
    Ticket.objects.filter(pk=first.ticket_id).update(status=Ticket.Status.CLOSED)
    reply = mail(
        subject="Re: Broken widget",
        message_id="<m2@example.net>",
        extra="In-Reply-To: <m1@example.net>\r\n",
    )
    second = route_inbound(store(reply).pk)
    assert second.ticket_id == first.ticket_id and not second.new_ticket
    assert Ticket.objects.get().status == Ticket.Status.OPEN
    assert Ticket.objects.get().messages.count() == 2


def test_reply_threads_by_references_when_in_reply_to_is_unknown() -> None:
    first = route_inbound(store(mail()).pk)
    reply = mail(
        message_id="<m3@example.net>",
        extra="In-Reply-To: <unknown@x>\r\nReferences: <m1@example.net> <unknown@x>\r\n",
    )
    assert route_inbound(store(reply).pk).ticket_id == first.ticket_id


def test_same_sender_in_other_case_is_the_same_contact() -> None:
    route_inbound(store(mail()).pk)
    route_inbound(store(mail(sender="CARLA@Example.NET", message_id="<m9@x>")).pk)
    assert Contact.objects.count() == 1
    assert Ticket.objects.count() == 2


def test_routing_twice_changes_nothing() -> None:
    inbound = store(mail())
    first = route_inbound(inbound.pk)
    again = route_inbound(inbound.pk)
    assert again.already_routed and again.ticket_id == first.ticket_id
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_attachments_are_stored_with_their_content(settings: object) -> None:
    raw = (
        b"From: a@example.net\r\nSubject: Invoice\r\nMessage-ID: <att@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        b"Content-Type: text/plain\r\n\r\nSee attached.\r\n--B\r\n"
        b'Content-Type: application/pdf; name="inv.pdf"\r\n'
        b'Content-Disposition: attachment; filename="inv.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7w=\r\n--B--\r\n"
    )
    route_inbound(store(raw).pk)
    attachment = Attachment.objects.get()
    assert attachment.filename == "inv.pdf"
    assert attachment.content_type == "application/pdf"
    with attachment.file.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4\n%\xc3\xa4\xc3\xbc"
    assert attachment.size == 14


def test_mail_without_sender_is_still_a_ticket() -> None:
    raw = b"Subject: orphan\r\n\r\nno from header at all\r\n"
    outcome = route_inbound(store(raw).pk)
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.contact is None and ticket.subject == "orphan"


def test_source_default_ticketbox_is_used_for_new_tickets() -> None:
    from conduit.models import MailSource

    sales = Ticketbox.objects.create(name="Sales")
    source = MailSource.objects.create(
        name="sales", host="h", username="u", ticketbox_hint=sales, protocol="imap"
    )
    with transaction.atomic():
        inbound = store_raw(mail(), origin="test", source=source).inbound
    assert Ticket.objects.get(pk=route_inbound(inbound.pk).ticket_id).ticketbox == sales


def test_unrouted_sweep_finds_stored_and_failed_mail() -> None:
    from datetime import timedelta

    waiting = store(mail())
    failed = store(mail(message_id="<f@x>"))
    InboundMessage.objects.filter(pk=failed.pk).update(state="failed", route_attempts=2)
    given_up = store(mail(message_id="<g@x>"))
    InboundMessage.objects.filter(pk=given_up.pk).update(state="failed", route_attempts=5)
    assert set(unrouted(older_than=timedelta(0))) == {waiting.pk, failed.pk}


def test_conduit_import_reads_eml_mbox_and_maildir_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "one.eml").write_bytes(mail(message_id="<e1@x>"))
    box = mailbox.mbox(tmp_path / "archive.mbox")
    box.add(mail(message_id="<b1@x>", subject="From the archive"))
    box.add(mail(message_id="<b2@x>", subject="Second", extra="In-Reply-To: <b1@x>\r\n"))
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(mail(message_id="<d1@x>"))

    call_command("conduit_import", str(tmp_path))
    out = capsys.readouterr().out
    assert "Read 4 message(s): 4 new, 0 already stored, 4 routed" in out
    assert Ticket.objects.count() == 3  # b2 threads onto b1
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {"routed"}

    call_command("conduit_import", str(tmp_path / "one.eml"), str(tmp_path / "archive.mbox"))
    assert "Read 3 message(s): 0 new, 3 already stored" in capsys.readouterr().out
    assert InboundMessage.objects.count() == 4 and Message.objects.count() == 4


def test_conduit_import_names_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="could not be imported"):
        call_command("conduit_import", str(tmp_path / "missing.eml"))


def test_unreachable_virus_scanner_keeps_the_mail_for_a_later_try(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from conduit.antivirus import ScannerUnavailable

    def down(raw: bytes) -> None:
        raise ScannerUnavailable("cannot reach clamd at unix:///run/clamav/clamd.ctl")

    monkeypatch.setattr("routing.services.scan_message", down)
    inbound = store(mail())
    with pytest.raises(ScannerUnavailable):
        route_inbound(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.FAILED
    assert "cannot reach clamd" in inbound.error
    assert Ticket.objects.count() == 0
    assert inbound.pk in unrouted(older_than=timedelta(0))
    monkeypatch.undo()
    assert route_inbound(inbound.pk).new_ticket


def test_admin_routes_quarantined_and_failed_mail_again(
    monkeypatch: pytest.MonkeyPatch, admin_user: object, caplog: pytest.LogCaptureFixture
) -> None:
    from django.test import Client
    from django.urls import reverse

    from conduit.antivirus import ScanVerdict

    monkeypatch.setattr(
        "routing.services.scan_message",
        lambda raw: ScanVerdict(infected=True, signature="Test.Sig", scanner="fake"),
    )
    suspect = store(mail(message_id="<q@x>"))
    assert route_inbound(suspect.pk).ticket_id is None
    broken = store(mail(message_id="<f2@x>"))
    InboundMessage.objects.filter(pk=broken.pk).update(state="failed", error="db was down")
    routed = store(mail(message_id="<r@x>"))
    monkeypatch.setattr("routing.services.scan_message", lambda raw: None)
    route_inbound(routed.pk)

    client = Client()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:conduit_inboundmessage_changelist"),
        {"action": "route_again", "_selected_action": [suspect.pk, broken.pk, routed.pk]},
        follow=True,
    )
    notes = [str(m) for m in response.context["messages"]]
    assert notes == ["2 of 2 message(s) routed; 1 left alone (already routed or discarded)."]
    states = dict(InboundMessage.objects.values_list("pk", "state"))
    assert states == {suspect.pk: "routed", broken.pk: "routed", routed.pk: "routed"}
    assert Message.objects.count() == 3  # the routed one was not routed twice
    assert "released 1 quarantined message(s)" in caplog.text
