"""The workspace in a real browser: logging in, lists, the keyboard, preferences, and the
collision notice between two agents."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import make_agent, make_ticketbox
from tests.mail import customer_mail, route_mail
from tickets.agents import AgentProfile
from tickets.models import Ticket, TicketboxAccess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _desk(n_tickets: int = 3) -> tuple[Any, list[Ticket]]:
    box = make_ticketbox("Support")
    agent = make_agent("ann", password=PASSWORD, first_name="Ann", last_name="Agent")
    TicketboxAccess.objects.create(ticketbox=box, agent=agent, level=3)
    profile = AgentProfile.objects.get(agent=agent)
    profile.shortcut_ticketboxes.add(box)
    tickets = []
    for n in range(n_tickets):
        outcome = route_mail(
            customer_mail(subject=f"Question {n}", message_id=f"<q{n}@example.net>")
        )
        ticket = Ticket.objects.get(pk=outcome.ticket_id)
        Ticket.objects.filter(pk=ticket.pk).update(ticketbox=box)
        tickets.append(ticket)
    return box, tickets


def test_log_in_open_a_ticketbox_and_a_ticket_with_the_keyboard(
    live_server: Any, page: Any
) -> None:
    box, tickets = _desk()
    page.goto(live_server.url + "/")
    assert page.url.startswith(f"{live_server.url}/login/")
    log_in(page, live_server.url, "ann")
    page.click("text=Support")
    page.wait_for_url(f"{live_server.url}/tickets/box/{box.pk}/")
    assert page.locator("tr[data-row]").count() == 3
    screenshot(page, "workspace-ticketbox")

    # Sort by number, newest first, by clicking the column header twice.
    page.click("th >> text=#")
    page.click("th >> text=#")
    numbers = page.locator("tr[data-row] td:nth-child(2)").all_inner_texts()
    assert numbers == sorted(numbers, reverse=True)

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/t/{max(t.number for t in tickets)}/")
    assert "Question" in page.inner_text("h1")

    page.keyboard.press("?")
    assert page.locator("dialog#keys").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-box"


def test_dark_theme_from_preferences(live_server: Any, page: Any) -> None:
    _desk(1)
    log_in(page, live_server.url, "ann")
    page.goto(f"{live_server.url}/preferences/")
    page.select_option("#id_theme", "dark")
    page.click("text=Save preferences")
    page.wait_for_selector("text=Preferences saved.")
    assert page.get_attribute("html", "data-theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 21, 27)"
    screenshot(page, "workspace-dark")


def test_two_agents_on_one_ticket_see_each_other(
    live_server: Any, page: Any, chromium: Any
) -> None:
    box, tickets = _desk(1)
    bob = make_agent("bob", password=PASSWORD, first_name="Bob", last_name="Other")
    TicketboxAccess.objects.create(ticketbox=box, agent=bob, level=3)
    url = f"{live_server.url}/t/{tickets[0].number}/"
    log_in(page, live_server.url, "ann")
    page.goto(url)
    other_context = chromium.new_context()
    other = other_context.new_page()
    try:
        log_in(other, live_server.url, "bob")
        other.goto(url)
        other.wait_for_selector("#presence:not([hidden])")
        assert "Ann Agent has this ticket open" in other.inner_text("#presence")
        page.reload()
        page.wait_for_selector("#presence:not([hidden])")
        assert "Bob Other has this ticket open" in page.inner_text("#presence")
        screenshot(page, "workspace-collision")
    finally:
        other_context.close()


def test_escalating_alerts_the_supervisor_who_reads_and_clears_it(
    live_server: Any, page: Any, chromium: Any
) -> None:
    box, tickets = _desk(1)
    boss = make_agent("sue", password=PASSWORD, first_name="Sue", last_name="Visor")
    TicketboxAccess.objects.create(ticketbox=box, agent=boss, level=3)
    log_in(page, live_server.url, "ann")
    page.goto(f"{live_server.url}/t/{tickets[0].number}/")
    escalate = page.locator("form[action$='/escalate']")
    page.locator("details.more", has=escalate).locator("summary").click()
    page.select_option("form[action$='/escalate'] select[name=agent]", label="Sue Visor")
    page.fill("form[action$='/escalate'] input[name=note]", "Customer threatens to leave")
    page.click("form[action$='/escalate'] button")
    assert "escalated to Sue Visor" in page.inner_text("main")

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        sue = context.new_page()
        log_in(sue, live_server.url, "sue")
        badge = sue.locator("aside.shortcuts a[href='/alerts/'] .count.unread")
        assert badge.inner_text() == "1"
        sue.click("aside.shortcuts >> text=Alerts")
        row = sue.locator("table.alerts tbody tr.unread")
        assert row.count() == 1
        assert "Customer threatens to leave" in row.inner_text()
        assert f"#{tickets[0].number} escalated to Sue Visor by Ann Agent" in row.inner_text()
        screenshot(sue, "alerts-escalation")
        sue.click("button[name=action][value=read]")
        assert sue.locator("aside.shortcuts a[href='/alerts/'] .count.unread").count() == 0
        assert "No alerts." in sue.inner_text("table.alerts")
    finally:
        context.close()
