"""Reads of contacts."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.functions import Lower

from contacts.models import Contact, ContactEmail


def contacts_by_address(addresses: Iterable[str]) -> dict[str, Contact]:
    """Contacts owning these addresses, keyed by lower-cased address (one query, Lower index)."""
    wanted = {a.strip().lower() for a in addresses if a.strip()}
    if not wanted:
        return {}
    emails = (
        ContactEmail.objects.alias(address_ci=Lower("address"))
        .filter(address_ci__in=wanted)
        .select_related("contact")
    )
    return {email.address.lower(): email.contact for email in emails}
