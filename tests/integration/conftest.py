"""Fixtures for tests against real servers on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from conduit.models import MailSource
from tests.integration.dovecot import PASSWORD, USER, Dovecot, dovecot_missing_reason


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    reason = dovecot_missing_reason()
    if reason:
        pytest.skip(reason)
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def make_source(dovecot: Dovecot) -> Callable[..., MailSource]:
    """A MailSource pointed at the test Dovecot; keyword arguments override fields."""

    def make(protocol: str = "pop3", **fields: Any) -> MailSource:
        security = fields.pop("security", MailSource.Security.NONE)
        password = fields.pop("password", PASSWORD)
        port_name = protocol + ("s" if security == MailSource.Security.TLS else "")
        source = MailSource(
            name=fields.pop("name", f"{protocol}-{security}"),
            protocol=protocol,
            host="127.0.0.1",
            port=fields.pop("port", dovecot.ports[port_name]),
            security=security,
            verify_certificate=fields.pop("verify_certificate", False),
            username=USER,
            # Generous: a loaded CI machine can be slow to log in; tests of timeouts set
            # their own.
            timeout_seconds=fields.pop("timeout_seconds", 30),
            **fields,
        )
        source.password = password
        source.full_clean()
        source.save()
        return source

    return make


@pytest.fixture
def database_url() -> str:
    """DATABASE_URL of the test database, for subprocesses that must see the test's data."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"
