"""Actions that change contacts."""

from __future__ import annotations

from django.db import transaction

from contacts.models import Contact, ContactEmail
from contacts.selectors import contacts_by_address


def find_or_create_contacts(senders: list[tuple[str, str]]) -> dict[str, Contact]:
    """The contact of each (address, display name) sender, keyed by lower-cased address.

    Unknown senders get a new contact named after their display name. A handful of
    queries whatever the number of senders, and safe under concurrency: when two workers
    meet the same new sender, the unique address constraint keeps one contact and the
    other worker's spare contact is removed again.
    """
    wanted: dict[str, tuple[str, str]] = {}
    for address, name in senders:
        address = address.strip()
        if address:
            wanted.setdefault(address.lower(), (address, name.strip()[:200]))
    found = contacts_by_address(wanted)
    missing = [key for key in wanted if key not in found]
    if not missing:
        return found
    with transaction.atomic():
        created = Contact.objects.bulk_create(Contact(name=wanted[k][1]) for k in missing)
        ContactEmail.objects.bulk_create(
            (
                ContactEmail(contact=contact, address=wanted[key][0], is_primary=True)
                for key, contact in zip(missing, created, strict=True)
            ),
            ignore_conflicts=True,
        )
        found = contacts_by_address(wanted)
        kept = {contact.pk for contact in found.values()}
        spare = [contact.pk for contact in created if contact.pk not in kept]
        if spare:
            Contact.objects.filter(pk__in=spare).delete()
    return found


def find_or_create_contact(address: str, *, name: str = "") -> Contact:
    """The contact owning ``address``; a new one named ``name`` when the sender is unknown."""
    return find_or_create_contacts([(address, name)])[address.strip().lower()]
