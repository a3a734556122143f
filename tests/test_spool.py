"""The spooler's rules without an SMTP server: what a reply code means, back-off and the
maximum age, claiming (leases of crashed workers), mail without a destination, the ticket's
words for a delivery, and the ticket page showing them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from conduit.deliveries import NO_DESTINATION, after_attempt, delivery_status_line, retry_delay
from conduit.models import DeliveryAttempt, OutboundMessage, SmtpDestination
from conduit.sender import Outcome, outcome_of
from conduit.smtp import enhanced_status, host_of, reply_line
from conduit.spool import send_due
from tests.factories import make_agent
from tests.integration.smtp import spooled_reply
from tickets.replies import send_reply

State = OutboundMessage.State


@pytest.fixture(autouse=True)
def _spool_settings(settings: Any) -> None:
    settings.MAILFLOW = {
        **settings.MAILFLOW,
        "SPOOL_RETRY_FIRST_SECONDS": 60,
        "SPOOL_RETRY_MAX_SECONDS": 3600,
        "SPOOL_MAX_AGE_HOURS": 120,
        "SPOOL_LEASE_SECONDS": 300,
    }


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (250, Outcome.SENT),
        (251, Outcome.SENT),
        (421, Outcome.DEFERRED),
        (451, Outcome.DEFERRED),
        (452, Outcome.DEFERRED),
        (None, Outcome.DEFERRED),  # refused connection, timeout, dropped line
        (354, Outcome.DEFERRED),  # out of turn
        (550, Outcome.FAILED),
        (552, Outcome.FAILED),
        (554, Outcome.FAILED),
    ],
)
def test_a_reply_code_decides_sent_deferred_or_failed(code: int | None, outcome: Outcome) -> None:
    assert outcome_of(code) is outcome


def test_the_enhanced_status_is_read_from_the_reply_text() -> None:
    assert enhanced_status("5.1.1 <x@example.net>: Recipient address rejected") == "5.1.1"
    assert enhanced_status("4.7.1 Greylisted") == "4.7.1"
    assert enhanced_status("Requested action not taken: mailbox unavailable") == ""
    assert enhanced_status("2.0.0 Ok: queued as 4B1C") == "2.0.0"
    assert reply_line(451, "4.7.1 Try\n again  later") == "451 4.7.1 Try again later"
    assert host_of("Relay (mx.example.com:587)") == "mx.example.com"


def test_the_wait_doubles_from_the_first_up_to_the_longest() -> None:
    waits = [retry_delay(n).total_seconds() for n in range(1, 10)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert retry_delay(500).total_seconds() == 3600


def test_after_an_attempt_the_state_follows_the_outcome_and_the_age() -> None:
    created = timezone.now()
    now = created + timedelta(hours=1)
    assert after_attempt(Outcome.SENT, attempts=1, created_at=created, now=now) == (
        State.SENT,
        None,
    )
    assert after_attempt(Outcome.FAILED, attempts=1, created_at=created, now=now) == (
        State.FAILED,
        None,
    )
    assert after_attempt(Outcome.DEFERRED, attempts=3, created_at=created, now=now) == (
        State.DEFERRED,
        now + timedelta(seconds=240),
    )
    deadline = created + timedelta(hours=120)
    # The last try is at the maximum age, not after it; a deferral then is final.
    close = deadline - timedelta(seconds=10)
    assert after_attempt(Outcome.DEFERRED, attempts=9, created_at=created, now=close) == (
        State.DEFERRED,
        deadline,
    )
    assert after_attempt(Outcome.DEFERRED, attempts=10, created_at=created, now=deadline) == (
        State.FAILED,
        None,
    )


@pytest.mark.django_db
def test_claiming_takes_due_mail_and_what_a_crashed_worker_left(settings: Any) -> None:
    queued, later, crashed, busy = (spooled_reply() for _ in range(4))
    now = timezone.now()
    OutboundMessage.objects.filter(pk=later.pk).update(
        state=State.DEFERRED, next_attempt_at=now + timedelta(minutes=5)
    )
    OutboundMessage.objects.filter(pk=crashed.pk).update(
        state=State.SENDING, attempts=1, lease_expires_at=now - timedelta(seconds=1)
    )
    OutboundMessage.objects.filter(pk=busy.pk).update(
        state=State.SENDING, attempts=1, lease_expires_at=now + timedelta(minutes=1)
    )

    spool_round = send_due(now=now)  # no destination: claimed, then left waiting

    assert spool_round.claimed == 2 and spool_round.no_destination == 2
    rows = {o.pk: o for o in OutboundMessage.objects.all()}
    assert rows[queued.pk].state == State.DEFERRED and rows[queued.pk].attempts == 0
    assert rows[crashed.pk].state == State.DEFERRED and rows[crashed.pk].attempts == 1
    assert rows[later.pk].state == State.DEFERRED and rows[later.pk].last_error == ""
    assert rows[busy.pk].state == State.SENDING


@pytest.mark.django_db
def test_without_a_destination_mail_waits_with_a_clear_reason() -> None:
    reply = spooled_reply()
    SmtpDestination.objects.create(name="Off", host="192.0.2.1", enabled=False)
    now = timezone.now()

    assert send_due(now=now).no_destination == 1

    reply.refresh_from_db()
    assert reply.state == State.DEFERRED and reply.attempts == 0
    assert reply.last_error == NO_DESTINATION
    assert reply.next_attempt_at == now + timedelta(seconds=60)
    assert delivery_status_line(reply).startswith(f"Deferred: {NO_DESTINATION} (next try ")
    assert not DeliveryAttempt.objects.exists()
    assert Alert.objects.filter(kind="outbound_failure", title__contains="no SMTP").count() == 1
    send_due(now=now + timedelta(minutes=2))
    assert Alert.objects.filter(kind="outbound_failure").count() == 1  # once a day


@pytest.mark.django_db
def test_a_tick_with_nothing_due_costs_one_query(django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(3):  # the claim, inside its savepoint
        assert send_due().claimed == 0


@pytest.mark.django_db
def test_the_status_line_says_what_happened_in_plain_words() -> None:
    reply = spooled_reply()
    assert delivery_status_line(reply) == "Queued"
    reply.state = State.SENDING
    assert delivery_status_line(reply) == "Sending"
    reply.state = State.BOUNCED
    reply.bounce_category = "user_unknown"
    reply.bounce_status = "5.1.1"
    reply.bounce_diagnostic = "mailbox does not exist"
    assert delivery_status_line(reply) == "Bounced (No such user): 5.1.1 mailbox does not exist"
    reply.state = State.CANCELLED
    assert delivery_status_line(reply) == "Cancelled"
    reply.state = State.FAILED
    reply.last_error = "The spool file cannot be read: gone"
    assert delivery_status_line(reply) == "Not delivered: The spool file cannot be read: gone"


@pytest.mark.django_db
def test_the_ticket_shows_each_replys_delivery_in_constant_queries(client: Any) -> None:
    agent = make_agent(is_superuser=True, is_staff=True)
    client.force_login(agent)
    first = spooled_reply(agent=agent)
    now = timezone.now()
    OutboundMessage.objects.filter(pk=first.pk).update(
        state=State.FAILED, smtp_code=550, last_error="550 5.1.1 user unknown"
    )
    DeliveryAttempt.objects.create(
        outbound=first,
        destination="Relay (mx.example.com:25)",
        started_at=now,
        finished_at=now,
        outcome="failed",
        smtp_code=550,
        smtp_status="5.1.1",
        smtp_text="5.1.1 user unknown",
    )
    response = client.get(reverse("desk:ticket", args=[first.ticket.number]))
    assert "Not delivered: 550 5.1.1 user unknown at mx.example.com" in response.content.decode()

    more = spooled_reply(agent=agent)
    for _ in range(3):
        send_reply(more.ticket, agent=agent, to=[("", "c@example.net")], subject="Re", body="x")
    assert _page_queries(client, more.ticket) == _page_queries(client, first.ticket)
    page = client.get(reverse("desk:ticket", args=[more.ticket.number]))
    assert page.content.decode().count(">Queued</span>") == 4


def _page_queries(client: Any, ticket: Any) -> int:
    url = reverse("desk:ticket", args=[ticket.number])
    client.get(url)  # sessions, caches
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return len(queries.captured_queries)


@pytest.mark.django_db
def test_spool_send_command_prints_the_counts() -> None:
    spooled_reply()
    out = StringIO()
    call_command("spool_send", "--until-empty", stdout=out)
    assert out.getvalue().strip() == (
        "1 claimed: 0 sent, 0 deferred, 0 failed, 0 not tried, 1 without a destination"
    )


@pytest.mark.django_db
def test_the_beat_tick_sends_the_spool_every_ten_seconds() -> None:
    from conduit.tasks import spool_send
    from mailflow.celery import app

    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == "conduit.spool_send")
    assert entry["schedule"] == 10.0
    assert spool_send.apply().get() == str(send_due())  # nothing due: an empty round
