"""After N hard bounces an address is refused, with a message the agent can act on; an
administrator resets it (or corrects the address) and mail goes out again."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conduit.outbound import OutboundMessage
from contacts.models import ContactEmail
from contacts.services import find_or_create_contact
from tests.factories import make_agent, make_ticket, make_ticketbox
from tickets.models import Ticket
from tickets.replies import ReplyError, open_outbound_ticket, refuse_bounced_addresses, send_reply

pytestmark = pytest.mark.django_db

DIAGNOSTIC = "550 5.1.1 <dana@example.org>: Recipient address rejected: User unknown"


def bounced(address: str, times: int) -> ContactEmail:
    contact = find_or_create_contact(address, name="Dana")
    email = ContactEmail.objects.get(contact=contact)
    email.hard_bounces = times
    email.last_bounce_category = "user_unknown"
    email.last_bounce_diagnostic = DIAGNOSTIC
    email.save()
    return email


def reply_to(ticket: Ticket, *addresses: str, cc: tuple[str, ...] = ()) -> Any:
    return send_reply(
        ticket,
        agent=make_agent(),
        to=[("", a) for a in addresses],
        cc=[("", a) for a in cc],
        subject="Re: Your order",
        body="Ships today.",
    )


@pytest.fixture
def ticket() -> Ticket:
    return make_ticket("Your order", ticketbox=make_ticketbox(from_address="help@desk.example"))


def test_address_at_the_limit_is_refused_with_a_clear_message(
    ticket: Ticket, settings: Any
) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "HARD_BOUNCE_LIMIT": 3}
    bounced("dana@example.org", 3)
    with pytest.raises(ReplyError) as refusal:
        reply_to(ticket, "carla@example.net", cc=("DANA@example.org",))
    assert str(refusal.value) == (
        f"Mail to dana@example.org bounced 3 times ({DIAGNOSTIC}); it will not be sent. "
        "Correct the address or reset it on the contact."
    )
    assert not OutboundMessage.objects.exists()


def test_address_below_the_limit_is_still_sent(ticket: Ticket, settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "HARD_BOUNCE_LIMIT": 3}
    bounced("dana@example.org", 2)
    reply_to(ticket, "dana@example.org")
    assert OutboundMessage.objects.count() == 1


def test_limit_zero_turns_refusal_off(ticket: Ticket, settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "HARD_BOUNCE_LIMIT": 0}
    bounced("dana@example.org", 10)
    reply_to(ticket, "dana@example.org")
    assert OutboundMessage.objects.count() == 1


def test_one_query_for_all_recipients(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "HARD_BOUNCE_LIMIT": 3}
    addresses = [f"person{n}@example.org" for n in range(20)]
    with CaptureQueriesContext(connection) as queries:
        refuse_bounced_addresses(addresses)
    assert len(queries) == 1


def test_new_outbound_ticket_to_a_bounced_address_is_refused_and_not_opened(
    settings: Any,
) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "HARD_BOUNCE_LIMIT": 1}
    bounced("dana@example.org", 1)
    with pytest.raises(ReplyError, match="bounced 1 times"):
        open_outbound_ticket(
            agent=make_agent(),
            ticketbox=make_ticketbox(from_address="help@desk.example"),
            to=[("Dana", "dana@example.org")],
            subject="Hello",
            body="A question for you.",
        )
    assert not Ticket.objects.exists()


def test_admin_action_resets_the_bounce_count(
    ticket: Ticket, admin_user: Any, settings: Any
) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "HARD_BOUNCE_LIMIT": 3}
    email = bounced("dana@example.org", 3)
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("admin:contacts_contactemail_changelist"))
    assert page.status_code == 200 and b"Reset the bounce count" in page.content
    response = client.post(
        reverse("admin:contacts_contactemail_changelist"),
        {"action": "reset_bounce_count", "_selected_action": [email.pk]},
        follow=True,
    )
    assert b"Bounce count reset on 1 address(es)." in response.content
    email.refresh_from_db()
    assert (email.hard_bounces, email.soft_bounces, email.last_bounce_diagnostic) == (0, 0, "")
    reply_to(ticket, "dana@example.org")
    assert OutboundMessage.objects.count() == 1


def test_contact_admin_action_resets_all_its_addresses(admin_user: Any) -> None:
    email = bounced("dana@example.org", 5)
    client = Client()
    client.force_login(admin_user)
    client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "reset_bounce_count", "_selected_action": [email.contact_id]},
    )
    email.refresh_from_db()
    assert email.hard_bounces == 0
