"""Mail sources in the admin: passwords are encrypted and never shown; wrong settings explained."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from conduit import secretbox
from conduit.models import MailSource

pytestmark = pytest.mark.django_db


def _form(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Support inbox",
        "enabled": "on",
        "protocol": "imap",
        "host": "mail.example.com",
        "port": "",
        "security": "tls",
        "verify_certificate": "on",
        "timeout_seconds": "30",
        "auth": "password",
        "username": "support",
        "new_password": "hunter2-long",
        "folder": "INBOX",
        "check_interval_seconds": "60",
        "max_message_bytes": str(25 * 1024 * 1024),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_password_is_stored_encrypted_and_never_shown(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:conduit_mailsource_add"), _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    source = MailSource.objects.get()
    assert "hunter2" not in source.password_encrypted
    assert source.password == "hunter2-long"
    page = admin_client.get(reverse("admin:conduit_mailsource_change", args=[source.pk]))
    assert b"hunter2" not in page.content
    assert source.password_encrypted.encode() not in page.content


def test_empty_password_keeps_the_stored_one(admin_client: Client) -> None:
    admin_client.post(reverse("admin:conduit_mailsource_add"), _form())
    source = MailSource.objects.get()
    url = reverse("admin:conduit_mailsource_change", args=[source.pk])
    response = admin_client.post(url, _form(new_password="", host="imap.example.com"))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.host == "imap.example.com" and source.password == "hunter2-long"


def test_new_source_needs_a_password(admin_client: Client) -> None:
    response = admin_client.post(reverse("admin:conduit_mailsource_add"), _form(new_password=""))
    assert response.status_code == 200
    assert b"Enter the password of this mailbox." in response.content


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"protocol": "imap", "auth": "apop"}, "auth", "APOP exists only for POP3"),
        ({"protocol": "pop3", "auth": "plain"}, "auth", "SASL PLAIN is offered here for IMAP"),
        ({"protocol": "pop3", "folder": "Sales"}, "folder", "POP3 has no folders"),
        ({"delete_copies_after_days": 5}, "delete_copies_after_days", "leave copies on server"),
    ],
)
def test_wrong_settings_are_refused_with_what_to_fix(
    fields: dict[str, Any], field: str, message: str
) -> None:
    source = MailSource(name="x", host="h", username="u", **fields)
    with pytest.raises(ValidationError) as excinfo:
        source.full_clean()
    assert message in " ".join(excinfo.value.message_dict[field])


def test_standard_ports_follow_protocol_and_security() -> None:
    assert MailSource(protocol="pop3", security="none").effective_port == 110
    assert MailSource(protocol="pop3", security="starttls").effective_port == 110
    assert MailSource(protocol="pop3", security="tls").effective_port == 995
    assert MailSource(protocol="imap", security="starttls").effective_port == 143
    assert MailSource(protocol="imap", security="tls").effective_port == 993
    assert MailSource(protocol="imap", security="tls", port=1993).effective_port == 1993


def test_password_encrypted_with_a_rotated_out_key_is_reported(settings: Any) -> None:
    source = MailSource(name="x", host="h", username="u")
    source.password = "old-secret"
    from cryptography.fernet import Fernet

    settings.MAILFLOW_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    secretbox._box.cache_clear()
    try:
        with pytest.raises(secretbox.SecretUnreadable, match="enter the password again"):
            _ = source.password
    finally:
        secretbox._box.cache_clear()


def test_key_rotation_keeps_old_passwords_readable(settings: Any) -> None:
    from cryptography.fernet import Fernet

    old = settings.MAILFLOW_ENCRYPTION_KEYS[0]
    source = MailSource(name="x", host="h", username="u")
    source.password = "kept"
    settings.MAILFLOW_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    secretbox._box.cache_clear()
    try:
        assert source.password == "kept"
    finally:
        secretbox._box.cache_clear()


def test_check_now_queues_a_fetch(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr("conduit.tasks.fetch_source.delay", queued.append)
    admin_client.post(reverse("admin:conduit_mailsource_add"), _form())
    source = MailSource.objects.get()
    response = admin_client.post(
        reverse("admin:conduit_mailsource_changelist"),
        {"action": "check_now", "_selected_action": [source.pk]},
        follow=True,
    )
    assert queued == [source.pk]
    assert b"Queued a check of Support inbox" in response.content
