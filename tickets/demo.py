"""Demo data for ``manage.py seed_demo``: a small help desk that looks lived in.

Three ticketboxes besides Unassigned, four agents, about eighty contacts, a standard
response library and a few hundred tickets from the last 90 days with their mail, notes
and history. Everything random comes from one ``random.Random(seed)``: the same seed gives
the same help desk, dated relative to the moment it is seeded.

Seeding happens only on a database with no users and no tickets, in one transaction. A
database that already holds the demo is left alone, so running it again changes nothing.

This module is the entry point; the parts live beside it, in the order they are built:
``demo_people`` (ticketboxes, agents, teams, access, signatures), ``demo_library``
(standard responses), ``demo_contacts``, ``demo_tickets`` with ``demo_conversations``
(tickets and their mail). The words live in ``demo_data``.
"""

from __future__ import annotations

import enum
import os
import random
import secrets
import time
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact, ContactEmail, ContactField
from tickets.demo_contacts import backdate_contacts, create_contacts
from tickets.demo_library import create_library
from tickets.demo_people import (
    ADMIN_USERNAME,
    create_agents,
    create_ticketboxes,
    grant_access,
    set_up_agents,
)
from tickets.demo_tickets import World, plan_tickets, save_tickets
from tickets.library import StandardResponse, StandardResponseCategory
from tickets.models import Message, Note, Ticket, Ticketbox, TicketboxAddress, TicketEvent

DEFAULT_TICKETS = 300
DEFAULT_SEED = 42
LOGIN_FILENAME = "demo-login.txt"
MARKER_TICKETBOX = "Sales"  # its presence means the demo is loaded


class Outcome(enum.Enum):
    CREATED = "created"
    PRESENT = "present"  # the demo was already loaded: nothing changed
    SKIPPED = "skipped"  # the database holds other data: nothing changed


@dataclass
class SeedResult:
    outcome: Outcome
    login_file: Path
    login: tuple[str, str] | None
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


# ---- login file -------------------------------------------------------------------------------


def login_file() -> Path:
    return Path(settings.VAR_DIR) / LOGIN_FILENAME


def read_login(path: Path | None = None) -> tuple[str, str] | None:
    """The ``(username, password)`` saved by an earlier seed, or None."""
    try:
        parts = (path or login_file()).read_text().split()
    except OSError:
        return None
    return (parts[0], parts[1]) if len(parts) == 2 else None


def write_login(username: str, password: str, path: Path | None = None) -> Path:
    """Save the demo login as ``username password``, readable by its owner only."""
    path = path or login_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{username} {password}\n")
    path.chmod(0o600)  # also when the file existed with looser rights
    return path


# ---- entry point ------------------------------------------------------------------------------


def demo_present() -> bool:
    return (
        Ticketbox.objects.filter(name=MARKER_TICKETBOX).exists()
        or get_user_model().objects.filter(username=ADMIN_USERNAME).exists()
    )


def _already_loaded(path: Path) -> SeedResult:
    return SeedResult(Outcome.PRESENT, path, read_login(path))


def seed_demo(
    *, tickets: int = DEFAULT_TICKETS, seed: int = DEFAULT_SEED, now: datetime | None = None
) -> SeedResult:
    """Fill a fresh database with the demo help desk; leave any other database alone."""
    if tickets < 0:
        raise ValueError("The number of tickets cannot be negative.")
    path = login_file()
    if demo_present():
        return _already_loaded(path)
    if get_user_model().objects.exists() or Ticket.objects.exists():
        return SeedResult(Outcome.SKIPPED, path, None)

    started = time.monotonic()
    # Saved before the data, so the password is never lost; a failed seed reuses it next time.
    saved = read_login(path)
    password = saved[1] if saved and saved[0] == ADMIN_USERNAME else secrets.token_urlsafe(12)
    write_login(ADMIN_USERNAME, password, path)
    moment = (now or timezone.now()).replace(microsecond=0)
    try:
        with transaction.atomic():
            if demo_present():  # another seed finished while this one started
                return _already_loaded(path)
            _build(random.Random(seed), moment, password, tickets)
    except IntegrityError:
        if demo_present():  # a concurrent seed won the race
            return _already_loaded(path)
        raise
    return SeedResult(
        Outcome.CREATED,
        path,
        (ADMIN_USERNAME, password),
        counts=demo_counts(),
        seconds=time.monotonic() - started,
    )


def demo_counts() -> dict[str, int]:
    """What the database holds, for the summary."""
    statuses = Tally(Ticket.objects.active().values_list("status", flat=True))
    numbers = list(Ticket.objects.order_by("number").values_list("number", flat=True))
    return {
        "ticketboxes": Ticketbox.objects.count(),
        "inbound_addresses": TicketboxAddress.objects.count(),
        "agents": get_user_model().objects.count(),
        "groups": Group.objects.count(),
        "contacts": Contact.objects.count(),
        "contact_addresses": ContactEmail.objects.count(),
        "contact_fields": ContactField.objects.count(),
        "responses": StandardResponse.objects.count(),
        "response_categories": StandardResponseCategory.objects.count(),
        "tickets": len(numbers),
        "first_number": numbers[0] if numbers else 0,
        "last_number": numbers[-1] if numbers else 0,
        **{f"status_{status}": statuses[status] for status in Ticket.Status.values},
        "trash": Ticket.objects.in_trash().count(),
        "messages": Message.objects.count(),
        "notes": Note.objects.count(),
        "events": TicketEvent.objects.count(),
    }


def _build(rng: random.Random, now: datetime, password: str, n_tickets: int) -> None:
    boxes = create_ticketboxes()
    agents = create_agents(password, now)
    repliers = grant_access(boxes, agents)
    create_library(rng, boxes, agents, now)
    from routing.demo import create_routing  # routing builds on tickets, not the reverse

    create_routing(boxes, agents)
    from conduit.demo import create_outbox

    create_outbox()
    profiles, signatures = set_up_agents(boxes, agents)
    customers, spammers = create_contacts(rng, agents)
    world = World(rng, now, boxes, agents, repliers, profiles, signatures, customers, spammers)
    plans = plan_tickets(world, n_tickets)
    save_tickets(world, plans)
    opened = [(plan.customer, plan.created_at) for plan in plans]
    backdate_contacts(rng, now, customers + spammers, opened)
