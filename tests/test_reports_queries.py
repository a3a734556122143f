"""Every report on a small help desk whose answers were worked out by hand.

The desk (``seed_desk``): Support and Sales, which the supervisor may read, and Legal,
which they may not; March 2025, the first week; "now" is 6 March, 12:00 UTC. The same
figures must come out of PostgreSQL and SQLite (run the suite on both).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission

from alerts.models import Alert, AlertKind
from conduit.outbound import OutboundMessage
from contacts.models import Contact
from reports.registry import REPORTS
from reports.table import Filters
from tests.factories import make_agent, make_ticketbox
from tickets.models import Message, Ticket, TicketboxAccess, TicketEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 6, 12, 0, tzinfo=UTC)
EVIL = '=HYPERLINK("http://evil.example/x","click")'


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Desk:
    supervisor: Any
    admin: Any
    ann: Any
    bob: Any
    agent: Any  # Support only, no report permission
    sales_supervisor: Any
    boxes: dict[str, Any]
    tickets: dict[str, Ticket]


def grant_reports(agent: Any) -> None:
    group, _ = Group.objects.get_or_create(name="Supervisors")
    group.permissions.add(Permission.objects.get(codename="view_reports"))
    agent.groups.add(group)


def _ticket(number: int, box: Any, created: datetime, **fields: Any) -> Ticket:
    return Ticket.objects.create(number=number, ticketbox=box, created_at=created, **fields)


def _mail(ticket: Ticket, direction: str, when: datetime) -> None:
    Message.objects.create(ticket=ticket, direction=direction, date=when, subject=ticket.subject)


def _outbound(
    ticket: Ticket | None, created: datetime, state: str, kind: str = "reply", **fields: Any
) -> None:
    out = OutboundMessage.objects.create(
        kind=kind,
        ticket=ticket,
        message_id=f"<o{created.timestamp()}@example.com>",
        envelope_from="support@example.com",
        recipients=["c@example.net"],
        raw="spool/x.eml",
        state=state,
        **fields,
    )
    OutboundMessage.objects.filter(pk=out.pk).update(created_at=created)


def _escalated(ticket: Ticket, when: datetime) -> None:
    event = TicketEvent.objects.create(ticket=ticket, kind=TicketEvent.Kind.ESCALATED)
    TicketEvent.objects.filter(pk=event.pk).update(created_at=when)


def seed_desk() -> Desk:
    support, sales, legal = (make_ticketbox(n) for n in ("Support", "Sales", "Legal"))
    supervisor = make_agent("sue", first_name="Sue", last_name="Visor")
    ann = make_agent("ann", first_name="Ann", last_name="Agent")
    bob = make_agent("bob", first_name="Bob", last_name="Builder")
    agent = make_agent("leo", first_name="Leo", last_name="Lookout")
    sales_supervisor = make_agent("sam", first_name="Sam", last_name="Sales")
    admin = make_agent("root", is_superuser=True, is_staff=True)
    for box in (support, sales):
        TicketboxAccess.objects.create(ticketbox=box, agent=supervisor, level=1)
    TicketboxAccess.objects.create(ticketbox=support, agent=agent, level=2)
    TicketboxAccess.objects.create(ticketbox=sales, agent=sales_supervisor, level=1)
    grant_reports(supervisor)
    grant_reports(sales_supervisor)
    carol, dan = Contact.objects.create(name="Carol Customer"), Contact.objects.create(name="Dan")
    evil = Contact.objects.create(name=EVIL)
    t = {}
    t["t1"] = _ticket(
        1001,
        support,
        at(1, 9),
        owner=ann,
        contact=carol,
        status="closed",
        first_response_at=at(1, 10),
        closed_at=at(2, 9),
        subject="Where is my order?",
    )
    t["t2"] = _ticket(
        1002,
        support,
        at(1, 12),
        owner=ann,
        contact=dan,
        status="closed",
        priority=3,
        first_response_at=at(1, 15),
        closed_at=at(3, 12),
        subject="-1 refund",
    )
    t["t3"] = _ticket(
        1003,
        support,
        at(2, 8),
        owner=bob,
        contact=carol,
        status="open",
        priority=4,
        first_response_at=at(2, 14),
        awaiting_reply_since=at(3, 9),
        subject="Broken",
    )
    t["t4"] = _ticket(
        1004,
        support,
        at(3, 10),
        contact=evil,
        status="open",
        awaiting_reply_since=at(3, 10),
        subject=EVIL,
    )
    t["t5"] = _ticket(
        1005,
        sales,
        at(2, 10),
        owner=bob,
        contact=dan,
        status="closed",
        priority=1,
        first_response_at=at(2, 20),
        closed_at=at(5, 10),
        subject="+49 call me",
    )
    t["t6"] = _ticket(
        1006,
        sales,
        at(5, 9),
        owner=ann,
        contact=carol,
        status="waiting",
        first_response_at=at(5, 9, 30),
        subject="@team quote",
    )
    t["t7"] = _ticket(
        1007,
        legal,
        at(2, 11),
        owner=bob,
        contact=dan,
        status="closed",
        first_response_at=at(2, 12),
        closed_at=at(2, 13),
        subject="Contract",
    )
    t["t8"] = _ticket(
        1008,
        support,
        at(4, 9),
        contact=dan,
        status="open",
        deleted_at=at(4, 10),
        subject="Spam",
    )
    t["t9"] = _ticket(
        1009,
        support,
        at(27, 10, month=2),
        owner=ann,
        contact=carol,
        status="closed",
        first_response_at=at(27, 11, month=2),
        closed_at=at(1, 11),
        subject="Old one",
    )
    mails = {
        "t1": [("in", at(1, 9)), ("out", at(1, 10)), ("in", at(2, 8))],
        "t2": [("in", at(1, 12)), ("out", at(1, 15))],
        "t3": [("in", at(2, 8)), ("out", at(2, 14)), ("in", at(3, 9))],
        "t4": [("in", at(3, 10))],
        "t5": [("in", at(2, 10)), ("out", at(2, 20))],
        "t6": [("in", at(5, 9)), ("out", at(5, 9, 30))],
        "t7": [("in", at(2, 11)), ("out", at(2, 12))],
        "t8": [("in", at(4, 9))],
        "t9": [("in", at(27, 10, month=2)), ("out", at(27, 11, month=2)), ("in", at(1, 10, 30))],
    }
    for key, messages in mails.items():
        for direction, when in messages:
            _mail(t[key], direction, when)
    _outbound(t["t1"], at(1, 10), "sent", sent_at=at(1, 10, 1))
    _outbound(t["t2"], at(1, 15), "sent", sent_at=at(1, 15, 1))
    _outbound(t["t3"], at(2, 14), "deferred")
    _outbound(t["t5"], at(2, 20), "bounced", bounce_category="user_unknown", bounce_hard=True)
    _outbound(t["t6"], at(5, 9, 30), "failed")
    _outbound(t["t6"], at(5, 10), "bounced", bounce_category="mailbox_full", bounce_hard=False)
    _outbound(t["t7"], at(2, 12), "bounced", bounce_category="user_unknown", bounce_hard=True)
    _outbound(None, at(3, 8), "sent", kind="notification")
    _escalated(t["t3"], at(3, 9))
    _escalated(t["t4"], at(4, 10))
    _escalated(t["t7"], at(2, 13))
    alerts = [
        (AlertKind.ESCALATION, t["t3"], None, at(3, 9)),
        (AlertKind.WATERMARK_HIGH, None, support, at(4, 8)),
        (AlertKind.LOW_DISK, None, None, at(4, 9)),
        (AlertKind.ESCALATION, t["t7"], None, at(2, 13)),
        (AlertKind.WATERMARK_HIGH, None, legal, at(5, 8)),
    ]
    for kind, ticket, box, when in alerts:
        Alert.objects.create(
            kind=kind, title=str(kind), ticket=ticket, ticketbox=box, created_at=when
        )
    return Desk(
        supervisor,
        admin,
        ann,
        bob,
        agent,
        sales_supervisor,
        {"Support": support, "Sales": sales, "Legal": legal},
        t,
    )


def week(**changes: Any) -> Filters:
    values: dict[str, Any] = {
        "date_from": date(2025, 3, 1),
        "date_to": date(2025, 3, 7),
        "now": NOW,
    }
    return Filters(**(values | changes))


def rows(name: str, agent: Any, filters: Filters | None = None, **full: Any) -> list[tuple]:
    return list(REPORTS[name].run(agent, filters or week(), **full).rows)


def d(day: int) -> date:
    return date(2025, 3, day)


def hms(hours: int, minutes: int = 0) -> timedelta:
    return timedelta(hours=hours, minutes=minutes)


# --- trends --------------------------------------------------------------------------


def test_message_trend_counts_mail_in_and_out_per_day_of_visible_tickets() -> None:
    desk = seed_desk()
    assert rows("message_trend", desk.supervisor) == [
        (d(1), 3, 2), (d(2), 3, 2), (d(3), 2, 0), (d(4), 0, 0),
        (d(5), 1, 1), (d(6), 0, 0), (d(7), 0, 0),
    ]  # fmt: skip
    admin = rows("message_trend", desk.admin)
    assert admin[1] == (d(2), 4, 3)  # Legal's ticket too; never the trashed one
    assert sum(r[1] for r in admin) == 10 and sum(r[2] for r in admin) == 6


def test_message_trend_by_week_starts_weeks_on_monday() -> None:
    desk = seed_desk()
    found = rows("message_trend", desk.supervisor, week(grouping="week"))
    assert found == [(date(2025, 2, 24), 6, 4), (d(3), 3, 1)]


def test_message_trend_narrowed_to_a_ticketbox_and_an_owner() -> None:
    desk = seed_desk()
    sales = rows("message_trend", desk.supervisor, week(ticketbox=desk.boxes["Sales"].pk))
    assert [r for r in sales if r[1] or r[2]] == [(d(2), 1, 1), (d(5), 1, 1)]
    bob = rows("message_trend", desk.supervisor, week(agent=desk.bob.pk))
    assert [r for r in bob if r[1] or r[2]] == [(d(2), 2, 2), (d(3), 1, 0)]


def test_messages_per_ticket_by_day_and_by_month() -> None:
    desk = seed_desk()
    daily = [r for r in rows("messages_per_ticket", desk.supervisor) if r[1]]
    assert daily == [(d(1), 2, 5, 2.5), (d(2), 2, 5, 2.5), (d(3), 1, 1, 1.0), (d(5), 1, 2, 2.0)]
    monthly = rows("messages_per_ticket", desk.supervisor, week(grouping="month"))
    assert monthly == [(d(1), 6, 13, 2.17)]
    yearly = rows("messages_per_ticket", desk.admin, week(grouping="year"))
    assert yearly == [(date(2025, 1, 1), 7, 15, 2.14)]


def test_escalations_and_alerts_per_day_within_the_agents_rights() -> None:
    desk = seed_desk()
    shown = [r for r in rows("escalations", desk.supervisor) if r[1] or r[2]]
    assert shown == [(d(3), 1, 1), (d(4), 1, 1)]
    admin = [r for r in rows("escalations", desk.admin) if r[1] or r[2]]
    assert admin == [(d(2), 1, 1), (d(3), 1, 1), (d(4), 1, 2), (d(5), 0, 1)]


# --- history -------------------------------------------------------------------------


def test_history_by_ticketbox() -> None:
    desk = seed_desk()
    assert rows("history_ticketbox", desk.supervisor) == [
        ("Support", 7, 3, 4, 3),
        ("Sales", 2, 2, 2, 1),
    ]


def test_history_by_agent() -> None:
    desk = seed_desk()
    assert rows("history_agent", desk.supervisor) == [
        ("Ann Agent", 5, 3, 3, 3),
        ("Bob Builder", 3, 2, 2, 1),
        ("Nobody", 1, 0, 1, 0),
    ]


def test_history_by_contact_busiest_first_and_cut_on_screen() -> None:
    desk = seed_desk()
    assert rows("history_contact", desk.supervisor, full=True) == [
        ("Carol Customer", 6, 3, 3, 2),
        ("Dan", 2, 2, 2, 2),
        (EVIL, 1, 0, 1, 0),
    ]
    table = REPORTS["history_contact"].build(desk.supervisor, week(), 2)
    assert [r[0] for r in table.rows] == ["Carol Customer", "Dan"]


# --- the desk now ----------------------------------------------------------------------


def test_open_tickets_by_ticketbox_owner_age_and_priority() -> None:
    desk = seed_desk()
    assert rows("open_tickets", desk.supervisor, week(by="ticketbox")) == [
        ("Sales", 1, at(5, 9)),
        ("Support", 2, at(2, 8)),
    ]
    assert rows("open_tickets", desk.supervisor, week(by="owner")) == [
        ("Ann Agent", 1, at(5, 9)),
        ("Bob Builder", 1, at(2, 8)),
        ("Nobody", 1, at(3, 10)),
    ]
    assert [r[:2] for r in rows("open_tickets", desk.supervisor, week(by="age"))] == [
        ("Under 1 day", 0), ("1–3 days", 1), ("3–7 days", 2), ("7–30 days", 0),
        ("30 days or more", 0),
    ]  # fmt: skip
    assert [r[:2] for r in rows("open_tickets", desk.supervisor, week(by="priority"))] == [
        ("Urgent", 1), ("High", 0), ("Normal", 2), ("Low", 0),
    ]  # fmt: skip


def test_unanswered_mail_older_than_the_chosen_age() -> None:
    desk = seed_desk()
    found = rows("unanswered", desk.supervisor, week(older_than_hours=24), full=True)
    assert found == [
        (1003, "Broken", "Carol Customer", "Support", "bob", at(3, 9), 75.0),
        (1004, EVIL, EVIL, "Support", "", at(3, 10), 74.0),
    ]
    assert [r[0] for r in rows("unanswered", desk.supervisor, week(older_than_hours=75))] == [1003]


# --- response times ------------------------------------------------------------------------


def test_response_times_by_agent_median_and_90th_percentile() -> None:
    desk = seed_desk()
    assert rows("response_times", desk.supervisor, week(by="agent")) == [
        ("Ann Agent", 3, 3, hms(1), hms(2, 36), 2, hms(36), hms(45, 36)),
        ("Bob Builder", 2, 2, hms(8), hms(9, 36), 1, hms(72), hms(72)),
        ("Nobody", 1, 0, None, None, 0, None, None),
    ]


def test_response_times_by_ticketbox() -> None:
    desk = seed_desk()
    assert rows("response_times", desk.supervisor, week(by="ticketbox")) == [
        ("Sales", 2, 2, hms(5, 15), hms(9, 3), 1, hms(72), hms(72)),
        ("Support", 4, 3, hms(3), hms(5, 24), 2, hms(36), hms(45, 36)),
    ]


# --- delivery --------------------------------------------------------------------------


def test_delivery_per_day_by_state() -> None:
    desk = seed_desk()
    shown = [r for r in rows("delivery", desk.supervisor) if r[1]]
    # period, queued, sent, deferred, failed, bounced
    assert shown == [(d(1), 2, 2, 0, 0, 0), (d(2), 2, 0, 1, 0, 1), (d(5), 2, 0, 0, 1, 1)]
    admin = [r for r in rows("delivery", desk.admin) if r[1]]
    assert admin[1:3] == [(d(2), 3, 0, 1, 0, 2), (d(3), 1, 1, 0, 0, 0)]


def test_bounces_by_category() -> None:
    desk = seed_desk()
    assert rows("bounces", desk.supervisor) == [("Mailbox full", 1, 0), ("No such user", 1, 1)]
    assert rows("bounces", desk.admin) == [("No such user", 2, 2), ("Mailbox full", 1, 0)]


# --- row per ticket --------------------------------------------------------------------------


def test_ticket_list_every_visible_ticket_of_the_range_oldest_first() -> None:
    desk = seed_desk()
    table = REPORTS["ticket_list"].run(desk.supervisor, week(), full=True)
    found = list(table.rows)
    assert table.total == 6
    assert [r[0] for r in found] == [1001, 1002, 1003, 1005, 1004, 1006]
    assert found[0] == (
        1001, at(1, 9), "Where is my order?", "Carol Customer", "Support", "ann", "Closed",
        "Normal", hms(1), hms(24),
    )  # fmt: skip
    assert found[4][8:] == (None, None)


# --- access ----------------------------------------------------------------------------------


def test_an_agent_never_sees_numbers_of_ticketboxes_outside_their_rights() -> None:
    desk = seed_desk()
    sam = desk.sales_supervisor
    assert rows("history_ticketbox", sam) == [("Sales", 2, 2, 2, 1)]
    assert sum(r[1] + r[2] for r in rows("message_trend", sam)) == 4
    # Asking for a ticketbox they may not read gives nothing, not its numbers.
    legal = week(ticketbox=desk.boxes["Legal"].pk)
    assert sum(r[1] + r[2] for r in rows("message_trend", desk.supervisor, legal)) == 0
    assert rows("history_ticketbox", desk.supervisor, legal) == []
    assert rows("bounces", desk.supervisor, legal) == []
    assert [r for r in rows("escalations", desk.supervisor, legal) if r[1] or r[2]] == []
    assert [r[1] for r in rows("open_tickets", sam)] == [1]
