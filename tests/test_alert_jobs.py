"""The periodic alert checks, driven by a test clock: ticket age, watermarks, disk space,
failing mail sources. Each alert is raised once per crossing, never once per tick, and a
check costs the same number of queries for 10 tickets as for 200."""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group

from alerts.jobs import check_disk, check_sources, check_ticket_age, check_watermarks, run_all
from alerts.models import Alert, AlertKind, AlertReceipt, AlertRecipient, AlertType
from alerts.services import AlertDraft, alert_type, raise_alerts
from conduit.models import MailSource
from tests.factories import make_agent, make_ticket, make_ticketbox
from tickets.models import Ticket, Ticketbox, TicketboxAccess

pytestmark = pytest.mark.django_db

T0 = datetime.fromisoformat("2026-11-24T09:00:00+00:00")
Usage = namedtuple("Usage", "total used free")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind).order_by("id"))


def receivers(alert: Alert) -> set[str]:
    return {r.agent.username for r in alert.receipts.select_related("agent")}


@pytest.fixture
def box() -> Ticketbox:
    return make_ticketbox("Support", age_alert_minutes=60)


@pytest.fixture
def owner(box: Ticketbox) -> Any:
    agent = make_agent("olga")
    TicketboxAccess.objects.create(ticketbox=box, agent=agent)
    return agent


def waiting_ticket(box: Ticketbox, since: datetime = T0, **extra: Any) -> Ticket:
    return make_ticket(ticketbox=box, last_customer_message_at=since, created_at=since, **extra)


# ---------------------------------------------------------------------------------------
# Ticket age


def test_a_ticket_waiting_past_the_threshold_alerts_its_owner_once(box: Any, owner: Any) -> None:
    ticket = waiting_ticket(box, owner=owner)
    assert ticket.awaiting_reply_since == T0

    assert check_ticket_age(minutes(59)) == []
    [alert] = check_ticket_age(minutes(61))
    assert alert.ticket_id == ticket.pk and "waited 1 hour(s)" in alert.title
    assert receivers(alert) == {"olga"}
    assert check_ticket_age(minutes(62)) == []
    assert check_ticket_age(minutes(600)) == []
    assert len(alerts(AlertKind.TICKET_AGE)) == 1


def test_a_new_wait_after_an_answer_alerts_again(box: Any, owner: Any) -> None:
    ticket = waiting_ticket(box, owner=owner)
    check_ticket_age(minutes(61))
    # The agent answered; the customer wrote again two hours later.
    Ticket.objects.filter(pk=ticket.pk).update(awaiting_reply_since=minutes(180))
    assert check_ticket_age(minutes(200)) == []
    assert len(check_ticket_age(minutes(241))) == 1
    assert len(alerts(AlertKind.TICKET_AGE)) == 2


def test_answered_closed_and_trashed_tickets_never_age(box: Any, owner: Any) -> None:
    waiting_ticket(box, status=Ticket.Status.CLOSED)
    waiting_ticket(box, in_trash=True)
    answered = waiting_ticket(box)
    Ticket.objects.filter(pk=answered.pk).update(awaiting_reply_since=None)
    off = make_ticketbox("No threshold")
    waiting_ticket(off)
    assert check_ticket_age(minutes(120)) == []


def test_age_alerts_go_to_designated_groups_who_may_see_the_ticketbox(box: Any) -> None:
    seniors = Group.objects.create(name="Seniors")
    seeing, blind = make_agent("sam"), make_agent("bea")
    for agent in (seeing, blind):
        agent.groups.add(seniors)
    TicketboxAccess.objects.create(ticketbox=box, agent=seeing)
    AlertRecipient.objects.create(alert_type=alert_type(AlertKind.TICKET_AGE), group=seniors)
    waiting_ticket(box)
    [alert] = check_ticket_age(minutes(61))
    assert receivers(alert) == {"sam"}


def test_a_disabled_alert_type_raises_nothing(box: Any, owner: Any) -> None:
    AlertType.objects.create(kind=AlertKind.TICKET_AGE, enabled=False)
    waiting_ticket(box, owner=owner)
    assert check_ticket_age(minutes(61)) == []


def test_each_ticketbox_has_its_own_threshold(box: Any, owner: Any) -> None:
    slow = make_ticketbox("Slow", age_alert_minutes=240)
    waiting_ticket(box)
    waiting_ticket(slow)
    assert [a.ticketbox_id for a in check_ticket_age(minutes(61))] == [box.pk]
    assert [a.ticketbox_id for a in check_ticket_age(minutes(241))] == [slow.pk]


