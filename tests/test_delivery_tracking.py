"""Delivery tracking: off by default; when a ticketbox turns it on, an open image and
tracked links record opens and clicks per outbound message, and links cannot be forged."""

from __future__ import annotations

import email
from email import policy
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from conduit.outbound import OutboundMessage, TrackingEvent
from tests.factories import make_agent, make_ticket, make_ticketbox
from tickets.replies import send_reply

pytestmark = pytest.mark.django_db
SITE = "https://desk.example"


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "SITE_URL": SITE}


def reply(track: bool) -> OutboundMessage:
    box = make_ticketbox("Support", from_address="help@desk.example", track_delivery=track)
    ticket = make_ticket(ticketbox=box)
    message = send_reply(
        ticket,
        agent=make_agent(),
        to=[("Carla", "carla@example.net")],
        subject="Your parcel",
        body="Track it here: https://carrier.example/parcel/42?lang=en\nAnn",
    )
    return OutboundMessage.objects.get(ticket_message=message)


def html_of(outbound: OutboundMessage) -> str:
    mail = email.message_from_bytes(outbound.raw.read(), policy=policy.default)
    return mail.get_body(("html",)).get_content()  # type: ignore[union-attr]


def tracked_link(html: str) -> str:
    start = html.index(f'href="{SITE}/c/') + len('href="')
    return html[start : html.index('"', start)].replace("&amp;", "&")


def test_off_by_default_no_token_no_image_no_rewritten_links() -> None:
    outbound = reply(track=False)
    html = html_of(outbound)
    assert outbound.tracking_token is None
    assert "<img" not in html and 'href="https://carrier.example/parcel/42?lang=en"' in html


def test_opening_and_following_a_link_are_recorded() -> None:
    outbound = reply(track=True)
    token = outbound.tracking_token
    assert token
    html = html_of(outbound)
    assert f'<img src="{SITE}/o/{token}.gif"' in html
    client = Client()  # the customer's mail client: no login
    pixel = client.get(f"/o/{token}.gif", HTTP_USER_AGENT="Thunderbird")
    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    assert "no-cache" in pixel["Cache-Control"]
    link = urlsplit(tracked_link(html))
    clicked = client.get(f"{link.path}?{link.query}")
    assert clicked.status_code == 302
    assert clicked["Location"] == "https://carrier.example/parcel/42?lang=en"
    outbound.refresh_from_db()
    assert (outbound.open_count, outbound.click_count) == (1, 1)
    assert outbound.opened_at is not None
    events = list(TrackingEvent.objects.values_list("kind", "url", "user_agent"))
    assert events == [
        ("open", "", "Thunderbird"),
        ("click", "https://carrier.example/parcel/42?lang=en", ""),
    ]


def test_forged_links_and_unknown_tokens_record_nothing_and_redirect_nowhere() -> None:
    outbound = reply(track=True)
    link = urlsplit(tracked_link(html_of(outbound)))
    signature = parse_qs(link.query)["s"][0]
    client = Client()
    evil = client.get(link.path, {"u": "https://evil.example/", "s": signature})
    assert evil.status_code == 404
    assert client.get(link.path, {"u": "javascript:alert(1)", "s": signature}).status_code == 404
    assert client.get("/o/not-a-token.gif").status_code == 200  # still an image
    outbound.refresh_from_db()
    assert (outbound.open_count, outbound.click_count) == (0, 0)
    assert not TrackingEvent.objects.exists()


def test_the_ticket_shows_opens_clicks_and_an_addresses_bounces(settings: Any) -> None:
    from contacts.models import ContactEmail
    from tickets.models import TicketboxAccess

    outbound = reply(track=True)
    ticket = outbound.ticket
    assert ticket is not None
    agent = make_agent("viewer")
    TicketboxAccess.objects.create(ticketbox=ticket.ticketbox, agent=agent, level=1)
    client = Client()
    client.force_login(agent)
    url = f"/t/{ticket.number}/"
    assert "Not opened yet" in client.get(url).content.decode()
    Client().get(f"/o/{outbound.tracking_token}.gif")
    link = urlsplit(tracked_link(html_of(outbound)))
    Client().get(f"{link.path}?{link.query}")
    page = client.get(url).content.decode()
    assert "Opened 1× (first" in page and "1 link followed" in page

    address = ContactEmail.objects.get(contact=ticket.contact)
    ContactEmail.objects.filter(pk=address.pk).update(
        hard_bounces=1, last_bounce_category="user_unknown", last_bounce_diagnostic="550 5.1.1"
    )
    page = client.get(url).content.decode()
    assert "Bounced 1×: no such user" in page and 'title="550 5.1.1"' in page
    settings.MAILFLOW = {**settings.MAILFLOW, "HARD_BOUNCE_LIMIT": 1}
    assert "Mail refused: bounced 1×" in client.get(url).content.decode()
