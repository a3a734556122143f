"""The Reports page's overview: the last 30 days against the 30 before, hand-counted on a
small desk, within the agent's rights, with the direction of each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from reports.overview import Figure, overview
from tests.factories import make_agent, make_ticketbox
from tests.test_reports_queries import grant_reports
from tickets.models import Message, Ticket, TicketboxAccess

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)  # recent: 2 to 31 March; before: 31 Jan to 1 March


def day(month: int, d: int, hour: int = 9) -> datetime:
    return datetime(2025, month, d, hour, tzinfo=UTC)


def desk() -> Any:
    support, legal = make_ticketbox("Support"), make_ticketbox("Legal")
    sue = make_agent("sue")
    TicketboxAccess.objects.create(ticketbox=support, agent=sue, level=1)
    grant_reports(sue)
    number = iter(range(2000, 2100))

    def ticket(
        box: Any,
        opened: datetime,
        answer_hours: int | None,
        closed: datetime | None,
        mail: list[tuple[str, datetime]],
        **more: Any,
    ) -> None:
        made = Ticket.objects.create(
            number=next(number),
            ticketbox=box,
            created_at=opened,
            subject="x",
            first_response_at=None
            if answer_hours is None
            else opened + timedelta(hours=answer_hours),
            closed_at=closed,
            status="closed" if closed else "open",
            **more,
        )
        for direction, at in mail:
            Message.objects.create(ticket=made, direction=direction, date=at)

    # The last 30 days: two opened (answered after 1 h and 3 h), one of them closed.
    ticket(support, day(3, 10), 1, day(3, 11), [("in", day(3, 10)), ("out", day(3, 10, 10))])
    ticket(
        support,
        day(3, 20),
        3,
        None,
        [("in", day(3, 20)), ("in", day(3, 29))],
        awaiting_reply_since=day(3, 29),
    )
    # The 30 days before: three opened (answered after 2 h, 4 h, never); one closed later.
    ticket(support, day(2, 10), 2, day(2, 12), [("in", day(2, 10)), ("out", day(2, 10, 11))])
    ticket(support, day(2, 15), 4, day(3, 5), [("in", day(2, 15))])
    ticket(support, day(2, 20), None, day(2, 21), [("in", day(2, 20))])
    # Older than both windows, and a ticketbox Sue may not read.
    ticket(support, day(1, 5), 1, day(1, 6), [("in", day(1, 5))])
    ticket(legal, day(3, 15), 1, None, [("in", day(3, 15)), ("in", day(3, 16))],
           awaiting_reply_since=day(3, 16))  # fmt: skip
    return sue


def figures(agent: Any) -> dict[str, Figure]:
    return {f.label: f for f in overview(agent, NOW)}


def test_the_figures_as_counted_by_hand() -> None:
    found = figures(desk())
    got = {label: (f.value, f.previous, f.change, f.better) for label, f in found.items()}
    assert got == {
        "Customer mail received": (3, 3, 0, None),
        "Replies sent": (1, 1, 0, None),
        "Tickets opened": (2, 3, -33, False),
        "Tickets closed": (2, 2, 0, None),
        "First response, median": (timedelta(hours=2), timedelta(hours=3), -33, True),
        "Open now": (1, None, None, None),
        "Waiting over 24 h": (1, None, None, None),
    }
    link = found["Tickets opened"].link
    assert link == reverse("desk:report", args=["history_ticketbox"]) + (
        "?date_from=2025-03-02&date_to=2025-03-31"
    )


def test_an_administrator_counts_every_ticketbox() -> None:
    desk()
    admin = make_agent("root", is_superuser=True, is_staff=True)
    found = figures(admin)
    assert found["Tickets opened"].value == 3
    assert found["Customer mail received"].value == 5
    assert found["Open now"].value == 2 and found["Waiting over 24 h"].value == 2


def test_change_and_its_direction() -> None:
    assert Figure("x", 150, 100).change == 50 and Figure("x", 150, 100).better is True
    assert Figure("x", 50, 100, lower_is_better=True).better is True
    assert Figure("x", 150, 100, lower_is_better=True).better is False
    assert Figure("x", 5, 0).change is None  # nothing to compare with
    assert Figure("x", None, timedelta(hours=1)).change is None


def test_the_reports_page_shows_the_overview(monkeypatch: pytest.MonkeyPatch) -> None:
    sue = desk()
    client = Client()
    client.force_login(sue)
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)  # the page on 31 March
    html = client.get(reverse("desk:reports")).content.decode()
    assert "The last 30 days, against the 30 days before" in html
    assert html.count('class="figure"') == 7
    assert "Customer mail received" in html and "Waiting over 24 h" in html
    assert 'title="The 30 days before: 3">no change</span>' in html  # mail received
    assert "▼ 33 %</span>" in html  # tickets opened, and the median first response
