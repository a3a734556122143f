"""The admin of SMTP destinations and of the spool, against a real SMTP server on loopback:
the write-only password, "Test connection", "Send now" and "Retry"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from conduit.models import OutboundMessage, SmtpDestination
from tests.integration.smtp import PASSWORD, USER, SmtpServer, destination_for, spooled_reply

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
State = OutboundMessage.State


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer(auth="CRAM-MD5").start()
    yield smtp
    smtp.stop()


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    client.force_login(admin_user)
    return client


def _messages(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_password_is_write_only_and_needed_for_a_login(
    admin_client: Any, server: SmtpServer
) -> None:
    form = {
        "name": "Relay",
        "enabled": "on",
        "is_default": "on",
        "host": "127.0.0.1",
        "port": str(server.port),
        "security": "none",
        "timeout_seconds": "10",
        "auth": "cram-md5",
        "username": USER,
        "new_password": "",
        "max_message_bytes": "1000000",
        "concurrency": "2",
    }
    url = reverse("admin:conduit_smtpdestination_add")
    refused = admin_client.post(url, form)
    assert refused.status_code == 200 and "Enter the password for the login" in refused.text

    assert admin_client.post(url, {**form, "new_password": PASSWORD}).status_code == 302
    destination = SmtpDestination.objects.get()
    assert destination.password == PASSWORD and PASSWORD not in destination.password_encrypted
    change = reverse("admin:conduit_smtpdestination_change", args=[destination.pk])
    page = admin_client.get(change).text
    assert PASSWORD not in page and destination.password_encrypted not in page
    # Saving without a new password keeps the stored one.
    assert admin_client.post(change, {**form, "concurrency": "3"}).status_code == 302
    destination.refresh_from_db()
    assert destination.password == PASSWORD and destination.concurrency == 3


def test_test_connection_reports_the_servers_answer(admin_client: Any, server: SmtpServer) -> None:
    good = destination_for(server)
    bad = destination_for(server, name="Wrong", password="nope", is_default=False)
    response = admin_client.post(
        reverse("admin:conduit_smtpdestination_changelist"),
        {"action": "test_connection", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    said = _messages(response)
    assert any(
        m.startswith(f"Test relay: 127.0.0.1:{server.port}: 220 ")
        and "logged in with CRAM-MD5: 235" in m
        for m in said
    )
    assert any(m.startswith("Wrong: ") and "refused the login" in m and "535" in m for m in said)
    assert server.received == []


def test_send_now_and_retry_send_at_once(admin_client: Any, server: SmtpServer) -> None:
    destination_for(server)
    waiting, failed = spooled_reply(), spooled_reply()
    OutboundMessage.objects.filter(pk=failed.pk).update(
        state=State.FAILED, attempts=1, last_error="550 5.7.1 relay denied"
    )
    changelist = reverse("admin:conduit_outboundmessage_changelist")

    response = admin_client.post(
        changelist,
        {"action": "send_now", "_selected_action": [waiting.pk, failed.pk]},
        follow=True,
    )
    assert _messages(response)[0].startswith("1 claimed: 1 sent")
    response = admin_client.post(
        changelist, {"action": "retry", "_selected_action": [failed.pk]}, follow=True
    )
    assert _messages(response)[0].startswith("1 claimed: 1 sent")
    assert sorted(server.message_ids) == sorted([waiting.message_id, failed.message_id])
    failed.refresh_from_db()
    assert failed.state == State.SENT and failed.attempts == 2

    page = admin_client.get(reverse("admin:conduit_outboundmessage_change", args=[failed.pk]))
    assert page.status_code == 200 and "2.0.0 OK queued as" in page.text
    assert "250 2.0.0 OK queued as" in admin_client.get(changelist).text
