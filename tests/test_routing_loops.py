"""Routing safety: blocked senders, when we never auto-reply, the per-sender window, two help
desks answering each other, the headers of our automatic mail, and the window's ledger."""

from __future__ import annotations

import email
import email.policy
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from conduit.compose import LOOP_HEADER, loop_token
from conduit.models import InboundMessage
from conduit.outbound import OutboundMessage
from conduit.verp import return_path_for
from routing import ruleset
from routing.loops import claim_auto_reply_slots
from routing.models import AutoReplyLog, BlockedSender, RoutingRule, RuleCondition
from routing.services import RouteOutcome, route_batch, route_inbound
from routing.threads import ticket_number_in_message_id
from tests.factories import make_ticketbox
from tests.mail import customer_mail, route_mail, store_mail
from tickets.library import StandardResponse
from tickets.models import Message, Ticket, Ticketbox, TicketboxAddress, TicketEvent

pytestmark = pytest.mark.django_db

DEFAULT_FROM = "help@desk.example"
SUPPORT = "support@example.com"
AUTO = OutboundMessage.Kind.AUTO_REPLY


@pytest.fixture(autouse=True)
def _fresh_ruleset() -> Iterator[None]:
    """The compiled rule set (our addresses, DEFAULT_FROM) is cached per process."""
    ruleset._cached = None
    yield
    ruleset._cached = None


@pytest.fixture(autouse=True)
def _default_from(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": DEFAULT_FROM}


@pytest.fixture
def support() -> Ticketbox:
    """A ticketbox owning support@example.com, which it also sends from, that auto-replies
    to every new ticket: answers to its mail come back into it."""
    thanks = StandardResponse.objects.create(
        title="Thanks", body="Hello {{ contact.name }}, we got ticket {{ ticket.number }}."
    )
    box = make_ticketbox(
        "Support",
        from_name="Support",
        from_address=SUPPORT,
        auto_reply=Ticketbox.AutoReply.ALWAYS,
        auto_reply_response=thanks,
    )
    TicketboxAddress.objects.create(ticketbox=box, address=SUPPORT)
    return box


def mail(**fields: Any) -> bytes:
    return customer_mail(**{"to": SUPPORT, **fields})


store, route = store_mail, route_mail


def auto_replies() -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind=AUTO).order_by("id"))


def spooled(outbound: OutboundMessage) -> EmailMessage:
    with open(outbound.raw.path, "rb") as handle:
        return email.message_from_binary_file(handle, policy=email.policy.default)


def assert_no_auto_reply(outcome: RouteOutcome) -> None:
    """The mail opened a ticket (nothing lost) and got no automatic answer at all."""
    assert outcome.new_ticket and outcome.ticket_id is not None
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.deleted_at is None
    assert auto_replies() == []
    assert not AutoReplyLog.objects.exists()
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.AUTO_REPLY).exists()
    assert not ticket.messages.filter(direction=Message.Direction.OUT).exists()


# ---------------------------------------------------------------------------------------
# Blocked senders


def block(pattern: str, action: str = BlockedSender.Action.TRASH) -> BlockedSender:
    blocked = BlockedSender(pattern=pattern, action=action)
    blocked.full_clean()
    blocked.save()
    return blocked


@pytest.mark.parametrize(
    ("pattern", "sender"),
    [
        ("spam@bad.example", "Spammer <Spam@Bad.Example>"),
        ("bad.example", "anyone@bad.example"),
        ("bad.example", "deep@mx1.mail.bad.example"),
        ("@Bad.Example", "x@BAD.example"),
    ],
)
def test_blocked_sender_with_trash_opens_a_ticket_in_the_trash(
    support: Ticketbox, caplog: pytest.LogCaptureFixture, pattern: str, sender: str
) -> None:
    caplog.set_level(logging.INFO, logger="mailflow.routing")
    blocked = block(pattern)
    inbound = store(mail(sender=sender))
    outcome = route_inbound(inbound.pk)
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.deleted_at is not None
    assert Ticket.objects.active().count() == 0
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.DELETED).exists()
    assert auto_replies() == []
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.ROUTED
    blocked.refresh_from_db()
    assert blocked.hit_count == 1 and blocked.last_hit_at is not None
    records = [r for r in caplog.records if r.name == "mailflow.routing" and "trash" in r.message]
    assert len(records) == 1
    assert records[0].alert == "blocked_sender"
    assert blocked.pattern in records[0].getMessage()


