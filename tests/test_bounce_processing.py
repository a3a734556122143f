"""Bounces in the route step: real delivery reports about a sent reply are recorded on the
outbound message, the contact address, the ticket (as a system note) and the agent's
alerts; they never reopen the ticket or count as the customer writing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertReceipt
from conduit.models import InboundMessage
from conduit.outbound import BounceCategory, OutboundMessage
from conduit.verp import outbound_id_from, return_path_for
from contacts.models import ContactEmail
from contacts.services import find_or_create_contact
from routing.explain import explain
from routing.services import route_batch, route_inbound
from tests.factories import make_agent, make_ticket, make_ticketbox
from tests.mail import customer_mail, route_mail, store_mail
from tickets.models import Message, Note, Ticket, TicketboxAccess, TicketEvent
from tickets.replies import send_reply

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "bounces"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
CUSTOMER = "dana.fischer@example.org"
SUPPORT = "support@desk.example.com"


class Sent:
    """A reply an agent sent to a waiting customer, accepted by the mail server."""

    def __init__(self, recipient: str = CUSTOMER) -> None:
        self.box = make_ticketbox("Support", from_address=SUPPORT)
        self.agent = make_agent("alice")
        TicketboxAccess.objects.create(
            ticketbox=self.box, agent=self.agent, level=TicketboxAccess.Level.REPLY
        )
        self.contact = find_or_create_contact(recipient.upper(), name="Dana Fischer")
        self.ticket = make_ticket("Your order", ticketbox=self.box, contact=self.contact)
        self.message = send_reply(
            self.ticket,
            agent=self.agent,
            to=[("Dana Fischer", recipient)],
            subject="Re: Your order",
            body="Your replacement ships today.",
            then_status=Ticket.Status.WAITING,
        )
        self.outbound = OutboundMessage.objects.get(ticket_message=self.message)
        OutboundMessage.objects.filter(pk=self.outbound.pk).update(
            state=OutboundMessage.State.SENT, sent_at=timezone.now() - timedelta(minutes=5)
        )
        self.before = Ticket.objects.get(pk=self.ticket.pk)

    def report(self, name: str, *, by_return_path: bool = True) -> bytes:
        """A corpus report, rewritten to be about this reply (its return path and its
        Message-ID), or, without the return path, naming it only by Message-ID."""
        raw = (DATA / name).read_bytes()
        verp = next(
            line.split()[-1].strip("<>")
            for line in raw.decode("latin-1").splitlines()
            if line.lower().startswith(("to:", "delivered-to:", "envelope-to:"))
            and "bounces+" in line
        )
        ours = self.outbound.envelope_from if by_return_path else SUPPORT
        raw = raw.replace(verp.encode(), ours.encode())
        original = EXPECTED[name]["original_message_id"]
        return raw.replace(original.encode(), self.outbound.message_id.encode())

    def fresh(self) -> OutboundMessage:
        return OutboundMessage.objects.get(pk=self.outbound.pk)

    def address(self) -> ContactEmail:
        return ContactEmail.objects.get(contact=self.contact)

    def assert_ticket_untouched(self) -> None:
        ticket = Ticket.objects.get(pk=self.ticket.pk)
        assert ticket.status == self.before.status == Ticket.Status.WAITING
        assert ticket.last_customer_message_at == self.before.last_customer_message_at
        assert Ticket.objects.count() == 1
        assert list(Message.objects.values_list("direction", flat=True)) == ["out"]


@pytest.fixture
def sent() -> Sent:
    return Sent()


def test_replies_get_a_signed_return_path_naming_them(sent: Sent) -> None:
    assert outbound_id_from(sent.outbound.envelope_from) == sent.outbound.pk
    assert sent.outbound.envelope_from == return_path_for(sent.outbound.pk, SUPPORT)


def test_hard_bounce_marks_the_reply_bounced_flags_the_address_and_alerts_its_author(
    sent: Sent,
) -> None:
    outcome = route_mail(sent.report("postfix-user-unknown.eml"))
    inbound = InboundMessage.objects.get(pk=outcome.inbound_id)
    assert inbound.state == InboundMessage.State.BOUNCE
    assert outcome.ticket_id is None and outcome.message_id is None and not outcome.new_ticket

    outbound = sent.fresh()
    assert outbound.state == OutboundMessage.State.BOUNCED
    assert outbound.bounce_category == BounceCategory.USER_UNKNOWN
    assert outbound.bounce_hard is True
    assert outbound.bounce_recipient == CUSTOMER
    assert outbound.bounce_status == "5.1.1"
    assert "User unknown in virtual mailbox table" in outbound.bounce_diagnostic
    assert outbound.bounced_at is not None and outbound.bounce_report == inbound

    address = sent.address()  # stored in upper case: matched whatever the case
    assert (address.hard_bounces, address.soft_bounces) == (1, 0)
    assert address.last_bounce_category == "user_unknown" and address.last_bounce_at

    alert = Alert.objects.get(kind="outbound_failure")
    assert alert.title.startswith(f"Not delivered to {CUSTOMER}: 550 5.1.1")
    assert alert.ticket_id == sent.ticket.pk
    assert alert.once_key == f"bounce:{outbound.pk}:{inbound.pk}"
    assert AlertReceipt.objects.filter(alert=alert, agent=sent.agent).exists()

    note = Note.objects.get(ticket=sent.ticket)
    assert note.author is None and note.body.startswith(f"Not delivered to {CUSTOMER}")
    assert "1 time(s) permanently" in note.body
    event = TicketEvent.objects.get(ticket=sent.ticket, kind=TicketEvent.Kind.BOUNCE)
    assert event.detail["why"] == alert.title and event.actor is None
    sent.assert_ticket_untouched()


def test_routing_the_same_report_twice_changes_nothing(sent: Sent) -> None:
    inbound = store_mail(sent.report("gmail-no-such-user.eml"))
    route_inbound(inbound.pk)
    again = route_inbound(inbound.pk)
    assert again.already_routed
    assert sent.address().hard_bounces == 1
    assert Alert.objects.count() == 1 and Note.objects.count() == 1
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.BOUNCE).count() == 1


def test_report_without_our_return_path_is_matched_by_message_id(sent: Sent) -> None:
    route_mail(sent.report("exchange-2003-plain.eml", by_return_path=False))
    outbound = sent.fresh()
    assert outbound.state == OutboundMessage.State.BOUNCED
    assert outbound.bounce_category == BounceCategory.USER_UNKNOWN
    assert sent.address().hard_bounces == 1
    assert "matched by Message-ID" in Note.objects.get().body
    sent.assert_ticket_untouched()


def test_soft_bounce_counts_as_soft(sent: Sent) -> None:
    route_mail(sent.report("postfix-over-quota-soft.eml"))
    outbound = sent.fresh()
    assert outbound.state == OutboundMessage.State.BOUNCED
    assert outbound.bounce_category == BounceCategory.MAILBOX_FULL and not outbound.bounce_hard
    assert (sent.address().hard_bounces, sent.address().soft_bounces) == (0, 1)
    assert Alert.objects.filter(kind="outbound_failure").count() == 1


def test_delay_warning_is_recorded_but_the_reply_stays_sent(sent: Sent) -> None:
    route_mail(sent.report("delayed-postfix.eml"))
    outbound = sent.fresh()
    assert outbound.state == OutboundMessage.State.SENT
    assert outbound.bounce_category == BounceCategory.TRANSIENT
    assert "Connection refused" in outbound.bounce_diagnostic
    assert outbound.bounced_at is None
    assert (sent.address().hard_bounces, sent.address().soft_bounces) == (0, 0)
    assert not Alert.objects.exists()
    assert "keeps trying" in Note.objects.get().body
    sent.assert_ticket_untouched()


def test_delay_after_a_bounce_does_not_overwrite_it(sent: Sent) -> None:
    route_mail(sent.report("postfix-user-unknown.eml"))
    route_mail(sent.report("delayed-postfix.eml"))
    outbound = sent.fresh()
    assert outbound.state == OutboundMessage.State.BOUNCED
    assert outbound.bounce_category == BounceCategory.USER_UNKNOWN


def test_out_of_office_is_shown_on_the_ticket_without_reopening_it(sent: Sent) -> None:
    raw = customer_mail(
        sender=f"Dana Fischer <{CUSTOMER}>",
        to=SUPPORT,
        subject="Automatic reply: Re: Your order",
        message_id="<oof1@example.org>",
        extra=(
            f"In-Reply-To: {sent.outbound.message_id}\r\n"
            "Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n"
        ),
        body="I am out of the office until Monday. For urgent orders call 555-0100.",
    )
    route_mail(raw)
    outbound = sent.fresh()
    assert outbound.state == OutboundMessage.State.SENT
    assert outbound.bounce_category == BounceCategory.AUTO_REPLY
    assert not Alert.objects.exists()
    note = Note.objects.get()
    assert note.body.startswith(f"Automatic reply from {CUSTOMER}")
    assert "call 555-0100" in note.body
    assert (sent.address().hard_bounces, sent.address().soft_bounces) == (0, 0)
    sent.assert_ticket_untouched()


def test_challenge_response_alerts_the_agent_and_leaves_the_reply_sent(sent: Sent) -> None:
    route_mail(sent.report("challenge-boxbe.eml"))
    outbound = sent.fresh()
    assert outbound.state == OutboundMessage.State.SENT
    assert outbound.bounce_category == BounceCategory.CHALLENGE_RESPONSE
    alert = Alert.objects.get()
    assert alert.title.startswith("Confirmation asked")
    assert "verify that you are a real person" in Note.objects.get().body
    sent.assert_ticket_untouched()


def test_a_person_answering_our_return_path_is_routed_like_a_customer_reply(sent: Sent) -> None:
    raw = customer_mail(
        sender=f"Dana Fischer <{CUSTOMER}>",
        to=sent.outbound.envelope_from,
        subject="Re: Your order",
        message_id="<human1@example.org>",
        extra=f"In-Reply-To: {sent.outbound.message_id}\r\n",
        body="Thanks, but the box arrived damaged.",
    )
    outcome = route_mail(raw)
    assert outcome.ticket_id == sent.ticket.pk
    assert InboundMessage.objects.get().state == InboundMessage.State.ROUTED
    assert Ticket.objects.get().status == Ticket.Status.OPEN  # the customer wrote back
    assert Message.objects.filter(direction="in").count() == 1
    assert sent.fresh().bounce_category == ""


def test_report_about_mail_we_never_sent_goes_to_a_ticket_for_a_person(sent: Sent) -> None:
    raw = sent.report("qmail-no-mailbox-here.eml", by_return_path=False).replace(
        sent.outbound.message_id.encode(), b"<somebody-else@other.example>"
    )
    outcome = route_mail(raw)
    assert outcome.new_ticket and outcome.ticket_id != sent.ticket.pk
    assert sent.fresh().state == OutboundMessage.State.SENT
    assert sent.address().hard_bounces == 0


def test_forged_return_path_is_not_trusted(sent: Sent) -> None:
    raw = sent.report("postfix-user-unknown.eml").replace(
        sent.outbound.envelope_from.encode(),
        sent.outbound.envelope_from.replace(f"+{sent.outbound.pk}.", "+999999.").encode(),
    )
    raw = raw.replace(sent.outbound.message_id.encode(), b"<not-ours@example.org>")
    outcome = route_mail(raw)
    assert outcome.new_ticket
    assert sent.fresh().state == OutboundMessage.State.SENT


def test_bounces_and_customer_mail_in_one_batch(sent: Sent) -> None:
    bounce = store_mail(sent.report("ses-user-unknown.eml"))
    customer = store_mail(customer_mail(message_id="<batch1@example.net>"))
    outcomes = route_batch([bounce.pk, customer.pk])
    assert [o.new_ticket for o in outcomes] == [False, True]
    assert sent.fresh().state == OutboundMessage.State.BOUNCED
    assert Ticket.objects.count() == 2


def test_bounce_of_an_alert_email_raises_no_alert(sent: Sent) -> None:
    OutboundMessage.objects.filter(pk=sent.outbound.pk).update(
        kind=OutboundMessage.Kind.NOTIFICATION
    )
    route_mail(sent.report("postfix-user-unknown.eml"))
    assert sent.fresh().state == OutboundMessage.State.BOUNCED
    assert not Alert.objects.exists()


def test_explain_says_the_report_is_recorded(sent: Sent) -> None:
    result = explain(sent.report("postfix-user-unknown.eml"))["result"]
    assert result["action"].startswith("record a delivery report")
    assert result["outbound_message"] == sent.outbound.pk
    assert result["matched_by"] == "return path" and result["category"] == "user_unknown"
    assert sent.fresh().state == OutboundMessage.State.SENT  # a dry run
