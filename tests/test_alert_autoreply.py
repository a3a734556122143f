"""Ticketbox auto-replies: merge fields, the backlog threshold, at most one per ticket,
never to automatic mail."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from conduit.outbound import OutboundMessage
from routing import ruleset
from routing.models import AutoReplyLog
from tests.factories import make_ticket, make_ticketbox
from tests.mail import customer_mail, route_mail
from tickets.library import StandardResponse
from tickets.models import Ticket, Ticketbox, TicketboxAddress

pytestmark = pytest.mark.django_db

HELP = "help@example.com"


@pytest.fixture(autouse=True)
def _fresh_ruleset(settings: Any) -> Iterator[None]:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "desk@example.com"}
    ruleset._cached = None
    yield
    ruleset._cached = None


@pytest.fixture
def box() -> Ticketbox:
    response = StandardResponse.objects.create(
        title="Got it",
        body="Dear {{ contact.name }}, your ticket {{ ticket.number }} reached "
        "{{ ticketbox.name }}. We answer {{ ticketbox.expected_response_time }}.",
    )
    box = make_ticketbox(
        "Helpdesk",
        from_address=HELP,
        auto_reply=Ticketbox.AutoReply.ALWAYS,
        auto_reply_response=response,
        expected_response_time="within one working day",
    )
    TicketboxAddress.objects.create(ticketbox=box, address=HELP)
    return box


def auto_replies() -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind=OutboundMessage.Kind.AUTO_REPLY))


def text_of(outbound: OutboundMessage) -> str:
    with open(outbound.raw.path, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_auto_reply_fills_in_its_merge_fields(box: Ticketbox) -> None:
    outcome = route_mail(customer_mail(sender="Carla Jones <carla@example.net>", to=HELP))
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    [reply] = auto_replies()
    assert reply.recipients == ["carla@example.net"]
    assert (
        f"Dear Carla Jones, your ticket {ticket.number} reached Helpdesk. "
        "We answer within one working day." in text_of(reply)
    )


def test_a_follow_up_on_the_same_ticket_gets_no_second_auto_reply(
    box: Ticketbox, settings: Any
) -> None:
    outcome = route_mail(customer_mail(to=HELP, message_id="<first@x>"))
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    # Even once the per-sender window is over: one auto-reply per ticket.
    AutoReplyLog.objects.update(last_sent_at=ticket.created_at - timedelta(days=1))
    follow_up = route_mail(
        customer_mail(
            to=HELP, message_id="<second@x>", subject=f"Re: Broken widget [#TB-{ticket.number}]"
        )
    )
    assert follow_up.ticket_id == ticket.pk and not follow_up.new_ticket
    assert len(auto_replies()) == 1


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-replied\r\n",
        "Precedence: bulk\r\n",
        "X-Autoreply: yes\r\n",
        "Return-Path: <>\r\n",
    ],
)
def test_automatic_mail_gets_no_auto_reply(box: Ticketbox, headers: str) -> None:
    outcome = route_mail(customer_mail(to=HELP, extra=headers))
    assert outcome.new_ticket
    assert auto_replies() == []


def test_backlog_auto_replies_only_above_the_threshold(box: Ticketbox) -> None:
    box.auto_reply = Ticketbox.AutoReply.BACKLOG
    box.auto_reply_threshold = 2
    box.save()
    for _ in range(2):
        make_ticket(ticketbox=box)
    make_ticket(ticketbox=box, status=Ticket.Status.CLOSED)  # not in the backlog
    # Two open tickets wait when the first mail comes: not above the threshold of two.
    route_mail(customer_mail(sender="a@example.net", to=HELP, message_id="<b1@x>"))
    assert auto_replies() == []
    route_mail(customer_mail(sender="b@example.net", to=HELP, message_id="<b2@x>"))
    [reply] = auto_replies()
    assert reply.recipients == ["b@example.net"]