def test_blocked_sender_with_discard_opens_no_ticket(
    support: Ticketbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mailflow.routing")
    blocked = block("bad.example", BlockedSender.Action.DISCARD)
    inbound = store(mail(sender="spam@news.bad.example"))
    outcome = route_inbound(inbound.pk)
    assert outcome.ticket_id is None and outcome.message_id is None and not outcome.new_ticket
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0
    assert auto_replies() == []
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.DISCARDED
    assert "blocked" in inbound.error
    records = [
        r for r in caplog.records if r.name == "mailflow.routing" and "Discarded" in r.message
    ]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert records[0].inbound_id == inbound.pk
    blocked.refresh_from_db()
    assert blocked.hit_count == 1


def test_a_domain_block_spares_other_domains_ending_alike(support: Ticketbox) -> None:
    block("bad.example")
    outcome = route(mail(sender="friend@notbad.example"))
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.deleted_at is None
    assert len(auto_replies()) == 1
    assert BlockedSender.objects.get().hit_count == 0


def test_blocked_hit_count_counts_every_mail(support: Ticketbox) -> None:
    blocked = block("bad.example")
    route(mail(sender="a@bad.example", message_id="<b1@x>"))
    route_batch(
        [
            store(mail(sender="b@bad.example", message_id="<b2@x>")).pk,
            store(mail(sender="c@bad.example", message_id="<b3@x>")).pk,
        ]
    )
    blocked.refresh_from_db()
    assert blocked.hit_count == 3
    assert Ticket.objects.in_trash().count() == 3


@pytest.mark.parametrize("action", [BlockedSender.Action.TRASH, BlockedSender.Action.DISCARD])
def test_blocked_senders_reply_never_posts_onto_an_existing_ticket(
    support: Ticketbox, action: str
) -> None:
    first = route(mail())
    ticket = Ticket.objects.get(pk=first.ticket_id)
    block("carla@example.net", action)
    reply = route(
        mail(
            subject=f"Re: Broken widget [#TB-{ticket.number}]",
            message_id="<m2@example.net>",
            extra="In-Reply-To: <m1@example.net>\r\nReferences: <m1@example.net>\r\n",
        )
    )
    assert reply.ticket_id != ticket.pk
    assert ticket.messages.filter(direction=Message.Direction.IN).count() == 1
    assert not TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.MESSAGE_IN).exists()
    if action == BlockedSender.Action.TRASH:
        assert Ticket.objects.get(pk=reply.ticket_id).deleted_at is not None
    else:
        assert reply.ticket_id is None and Ticket.objects.count() == 1


