"""Plain factory functions for tests."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model

from contacts.services import find_or_create_contact
from tickets import services
from tickets.models import Ticket, Ticketbox

_seq = itertools.count(1)


def make_agent(username: str | None = None, password: str = "pw-agent-123", **extra: Any) -> Any:
    username = username or f"agent{next(_seq)}"
    return get_user_model().objects.create_user(
        username, f"{username}@example.com", password, **extra
    )


def make_ticketbox(name: str | None = None, **extra: Any) -> Ticketbox:
    return Ticketbox.objects.create(name=name or f"Box {next(_seq)}", **extra)


def make_ticket(subject: str = "Printer on fire", **extra: Any) -> Ticket:
    contact = extra.pop("contact", None) or find_or_create_contact(
        f"customer{next(_seq)}@example.net", name="A Customer"
    )
    return services.create_ticket(subject=subject, contact=contact, **extra)
