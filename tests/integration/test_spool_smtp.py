"""The spooler against real SMTP servers on loopback (aiosmtpd): delivery, the three logins
checked by the server, STARTTLS and TLS, answers to retry or give up on, a server that is
down or hangs up after DATA, and size limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from alerts.models import AlertReceipt
from conduit.deliveries import delivery_status_line
from conduit.models import DeliveryAttempt, OutboundMessage, SmtpDestination
from conduit.spool import send_due
from tests.factories import make_agent
from tests.integration.smtp import SmtpServer, destination_for, spooled_reply

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
State = OutboundMessage.State


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    servers: list[SmtpServer] = []

    def start(*, up: bool = True, **options: Any) -> SmtpServer:
        server = SmtpServer(**options)
        servers.append(server)
        return server.start() if up else server

    yield start
    for server in servers:
        server.stop()


def _later(outbound: OutboundMessage) -> Any:
    """A moment just after the message's next attempt is due."""
    outbound.refresh_from_db()
    return outbound.next_attempt_at + timedelta(seconds=1)


def _raw(outbound: OutboundMessage) -> bytes:
    with outbound.raw.open("rb") as handle:
        return handle.read()


def test_reply_is_delivered_over_reused_connections_and_marked_sent(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination = destination_for(server, concurrency=2)
    replies = [spooled_reply(to=[f"customer{n}@example.net"]) for n in range(10)]

    spool_round = send_due()

    assert (spool_round.claimed, spool_round.sent) == (10, 10)
    assert server.connections == 2  # one per connection in flight, each reused
    first = replies[0]
    first.refresh_from_db()
    assert first.state == State.SENT and first.sent_at is not None
    assert first.smtp_code == 250 and first.smtp_status == "2.0.0"
    got = next(r for r in server.received if r.message_id == first.message_id)
    assert got.mail_from == first.envelope_from
    assert got.rcpt_tos == ["customer0@example.net"]
    assert got.content.replace(b"\r\n", b"\n") == _raw(first).replace(b"\r\n", b"\n")
    assert sorted(server.message_ids) == sorted(r.message_id for r in replies)
    attempt = DeliveryAttempt.objects.get(outbound=first)
    assert (attempt.outcome, attempt.smtp_code, attempt.refused_recipients) == ("sent", 250, {})
    assert attempt.destination == f"Test relay (127.0.0.1:{server.port})"
    assert delivery_status_line(first).startswith("Sent ")
    assert delivery_status_line(first).endswith(" to 127.0.0.1")
    destination.refresh_from_db()
    assert destination.sent_count == 10 and destination.last_success_at is not None
    assert send_due().claimed == 0  # nothing is sent twice


@pytest.mark.parametrize(
    ("mechanism", "security"),
    [("CRAM-MD5", "none"), ("LOGIN", "starttls"), ("PLAIN", "tls")],
)
def test_login_with_the_chosen_mechanism_is_checked_by_the_server(
    smtp_server: Callable[..., SmtpServer], mechanism: str, security: str
) -> None:
    server = smtp_server(auth=mechanism, security=security)
    destination_for(server)
    reply = spooled_reply()

    assert send_due().sent == 1

    assert server.logins == [(mechanism, "relay-user")]
    assert server.received[0].message_id == reply.message_id
    assert server.received[0].tls == (security != "none")


def test_a_wrong_password_defers_with_the_servers_answer(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(auth="CRAM-MD5")
    destination = destination_for(server, password="not-the-password")
    reply = spooled_reply()

    assert send_due().deferred == 1

    reply.refresh_from_db()
    assert reply.state == State.DEFERRED and server.received == []
    assert "refused the login of 'relay-user' with CRAM-MD5: 535" in reply.last_error
    destination.refresh_from_db()
    assert "535" in destination.last_error


def test_starttls_is_required_and_used(smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server(security="starttls")
    destination_for(server)
    spooled_reply()

    assert send_due().sent == 1
    assert server.received[0].tls


def test_an_unverifiable_certificate_defers_when_verification_is_on(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(security="starttls")
    destination_for(server, verify_certificate=True)
    reply = spooled_reply()

    assert send_due().deferred == 1

    reply.refresh_from_db()
    assert reply.last_error.startswith(f"STARTTLS with 127.0.0.1:{server.port} failed")
    assert "certificate" in reply.last_error.lower()
    assert server.received == []


def test_421_then_451_defer_with_back_off_then_250_sends(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination_for(server)
    server.answer_next("MAIL", "421 4.3.2 Service shutting down")
    server.answer_next("DATA", "451 4.7.1 Greylisted, try again later")
    reply = spooled_reply()
    first_wait = settings.MAILFLOW["SPOOL_RETRY_FIRST_SECONDS"]

    start = timezone.now()
    assert send_due(now=start).deferred == 1
    reply.refresh_from_db()
    assert reply.state == State.DEFERRED and reply.attempts == 1
    assert reply.smtp_code == 421 and reply.smtp_status == "4.3.2"
    assert reply.next_attempt_at == start + timedelta(seconds=first_wait)
    assert send_due(now=start + timedelta(seconds=first_wait - 1)).claimed == 0  # not yet due
    status = delivery_status_line(reply)
    assert status.startswith("Deferred: 421 4.3.2 Service shutting down (next try ")

    second = _later(reply)
    assert send_due(now=second).deferred == 1
    reply.refresh_from_db()
    assert reply.smtp_code == 451 and reply.last_error == "451 4.7.1 Greylisted, try again later"
    assert reply.next_attempt_at == second + timedelta(seconds=2 * first_wait)  # doubled

    assert send_due(now=_later(reply)).sent == 1
    reply.refresh_from_db()
    assert reply.state == State.SENT and reply.attempts == 3
    tries = list(reply.tries.values_list("outcome", "smtp_code", "smtp_status"))
    assert tries == [("deferred", 421, "4.3.2"), ("deferred", 451, "4.7.1"), ("sent", 250, "2.0.0")]
    assert server.message_ids == [reply.message_id]


def test_550_fails_at_once_and_alerts_the_agent_who_wrote_it(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination_for(server)
    server.refused_recipients["nobody@example.net"] = "550 5.1.1 <nobody@example.net>: user unknown"
    agent = make_agent()
    reply = spooled_reply(agent=agent, to=["nobody@example.net"])

    assert send_due().failed == 1

    reply.refresh_from_db()
    assert reply.state == State.FAILED and reply.attempts == 1
    assert (reply.smtp_code, reply.smtp_status) == (550, "5.1.1")
    assert delivery_status_line(reply) == (
        "Not delivered: 550 5.1.1 <nobody@example.net>: user unknown at 127.0.0.1"
    )
    receipt = AlertReceipt.objects.select_related("alert").get(agent=agent)
    assert receipt.alert.kind == "outbound_failure" and receipt.alert.ticket_id == reply.ticket_id
    assert "user unknown" in receipt.alert.body
    assert send_due(now=timezone.now() + timedelta(days=1)).claimed == 0  # never retried
    assert server.received == []


def test_partly_refused_recipients_are_sent_to_the_others_and_the_agent_told(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination_for(server)
    server.refused_recipients["gone@example.net"] = "550 5.1.1 user unknown"
    agent = make_agent()
    reply = spooled_reply(agent=agent, to=["here@example.net", "gone@example.net"])

    assert send_due().sent == 1

    reply.refresh_from_db()
    assert reply.state == State.SENT
    assert server.received[0].rcpt_tos == ["here@example.net"]
    assert reply.tries.get().refused_recipients == {"gone@example.net": "550 5.1.1 user unknown"}
    assert delivery_status_line(reply).endswith(
        "; not delivered to gone@example.net: 550 5.1.1 user unknown"
    )
    assert AlertReceipt.objects.filter(agent=agent, alert__kind="outbound_failure").count() == 1


def test_a_server_that_is_down_defers_and_gets_the_mail_when_it_is_back(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(up=False)
    destination = destination_for(server)
    replies = [spooled_reply() for _ in range(3)]

    assert send_due().deferred == 3
    for reply in replies:
        reply.refresh_from_db()
        assert reply.state == State.DEFERRED and reply.smtp_code is None
        assert reply.last_error.startswith(f"Cannot connect to 127.0.0.1:{server.port}")
    destination.refresh_from_db()
    assert destination.last_error.startswith("Cannot connect")
    assert send_due(now=_later(replies[0])).deferred == 3  # still down on the second try

    server.start()
    assert send_due(now=_later(replies[0])).sent == 3
    assert sorted(server.message_ids) == sorted(r.message_id for r in replies)
    assert [r.tries.count() for r in replies] == [3, 3, 3]


def test_a_connection_dropped_after_data_defers_and_resends_once(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination_for(server)
    server.drops_after_data = 1
    reply = spooled_reply()

    assert send_due().deferred == 1
    reply.refresh_from_db()
    assert reply.state == State.DEFERRED
    assert reply.last_error.startswith("Connection lost while sending")

    assert send_due(now=_later(reply)).sent == 1
    # The server had taken the first copy: one duplicate, and no more.
    assert server.message_ids == [reply.message_id, reply.message_id]


def test_mail_over_our_size_limit_fails_without_connecting(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination_for(server, max_message_bytes=1000)
    reply = spooled_reply(body="x" * 3000)

    assert send_due().failed == 1

    reply.refresh_from_db()
    assert reply.state == State.FAILED and server.connections == 0
    assert "Test relay takes at most 1,000 (the destination's size limit)" in reply.last_error


def test_mail_over_the_servers_size_limit_fails_with_the_reason(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server(size_limit=2000)
    destination_for(server)
    small, large = spooled_reply(), spooled_reply(body="y" * 5000)

    assert send_due().sent == 1

    large.refresh_from_db()
    assert large.state == State.FAILED
    assert "127.0.0.1 takes at most 2,000 (the server's SIZE limit)" in large.last_error
    assert server.message_ids == [small.message_id]
    assert "SIZE=" in " ".join(server.received[0].mail_options)


def test_deferred_mail_fails_when_it_is_too_old(smtp_server: Callable[..., SmtpServer]) -> None:
    server = smtp_server()
    destination_for(server)
    server.answer_next("DATA", "451 4.3.0 Try later", times=2)
    agent = make_agent()
    reply = spooled_reply(agent=agent)
    max_age = timedelta(hours=settings.MAILFLOW["SPOOL_MAX_AGE_HOURS"])

    assert send_due().deferred == 1
    assert send_due(now=reply.created_at + max_age).failed == 1

    reply.refresh_from_db()
    assert reply.state == State.FAILED and reply.attempts == 2
    assert reply.last_error.startswith("gave up after")
    assert AlertReceipt.objects.filter(agent=agent).count() == 1


def test_the_last_retry_waits_no_longer_than_the_maximum_age(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination_for(server)
    server.answer_next("DATA", "451 4.3.0 Try later")
    reply = spooled_reply()
    deadline = reply.created_at + timedelta(hours=settings.MAILFLOW["SPOOL_MAX_AGE_HOURS"])

    assert send_due(now=deadline - timedelta(seconds=5)).deferred == 1

    reply.refresh_from_db()
    assert reply.next_attempt_at == deadline


def test_a_disabled_destination_is_skipped_for_the_default(
    smtp_server: Callable[..., SmtpServer],
) -> None:
    server = smtp_server()
    destination_for(server)
    other = SmtpDestination.objects.create(name="Off", host="192.0.2.1", enabled=False)
    reply = spooled_reply()
    OutboundMessage.objects.filter(pk=reply.pk).update(destination=other)

    assert send_due().sent == 1