@pytest.mark.parametrize(
    "pattern",
    ["", "   ", "not an address", "localhost", "foo@", "@", "a@b@c.example", "*.example.com"],
)
def test_blocked_sender_refuses_junk_patterns(pattern: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BlockedSender(pattern=pattern).full_clean()
    assert "pattern" in caught.value.message_dict


@pytest.mark.parametrize(
    ("pattern", "normal"),
    [
        ("@Example.COM", "example.com"),
        ("  Example.com. ", "example.com"),
        (" Spam@Example.COM ", "spam@example.com"),
    ],
)
def test_blocked_sender_pattern_is_normalised(pattern: str, normal: str) -> None:
    blocked = BlockedSender(pattern=pattern)
    blocked.full_clean()
    assert blocked.pattern == normal


# ---------------------------------------------------------------------------------------
# When we never auto-reply

DSN = (
    "From: Mail Delivery System <mx@relay.example>\r\nTo: {to}\r\n"
    "Subject: Delivery report\r\nMessage-ID: <dsn1@relay.example>\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
    "--R\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n"
    "--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n"
    "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    "--R--\r\n"
)

REFUSED: dict[str, dict[str, str]] = {
    "auto_submitted_auto_replied": {"extra": "Auto-Submitted: auto-replied\r\n"},
    "auto_submitted_auto_generated": {"extra": "Auto-Submitted: auto-generated\r\n"},
    "precedence_bulk": {"extra": "Precedence: bulk\r\n"},
    "precedence_junk": {"extra": "Precedence: junk\r\n"},
    "x_autoreply": {"extra": "X-Autoreply: yes\r\n"},
    "x_autorespond": {"extra": "X-Autorespond: Out of office\r\n"},
    "out_of_office_subject": {"subject": "Automatic reply: Broken widget"},
    "mailer_daemon_bounce": {
        "sender": "Mail Delivery System <MAILER-DAEMON@relay.example>",
        "subject": "Undelivered Mail Returned to Sender",
    },
    "null_return_path": {"extra": "Return-Path: <>\r\n"},
    "list_id": {"extra": "List-Id: Widget users <users.lists.example>\r\n"},
    "list_unsubscribe": {"extra": "List-Unsubscribe: <mailto:leave@lists.example>\r\n"},
    "our_ticketbox_address": {"sender": f"Support <{SUPPORT}>"},
    "our_ticketbox_from_address": {"sender": "Sales <Sales@Desk.Example>"},
    "our_default_from": {"sender": DEFAULT_FROM.upper()},
    "our_loop_header": {"extra": "{loop}"},
    "noreply_sender": {"sender": "Shop <noreply@shop.example>"},
    "no_reply_sender": {"sender": "no-reply+orders@shop.example"},
    "donotreply_sender": {"sender": "DoNotReply@shop.example"},
    "noreply_reply_to": {"extra": "Reply-To: no-reply@shop.example\r\n"},
    "reply_to_our_address": {"extra": f"Reply-To: {SUPPORT}\r\n"},
    "from_us_reply_to_a_customer": {
        "sender": f"Support <{SUPPORT}>",
        "extra": "Reply-To: carla@example.net\r\n",
    },
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_no_auto_reply_to_machines_lists_and_ourselves(support: Ticketbox, case: str) -> None:
    make_ticketbox("Sales", from_address="sales@desk.example")
    fields = dict(REFUSED[case])
    if fields.get("extra") == "{loop}":
        fields["extra"] = f"{LOOP_HEADER}: {loop_token()}\r\n"
    outcome = route(mail(**fields))
    assert Ticket.objects.get(pk=outcome.ticket_id).ticketbox == support
    assert_no_auto_reply(outcome)


def test_no_auto_reply_to_a_delivery_status_report(support: Ticketbox) -> None:
    outcome = route(DSN.format(to=SUPPORT).encode())
    assert_no_auto_reply(outcome)


CONTROLS: dict[str, dict[str, str]] = {
    "plain": {},
    "auto_submitted_no": {"extra": "Auto-Submitted: no\r\n"},
    "exchange_suppress_on_human_mail": {"extra": "X-Auto-Response-Suppress: All\r\n"},
    "another_installations_loop_token": {"extra": f"{LOOP_HEADER}: 0123456789abcdef01234567\r\n"},
    "precedence_first_class": {"extra": "Precedence: first-class\r\n"},
}


@pytest.mark.parametrize("case", list(CONTROLS))
def test_ordinary_mail_gets_one_auto_reply(support: Ticketbox, case: str) -> None:
    outcome = route(mail(**CONTROLS[case]))
    [reply] = auto_replies()
    assert reply.recipients == ["carla@example.net"]
    assert reply.ticket_id == outcome.ticket_id
    assert reply.envelope_from == return_path_for(reply.pk, SUPPORT)
    assert TicketEvent.objects.filter(
        ticket_id=outcome.ticket_id, kind=TicketEvent.Kind.AUTO_REPLY
    ).exists()


def test_rule_auto_reply_is_sent_and_is_loop_safe_too() -> None:
    ack = StandardResponse.objects.create(title="Ack", body="Thanks.")
    rule = RoutingRule.objects.create(name="Acknowledge", auto_reply=ack)
    RuleCondition.objects.create(rule=rule, field="subject", operator="contains", value="widget")
    route(mail())
    route(mail(sender="list@lists.example", message_id="<l1@x>", extra="Precedence: list\r\n"))
    [reply] = auto_replies()
    assert reply.recipients == ["carla@example.net"]
    # Unassigned has no From address of its own
    assert reply.envelope_from == return_path_for(reply.pk, DEFAULT_FROM)
    assert Ticket.objects.count() == 2


def test_no_auto_reply_for_a_ticket_trashed_by_a_rule(support: Ticketbox) -> None:
    rule = RoutingRule.objects.create(name="Spam", delete_action=RoutingRule.Delete.TRASH)
    RuleCondition.objects.create(rule=rule, field="subject", operator="contains", value="viagra")
    outcome = route(mail(subject="cheap viagra"))
    assert Ticket.objects.get(pk=outcome.ticket_id).deleted_at is not None
    assert auto_replies() == []


# ---------------------------------------------------------------------------------------
# The per-sender window


def test_one_auto_reply_per_sender_per_window(support: Ticketbox, settings: Any) -> None:
    route(mail(message_id="<w1@x>"))
    route(mail(subject="Another matter", message_id="<w2@x>"))
    assert Ticket.objects.count() == 2
    assert len(auto_replies()) == 1
    log = AutoReplyLog.objects.get()
    assert log.address == "carla@example.net" and log.count == 1

    window = settings.MAILFLOW["AUTO_REPLY_WINDOW_MINUTES"]
    AutoReplyLog.objects.update(last_sent_at=timezone.now() - timedelta(minutes=window - 1))
    route(mail(subject="Third matter", message_id="<w3@x>"))
    assert len(auto_replies()) == 1

    AutoReplyLog.objects.update(last_sent_at=timezone.now() - timedelta(minutes=window + 1))
    route(mail(sender="CARLA@Example.NET", subject="Fourth matter", message_id="<w4@x>"))
    assert len(auto_replies()) == 2
    assert AutoReplyLog.objects.get().count == 2
    assert Ticket.objects.count() == 4


def test_same_sender_twice_in_one_batch_gets_one_auto_reply(support: Ticketbox) -> None:
    ids = [
        store(mail(message_id="<b1@x>")).pk,
        store(mail(sender="carla@EXAMPLE.net", subject="Also", message_id="<b2@x>")).pk,
        store(mail(sender="dan@example.net", subject="Mine", message_id="<b3@x>")).pk,
    ]
    outcomes = route_batch(ids)
    assert all(o.new_ticket for o in outcomes)
    assert sorted(r.recipients[0].lower() for r in auto_replies()) == [
        "carla@example.net",
        "dan@example.net",
    ]


def test_auto_reply_goes_to_the_reply_to_address(support: Ticketbox) -> None:
    outcome = route(mail(extra="Reply-To: Carla at home <Carla@Home.example>\r\n"))
    [reply] = auto_replies()
    assert reply.recipients == ["Carla@Home.example"]
    parsed = spooled(reply)
    assert parseaddr(str(parsed["To"]))[1] == "Carla@Home.example"
    assert parsed["In-Reply-To"] == "<m1@example.net>"
    assert AutoReplyLog.objects.get().address == "carla@home.example"
    out = Message.objects.get(ticket_id=outcome.ticket_id, direction=Message.Direction.OUT)
    assert out.to == [{"name": "", "address": "Carla@Home.example"}]


# ---------------------------------------------------------------------------------------
# Two help desks answering each other

PEER = "desk@peer.example"


def peer_answer(ours: OutboundMessage, n: int, *, how: str, polite: bool = False) -> bytes:
    """What a peer help desk sends back to one of our mails: from the address we wrote to,
    to the address we wrote from; naive (no Auto-Submitted) unless ``polite``."""
    sent = spooled(ours)
    our_id = str(sent["Message-ID"])
    extra = "Auto-Submitted: auto-replied\r\n" if polite else ""
    subject = f"[PEER-{n}] We received your request"
    if how == "in_reply_to":
        extra += f"In-Reply-To: {our_id}\r\nReferences: {our_id}\r\n"
    elif how == "tag_kept":
        subject = f"[PEER-{n}] Re: {sent['Subject']}"
    return mail(
        sender=f"Peer Desk <{ours.recipients[0]}>",
        to=parseaddr(str(sent["From"]))[1],
        subject=subject,
        message_id=f"<peer-{n}@peer.example>",
        extra=extra,
        body=f"Thank you for contacting Peer. Your reference is PEER-{n}.",
    )


@pytest.mark.parametrize("how", ["new_thread", "in_reply_to", "tag_kept"])
def test_naive_peer_help_desk_gets_one_auto_reply_in_all(support: Ticketbox, how: str) -> None:
    route(
        mail(sender=f"Peer Desk <{PEER}>", subject="Order 77", message_id="<peer-0@peer.example>")
    )
    rounds = 5
    for n in range(1, rounds + 1):
        latest = auto_replies()[-1]  # the peer answers the newest mail we sent it
        route(peer_answer(latest, n, how=how))
    assert len(auto_replies()) == 1
    assert InboundMessage.objects.filter(state=InboundMessage.State.ROUTED).count() == rounds + 1
    tickets = Ticket.objects.count()
    assert tickets == (rounds + 1 if how == "new_thread" else 1)
    # All of it came back into the auto-replying ticketbox: only the loop guards held.
    assert set(Ticket.objects.values_list("ticketbox", flat=True)) == {support.pk}


@pytest.mark.parametrize("how", ["new_thread", "in_reply_to"])
def test_polite_peer_auto_replies_get_no_answer(support: Ticketbox, how: str) -> None:
    route(
        mail(sender=f"Peer Desk <{PEER}>", subject="Order 77", message_id="<peer-0@peer.example>")
    )
    [ours] = auto_replies()
    for n in range(1, 4):
        AutoReplyLog.objects.all().delete()  # the window is not what protects us here
        route(peer_answer(ours, n, how=how, polite=True))
    assert auto_replies() == [ours]
    # Answers naming our auto-reply are recorded on it (routing.bounces), the rest routed.
    handled = [InboundMessage.State.ROUTED, InboundMessage.State.BOUNCE]
    assert InboundMessage.objects.filter(state__in=handled).count() == 4
    recorded = InboundMessage.objects.filter(state=InboundMessage.State.BOUNCE).count()
    assert recorded == (3 if how == "in_reply_to" else 0)
    assert set(Ticket.objects.values_list("ticketbox", flat=True)) == {support.pk}


def test_an_auto_reply_to_our_auto_reply_gets_none(support: Ticketbox) -> None:
    first = route(mail())
    [ours] = auto_replies()
    AutoReplyLog.objects.all().delete()
    sent = spooled(ours)
    out_of_office = mail(
        subject=f"Automatic reply: {sent['Subject']}",
        message_id="<ooo@example.net>",
        extra="Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n",
        body="I am out of the office until Monday.",
    )
    outcome = route(out_of_office)
    # Our tag survived in its subject: it threads onto the ticket, and nothing is sent.
    assert outcome.ticket_id == first.ticket_id and not outcome.new_ticket
    assert auto_replies() == [ours]
    # Even when it starts a thread of its own, it gets no answer.
    route(
        mail(
            subject="Out of office",
            message_id="<ooo2@example.net>",
            extra="Auto-Submitted: auto-replied\r\n",
        )
    )
    assert auto_replies() == [ours]
    assert Ticket.objects.count() == 2


def test_our_own_auto_reply_coming_back_gets_no_answer(support: Ticketbox) -> None:
    """A mailbox that forwards everything back to us: our auto-reply arrives as new mail."""
    route(mail())
    [ours] = auto_replies()
    AutoReplyLog.objects.all().delete()
    with open(ours.raw.path, "rb") as handle:
        raw = handle.read()
    # Forwarded by a relay that rewrote the Message-ID, dropped the threading headers and
    # the ticket tag: nothing threads it, it opens a new ticket in the same ticketbox.
    raw = raw.replace(b"Message-ID: ", b"X-Old-Message-ID: ", 1).replace(
        b"In-Reply-To: ", b"X-Old-In-Reply-To: ", 1
    )
    raw = raw.replace(b"References: ", b"X-Old-References: ", 1)
    raw = raw.replace(f" [#TB-{Ticket.objects.get().number}]".encode(), b"")
    raw = b"Delivered-To: support@example.com\r\nMessage-ID: <bounced-back@relay.example>\r\n" + raw
    outcome = route(raw)
    assert outcome.new_ticket
    assert Ticket.objects.get(pk=outcome.ticket_id).ticketbox == support
    assert auto_replies() == [ours]


# ---------------------------------------------------------------------------------------
# Headers of our automatic mail


def test_auto_reply_headers(support: Ticketbox) -> None:
    outcome = route(mail())
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    [reply] = auto_replies()
    sent = spooled(reply)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["X-Auto-Response-Suppress"]
    assert sent[LOOP_HEADER] == loop_token()
    assert ticket_number_in_message_id(str(sent["Message-ID"])) == ticket.number
    assert str(sent["Message-ID"]) == reply.message_id
    assert str(sent["Message-ID"]).endswith("@desk.example>")
    assert parseaddr(str(sent["From"]))[1] == SUPPORT
    assert sent["In-Reply-To"] == "<m1@example.net>"
    assert "<m1@example.net>" in str(sent["References"])
    assert str(sent["Subject"]) == f"Re: Broken widget [#TB-{ticket.number}]"
    body = sent.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"Hello Carla Customer, we got ticket {ticket.number}." in body.get_content()
    message = Message.objects.get(ticket=ticket, direction=Message.Direction.OUT)
    assert message.message_id == reply.message_id
    assert reply.ticket_message_id == message.pk


def test_forwarded_copy_carries_the_automatic_headers_too() -> None:
    rule = RoutingRule.objects.create(name="Copy to boss", forward_to="boss@example.org")
    RuleCondition.objects.create(rule=rule, field="subject", operator="contains", value="widget")
    outcome = route(mail())
    forward = OutboundMessage.objects.get(kind=OutboundMessage.Kind.FORWARD)
    sent = spooled(forward)
    assert forward.recipients == ["boss@example.org"]
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent[LOOP_HEADER] == loop_token()
    number = Ticket.objects.get(pk=outcome.ticket_id).number
    assert ticket_number_in_message_id(str(sent["Message-ID"])) == number


def test_mail_carrying_our_loop_header_is_not_forwarded_again() -> None:
    rule = RoutingRule.objects.create(name="Copy to boss", forward_to="boss@example.org")
    RuleCondition.objects.create(rule=rule, field="subject", operator="contains", value="widget")
    route(mail(extra=f"{LOOP_HEADER}: {loop_token()}\r\n"))
    assert not OutboundMessage.objects.exists()
    assert Ticket.objects.count() == 1


# ---------------------------------------------------------------------------------------
# The window's ledger


WINDOW = timedelta(minutes=60)
T0 = datetime(2026, 11, 24, 9, 0, 0, 123456, tzinfo=UTC)


def test_claim_auto_reply_slots_once_per_window() -> None:
    assert claim_auto_reply_slots(["Carla@Example.NET"], now=T0, window=WINDOW) == {
        "carla@example.net"
    }
    assert claim_auto_reply_slots(["carla@example.net"], now=T0, window=WINDOW) == set()
    later = T0 + WINDOW - timedelta(seconds=1)
    assert claim_auto_reply_slots(["carla@example.net"], now=later, window=WINDOW) == set()
    after = T0 + WINDOW + timedelta(seconds=1)
    assert claim_auto_reply_slots(["CARLA@example.net"], now=after, window=WINDOW) == {
        "carla@example.net"
    }
    log = AutoReplyLog.objects.get()
    assert log.count == 2
    assert log.last_sent_at == after
    # Within the window of the second claim again.
    soon = after + timedelta(minutes=5)
    assert claim_auto_reply_slots(["carla@example.net"], now=soon, window=WINDOW) == set()
    assert AutoReplyLog.objects.get().last_sent_at == after


def test_claim_auto_reply_slots_many_addresses_at_once() -> None:
    assert claim_auto_reply_slots(["a@x.example"], now=T0, window=WINDOW) == {"a@x.example"}
    claimed = claim_auto_reply_slots(
        ["A@x.example", "b@x.example", "B@X.example", "", "c@x.example"],
        now=T0 + timedelta(minutes=1),
        window=WINDOW,
    )
    assert claimed == {"b@x.example", "c@x.example"}
    assert claim_auto_reply_slots([], now=T0, window=WINDOW) == set()
    assert dict(AutoReplyLog.objects.values_list("address", "count")) == {
        "a@x.example": 1,
        "b@x.example": 1,
        "c@x.example": 1,
    }


def test_claim_auto_reply_slots_agrees_with_the_orm_and_other_time_zones() -> None:
    """The ledger written by the raw upsert reads back right through the ORM, and a claim
    made with a non-UTC aware time means the same instant as its UTC equivalent."""
    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))
    assert claim_auto_reply_slots(["a@x.example"], now=berlin, window=WINDOW) == {"a@x.example"}
    assert AutoReplyLog.objects.get().last_sent_at == T0
    assert AutoReplyLog.objects.filter(last_sent_at__gt=T0 - timedelta(minutes=1)).exists()
    assert not AutoReplyLog.objects.filter(last_sent_at__gt=T0 + timedelta(minutes=1)).exists()
    # Thirty minutes later, asked in UTC: still inside the window.
    assert claim_auto_reply_slots(["a@x.example"], now=T0 + WINDOW / 2, window=WINDOW) == set()
    # And asked in New York time, ninety minutes later: outside it.
    new_york = (T0 + WINDOW * 1.5).astimezone(ZoneInfo("America/New_York"))
    assert claim_auto_reply_slots(["a@x.example"], now=new_york, window=WINDOW) == {"a@x.example"}


