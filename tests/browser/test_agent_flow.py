"""An agent's day in the real browser: Get Oldest, a reply with a standard response and a
signature, a note, moving a message, merging, the trash and back, and search."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from conduit.models import OutboundMessage
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import make_agent, make_ticketbox
from tests.mail import customer_mail, route_mail
from tickets.agents import AgentProfile, Signature
from tickets.library import StandardResponse
from tickets.models import Message, Note, Ticket, TicketboxAccess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _desk() -> list[Ticket]:
    box = make_ticketbox("Support", from_address="support@desk.example", from_name="Support")
    ann = make_agent("ann", password=PASSWORD, first_name="Ann", last_name="Agent")
    TicketboxAccess.objects.create(ticketbox=box, agent=ann, level=3)
    AgentProfile.objects.get(agent=ann).shortcut_ticketboxes.add(box)
    Signature.objects.create(
        agent=ann, name="Work", body="Ann Agent\nSupport team", is_default=True
    )
    StandardResponse.objects.create(
        title="Thanks for writing",
        shortcut="thanks",
        body="Hi {{ contact.name }}, thank you for writing about ticket {{ ticket.number }}.",
    )
    tickets = []
    for n, subject in enumerate(["Broken zipper", "Late parcel", "Wrong size"]):
        outcome = route_mail(
            customer_mail(subject=subject, message_id=f"<f{n}@example.net>", body=f"Mail {n}")
        )
        ticket = Ticket.objects.get(pk=outcome.ticket_id)
        Ticket.objects.filter(pk=ticket.pk).update(ticketbox=box)
        tickets.append(ticket)
    return tickets


def test_an_agents_day(live_server: Any, page: Any) -> None:
    zipper, parcel, size = _desk()
    base = live_server.url
    log_in(page, base, "ann")

    # Get Oldest hands over the ticket waiting longest, and makes Ann its owner.
    page.click(".shortcuts >> text=Support")
    page.click("text=Get oldest")
    page.wait_for_url(f"{base}/t/{zipper.number}/")
    zipper.refresh_from_db()
    assert zipper.owner.username == "ann"
    screenshot(page, "flow-1-get-oldest")

    # Reply with a standard response and the default signature.
    page.keyboard.press("r")
    page.wait_for_url(f"{base}/t/{zipper.number}/reply*")
    page.click("#picker summary")
    page.fill("#picker-search", "thanks")
    page.wait_for_selector("#picker-list [role=option]")
    page.keyboard.press("Enter")
    expect(page.locator("#compose-body")).to_have_value(re.compile("thank you for writing"))
    body = page.input_value("#compose-body")
    assert f"Hi Carla Customer, thank you for writing about ticket {zipper.number}." in body
    screenshot(page, "flow-2-compose")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/t/{zipper.number}/**")
    reply = OutboundMessage.objects.get(kind="reply", ticket=zipper)
    with reply.raw.open("rb") as handle:
        sent = handle.read().decode()
    assert "thank you for writing about ticket" in sent
    assert "Ann Agent\r\nSupport team" in sent
    assert page.locator(".delivery-queued").count() == 1

    # A note.
    page.fill("#note-body", "Customer is a regular; offer free returns.")
    page.click("text=Add note")
    page.wait_for_selector("text=Customer is a regular; offer free returns.")
    assert Note.objects.filter(ticket=zipper, author__username="ann").exists()

    # Move the customer's message of the zipper ticket to the parcel ticket.
    customer_message = zipper.messages.get(direction="in")
    card = page.locator(f"#m{customer_message.pk}")
    card.locator("summary", has_text="Move").click()
    card.locator("input[name=to]").fill(str(parcel.number))
    card.locator("text=Move message").click()
    page.wait_for_load_state("load")
    assert Message.objects.get(pk=customer_message.pk).ticket_id == parcel.pk
    screenshot(page, "flow-3-moved")

    # Merge the size ticket into the parcel ticket.
    page.goto(f"{base}/t/{size.number}/")
    page.click("text=More actions")
    page.fill("input[name=into]", str(parcel.number))
    page.click("button:has-text('Merge')")
    page.wait_for_load_state("load")
    size.refresh_from_db()
    assert size.in_trash and size.merged_into_id == parcel.pk
    assert parcel.messages.count() == 3

    # The parcel ticket to the trash, and back.
    page.goto(f"{base}/t/{parcel.number}/")
    page.click("text=More actions")
    page.click("text=Move to the trash")
    page.wait_for_load_state("load")
    page.click(".shortcuts >> text=Trash")
    page.click(f"a:has-text('{parcel.number}')")
    page.click("text=Restore from the trash")
    page.wait_for_load_state("load")
    parcel.refresh_from_db()
    assert not parcel.in_trash
    screenshot(page, "flow-4-restored")

    # Search finds it by a word of a message body.
    page.keyboard.press("/")
    page.keyboard.type("Mail 1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/search/*")
    assert page.locator(f"a:has-text('{parcel.number}')").count() >= 1
    screenshot(page, "flow-5-search")
