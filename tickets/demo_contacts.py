"""The demo's contacts: customers with their addresses and custom fields, and the spam
senders (part of ``manage.py seed_demo``, see tickets/demo.py)."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import OuterRef, Subquery

from contacts.models import Contact, ContactEmail, ContactField
from tickets import demo_data as data
from tickets.demo_people import SUPERVISOR

CUSTOMERS = 76  # plus the spam senders: about 80 contacts


@dataclass
class Customer:
    """A contact as the ticket planner sees it: who writes, from which addresses, how often."""

    contact: Contact
    first: str
    addresses: list[str]
    weight: int = 1  # some customers write much more often than others

    @property
    def company(self) -> str:
        return self.contact.company


def _ascii(text: str) -> str:
    text = text.lower().replace("ø", "o").replace("æ", "ae").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum())


def _address(rng: random.Random, first: str, last: str, domain: str, used: set[str]) -> str:
    first, last = _ascii(first), _ascii(last)
    styles = (f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}", f"{first}_{last}")
    local = rng.choice(styles)
    while f"{local}@{domain}" in used:
        local = f"{rng.choice(styles)}{rng.randint(1, 99)}"
    used.add(f"{local}@{domain}")
    return f"{local}@{domain}"


def create_contacts(
    rng: random.Random, agents: dict[str, Any]
) -> tuple[list[Customer], list[Customer]]:
    """The custom fields, the customers and the spam senders; returns the last two."""
    ContactField.objects.bulk_create(
        [
            ContactField(key="account_no", label="Account number", position=1),
            ContactField(
                key="plan",
                label="Membership plan",
                kind=ContactField.Kind.CHOICE,
                choices="\n".join(data.PLANS),
                position=2,
            ),
        ]
    )
    names = rng.sample([(f, ln) for f in data.FIRST_NAMES for ln in data.LAST_NAMES], CUSTOMERS)
    companies = {c[0]: c for c in data.COMPANIES}
    used: set[str] = set()
    customers, emails = [], []
    for i, (first, last) in enumerate(names):
        # The first two are accounts with an agent of their own; the rest take their chances.
        if i == 0:
            company = companies["Summit & Co. Outdoor Shop"]
        elif i == 1:
            company = companies["Fellside Walking Club"]
        else:
            company = rng.choice(data.COMPANIES) if rng.random() < 0.35 else None
        addresses = []
        if company:
            addresses.append(_address(rng, first, last, company[1], used))
        if not company or rng.random() < 0.25:
            addresses.append(_address(rng, first, last, rng.choice(data.PERSONAL_DOMAINS), used))
        if not company and rng.random() < 0.1:
            addresses.append(_address(rng, first, last, rng.choice(data.PERSONAL_DOMAINS), used))
        custom: dict[str, str] = {}
        if company or rng.random() < 0.55:
            custom["account_no"] = f"C-{rng.randint(100000, 999999)}"
        if company:
            custom["plan"] = company[2]
        elif rng.random() < 0.5:
            custom["plan"] = rng.choice(("Basic", "Plus"))
        owner, route = {0: (agents["bob"], True), 1: (agents["alice"], True)}.get(i, (None, False))
        if i == 2:
            owner = agents[SUPERVISOR]  # looked after, but tickets are routed as usual
        contact = Contact.objects.create(
            name=f"{first} {last}",
            company=company[0] if company else "",
            owner=owner,
            route_to_owner=route,
            custom=custom,
            notes=rng.choice(data.CONTACT_NOTES) if i < 2 or rng.random() < 0.08 else "",
        )
        weight = rng.choice((1, 1, 1, 1, 2, 2, 3, 6)) if i > 1 else 6
        customers.append(Customer(contact, first, addresses, weight))
        emails += [
            ContactEmail(contact=contact, address=address, is_primary=n == 0)
            for n, address in enumerate(addresses)
        ]
    spammers = []
    for name, address in data.SPAM_SENDERS:
        contact = Contact.objects.create(name=name)
        spammers.append(Customer(contact, name, [address]))
        emails.append(ContactEmail(contact=contact, address=address, is_primary=True))
    ContactEmail.objects.bulk_create(emails)
    return customers, spammers


def backdate_contacts(
    rng: random.Random,
    now: datetime,
    customers: list[Customer],
    opened: Iterable[tuple[Customer, datetime]],
) -> None:
    """A contact dates from its first ticket and was last changed at its latest one, given
    ``(customer, created_at)`` for every ticket; contacts without tickets date from before
    the demo's history."""
    first_seen: dict[int, datetime] = {}
    last_seen: dict[int, datetime] = {}
    for customer, created_at in opened:
        pk = customer.contact.pk
        first_seen[pk] = min(first_seen.get(pk, created_at), created_at)
        last_seen[pk] = max(last_seen.get(pk, created_at), created_at)
    contacts = [c.contact for c in customers]
    for contact in contacts:
        default = now - timedelta(days=rng.uniform(data.HISTORY_DAYS + 1, 400))
        contact.created_at = first_seen.get(contact.pk, default.replace(microsecond=0))
        contact.updated_at = last_seen.get(contact.pk, contact.created_at)
    Contact.objects.bulk_update(contacts, ["created_at", "updated_at"], batch_size=200)
    ContactEmail.objects.filter(contact__in=contacts).update(
        created_at=Subquery(Contact.objects.filter(pk=OuterRef("contact_id")).values("created_at"))
    )