def test_claim_after_the_window_set_back_through_the_orm() -> None:
    claim_auto_reply_slots(["a@x.example"], now=T0, window=WINDOW)
    AutoReplyLog.objects.update(last_sent_at=T0 - timedelta(hours=5))
    assert claim_auto_reply_slots(["a@x.example"], now=T0, window=WINDOW) == {"a@x.example"}
    AutoReplyLog.objects.update(last_sent_at=T0 - timedelta(minutes=10))
    assert claim_auto_reply_slots(["a@x.example"], now=T0, window=WINDOW) == set()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("earlier", [False, True], ids=["new_sender", "known_sender"])
def test_racing_workers_claim_one_slot_between_them(earlier: bool) -> None:
    """Two workers routing mail of the same sender at the same moment, each in its own
    transaction held open a little after claiming: one of them gets the slot."""
    if earlier:
        claim_auto_reply_slots(["race@example.net"], now=T0 - timedelta(days=1), window=WINDOW)
    workers = 4
    start = threading.Barrier(workers)
    claimed: list[set[str]] = []
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            start.wait()
            with transaction.atomic():
                claimed.append(claim_auto_reply_slots(["Race@example.net"], now=T0, window=WINDOW))
                time.sleep(0.2)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(claimed, key=len) == [set()] * (workers - 1) + [{"race@example.net"}]
    log = AutoReplyLog.objects.get()
    assert log.last_sent_at == T0
    assert log.count == (2 if earlier else 1)