@pytest.mark.parametrize("count", [10, 200])
def test_the_age_check_costs_the_same_queries_for_10_or_200_tickets(
    box: Any, owner: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    seniors = Group.objects.create(name="Seniors")
    owner.groups.add(seniors)
    AlertRecipient.objects.create(alert_type=alert_type(AlertKind.TICKET_AGE), group=seniors)
    for _ in range(count):
        waiting_ticket(box, owner=owner)
    with django_assert_max_num_queries(12):
        raised = check_ticket_age(minutes(61))
    assert len(raised) == count
    assert AlertReceipt.objects.filter(agent=owner).count() == count


# ---------------------------------------------------------------------------------------
# Bulk raising


def test_raise_alerts_skips_once_keys_already_used(box: Any, owner: Any) -> None:
    drafts = [AlertDraft(title=f"A{n}", ticketbox_id=box.pk, once_key=f"k{n}") for n in range(3)]
    assert len(raise_alerts(AlertKind.TICKET_AGE, drafts[:2], now=T0)) == 2
    again = raise_alerts(AlertKind.TICKET_AGE, drafts, now=T0)
    assert [a.title for a in again] == ["A2"]
    keyless = [AlertDraft(title="x"), AlertDraft(title="y")]
    assert [a.title for a in raise_alerts(AlertKind.TICKET_AGE, keyless, now=T0)] == ["x", "y"]


def test_without_recipients_administrators_get_the_alert(box: Any, admin_user: Any) -> None:
    make_agent("nobody")
    [alert] = raise_alerts(
        AlertKind.WATERMARK_HIGH, [AlertDraft(title="Full", ticketbox_id=box.pk)], now=T0
    )
    assert receivers(alert) == {"root"}


# ---------------------------------------------------------------------------------------
# Watermarks


def set_open(box: Ticketbox, count: int) -> None:
    """Make exactly ``count`` tickets of ``box`` open (closing or opening others)."""
    have = list(Ticket.objects.filter(ticketbox=box).order_by("pk"))
    for _ in range(count - len(have)):
        have.append(make_ticket(ticketbox=box))
    Ticket.objects.filter(pk__in=[t.pk for t in have[:count]]).update(status="open")
    Ticket.objects.filter(pk__in=[t.pk for t in have[count:]]).update(status="closed")


def test_watermarks_alert_on_crossing_and_on_return_not_on_every_tick(admin_user: Any) -> None:
    box = make_ticketbox("Sales", low_watermark=2, high_watermark=20)
    set_open(box, 10)
    assert check_watermarks(minutes(0)) == []  # learning the first state is no crossing
    set_open(box, 20)
    [high] = check_watermarks(minutes(1))
    assert high.kind == AlertKind.WATERMARK_HIGH and "above the high watermark of 20" in high.title
    assert check_watermarks(minutes(2)) == []
    set_open(box, 19)  # inside the band (a tenth of the mark): still high
    assert check_watermarks(minutes(3)) == []
    set_open(box, 25)
    assert check_watermarks(minutes(4)) == []
    set_open(box, 18)
    [back] = check_watermarks(minutes(5))
    assert back.kind == AlertKind.WATERMARK_HIGH and back.severity == "info"
    assert "back from the high watermark" in back.title
    set_open(box, 2)
    [low] = check_watermarks(minutes(6))
    assert low.kind == AlertKind.WATERMARK_LOW
    set_open(box, 1)
    assert check_watermarks(minutes(7)) == []
    set_open(box, 3)
    [up] = check_watermarks(minutes(8))
    assert up.kind == AlertKind.WATERMARK_LOW and up.severity == "info"
    assert len(Alert.objects.all()) == 4


def test_a_jump_from_high_to_low_says_both(admin_user: Any) -> None:
    box = make_ticketbox("Sales", low_watermark=1, high_watermark=3)
    set_open(box, 3)
    assert len(check_watermarks(minutes(0))) == 1
    set_open(box, 0)
    assert [a.kind for a in check_watermarks(minutes(1))] == ["watermark_high", "watermark_low"]


# ---------------------------------------------------------------------------------------
# Disk space


def test_low_disk_alerts_once_per_crossing_with_a_band(settings: Any, admin_user: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DISK_FREE_MIN_PERCENT": 10.0}
    free = {"percent": 50.0}

    def usage(path: Path) -> Usage:
        return Usage(1000, 1000 - free["percent"] * 10, free["percent"] * 10)

    assert check_disk(minutes(0), usage=usage) == []
    free["percent"] = 9.0
    crossed = check_disk(minutes(10), usage=usage)
    assert crossed and all(a.kind == AlertKind.LOW_DISK for a in crossed)
    assert all("9.0 % free" in a.title and a.severity == "critical" for a in crossed)
    assert "media volume" in crossed[0].title
    assert check_disk(minutes(20), usage=usage) == []
    free["percent"] = 10.5  # above the threshold but inside the band
    assert check_disk(minutes(30), usage=usage) == []
    free["percent"] = 12.0
    back = check_disk(minutes(40), usage=usage)
    assert len(back) == len(crossed) and all(a.severity == "info" for a in back)
    assert check_disk(minutes(50), usage=usage) == []


def test_the_real_disk_check_runs_where_the_database_directory_is_unknown(
    admin_user: Any,
) -> None:
    # No fake: the media folder's real volume; on PostgreSQL data_directory may not be
    # readable or local, which only leaves the database volume out.
    check_disk(minutes(0))
    from alerts.models import WatchState

    assert WatchState.objects.filter(key="disk:media").exclude(state="").exists()


# ---------------------------------------------------------------------------------------
# Mail sources


def test_a_failing_source_alerts_once_per_streak_and_once_on_recovery(admin_user: Any) -> None:
    source = MailSource.objects.create(name="Support inbox", host="mail.example.com", username="u")

    def failures(count: int, error: str = "") -> None:
        MailSource.objects.filter(pk=source.pk).update(failure_count=count, last_error=error)

    assert check_sources(minutes(0)) == []
    failures(2, "connection refused")
    assert check_sources(minutes(1)) == []
    failures(3, "connection refused")
    [down] = check_sources(minutes(2))
    assert "failed 3 times in a row" in down.title and down.body == "connection refused"
    failures(9, "still refused")
    assert check_sources(minutes(3)) == []
    failures(0)
    [up] = check_sources(minutes(4))
    assert "fetches mail again" in up.title and up.severity == "info"
    failures(1)
    assert check_sources(minutes(5)) == []


# ---------------------------------------------------------------------------------------
# A full round


def test_a_full_round_twice_raises_nothing_new(box: Any, owner: Any, admin_user: Any) -> None:
    waiting_ticket(box, owner=owner)
    box.high_watermark = 1
    box.save()
    first = run_all(minutes(61))
    assert {a.kind for a in first} >= {AlertKind.TICKET_AGE, AlertKind.WATERMARK_HIGH}
    assert [a for a in run_all(minutes(62)) if a.kind != AlertKind.LOW_DISK] == []


def test_the_email_channel_sends_one_digest_for_a_bulk_of_alerts(
    box: Any, owner: Any, settings: Any
) -> None:
    from conduit.outbound import OutboundMessage

    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "desk@example.com"}
    AlertType.objects.create(kind=AlertKind.TICKET_AGE, channel="both", email_to="boss@example.org")
    for _ in range(3):
        waiting_ticket(box, owner=owner)
    raised = check_ticket_age(minutes(61))
    assert len(raised) == 3 and all(a.emailed_to == "boss@example.org" for a in raised)
    [mail] = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.NOTIFICATION)
    assert mail.recipients == ["boss@example.org"] and "3 alerts: Ticket age" in mail.subject
    assert AlertReceipt.objects.filter(agent=owner).count() == 3
    waiting_ticket(box, owner=owner, since=minutes(10))
    [single] = check_ticket_age(minutes(71))
    assert OutboundMessage.objects.filter(subject__contains=single.title).exists()


@pytest.mark.postgres
def test_an_unreadable_data_directory_leaves_the_database_volume_out() -> None:
    from django.db import connection

    from alerts.disk import database_directory, volumes

    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE mailflow_plain_reader NOLOGIN")  # undone with the test
        cursor.execute("SET ROLE mailflow_plain_reader")
        database_directory.cache_clear()
        try:
            assert database_directory() is None
            assert list(volumes()) == ["media"]
        finally:
            cursor.execute("RESET ROLE")
            database_directory.cache_clear()
