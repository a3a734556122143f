"""The Django admin: every page opens, and the help desk's rules hold there too."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, ContactField
from tests.factories import make_agent, make_ticket
from tickets import services
from tickets.agents import EVERYONE
from tickets.models import Message, Note, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_data(admin_user: Any) -> Client:
    ticket = make_ticket()
    Message.objects.create(
        ticket=ticket, direction="in", from_address="c@example.net", date=timezone.now()
    )
    Note.objects.create(ticket=ticket, author=admin_user, body="Called the customer")
    client = Client()
    client.force_login(admin_user)
    return client


def _admin_urls() -> list[str]:
    return [f"{model._meta.app_label}_{model._meta.model_name}" for model in admin.site._registry]


@pytest.mark.parametrize("name", _admin_urls())
def test_every_admin_page_opens(admin_client_with_data: Client, name: str) -> None:
    client = admin_client_with_data
    assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{name}_changelist"), {"q": "x"}).status_code == 200
    add = client.get(reverse(f"admin:{name}_add"))
    assert add.status_code in (200, 403)
    model = next(
        m for m in admin.site._registry if f"{m._meta.app_label}_{m._meta.model_name}" == name
    )
    obj = model._default_manager.first()
    if obj is not None:
        assert client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code == 200


def test_administrators_group_member_can_use_the_admin(client: Client) -> None:
    agent = make_agent("ada")
    agent.groups.add(Group.objects.get(name="Administrators"))
    client.force_login(agent)
    page = client.get(reverse("admin:index"))
    assert page.status_code == 200
    assert b"Ticketboxes" in page.content
    assert client.get(reverse("admin:tickets_ticketbox_changelist")).status_code == 200


def test_plain_agent_cannot_open_the_admin(client: Client) -> None:
    client.force_login(make_agent())
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_builtin_unassigned_ticketbox_cannot_be_deleted(admin_client_with_data: Client) -> None:
    unassigned = services.unassigned_ticketbox()
    url = reverse("admin:tickets_ticketbox_delete", args=[unassigned.pk])
    assert admin_client_with_data.get(url).status_code == 403
    assert admin_client_with_data.post(url, {"post": "yes"}).status_code == 403
    assert services.unassigned_ticketbox() == unassigned


def test_builtin_groups_cannot_be_deleted_or_renamed(admin_client_with_data: Client) -> None:
    everyone = Group.objects.get(name=EVERYONE)
    url = reverse("admin:auth_group_delete", args=[everyone.pk])
    assert admin_client_with_data.post(url, {"post": "yes"}).status_code == 403
    change = admin_client_with_data.get(reverse("admin:auth_group_change", args=[everyone.pk]))
    assert b'name="name"' not in change.content


def test_ticket_created_in_admin_gets_the_next_number(admin_client_with_data: Client) -> None:
    last = Ticket.objects.order_by("-number").first().number
    box = services.unassigned_ticketbox()
    response = admin_client_with_data.post(
        reverse("admin:tickets_ticket_add"),
        {
            "subject": "Phoned in",
            "ticketbox": box.pk,
            "status": "open",
            "priority": 2,
            "created_at_0": "2026-01-02",
            "created_at_1": "10:00:00",
            **_empty_inlines("messages", "notes", "events"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Ticket.objects.get(subject="Phoned in").number == last + 1


def test_trash_and_restore_actions(admin_client_with_data: Client) -> None:
    ticket = Ticket.objects.get()
    url = reverse("admin:tickets_ticket_changelist")
    admin_client_with_data.post(url, {"action": "trash_tickets", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.in_trash
    admin_client_with_data.post(url, {"action": "restore_tickets", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert not ticket.in_trash


def test_contact_custom_fields_are_edited_as_form_fields(admin_client_with_data: Client) -> None:
    ContactField.objects.create(key="plan", label="Plan", kind="choice", choices="Free\nPro")
    ContactField.objects.create(key="seats", label="Seats", kind="number")
    response = admin_client_with_data.post(
        reverse("admin:contacts_contact_add"),
        {
            "name": "Erin",
            "company": "Acme",
            "notes": "",
            "custom__plan": "Pro",
            "custom__seats": "12",
            "emails-TOTAL_FORMS": "2",
            "emails-INITIAL_FORMS": "0",
            "emails-0-address": "erin@acme.test",
            "emails-0-is_primary": "on",
            "emails-1-address": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    erin = Contact.objects.get(name="Erin")
    assert erin.custom == {"plan": "Pro", "seats": 12}
    assert erin.primary_email == "erin@acme.test"


def test_contact_form_refuses_an_address_twice(admin_client_with_data: Client) -> None:
    response = admin_client_with_data.post(
        reverse("admin:contacts_contact_add"),
        {
            "name": "Dup",
            "emails-TOTAL_FORMS": "2",
            "emails-INITIAL_FORMS": "0",
            "emails-0-address": "dup@example.com",
            "emails-1-address": "DUP@example.com",
        },
    )
    assert response.status_code == 200
    assert b"listed twice" in response.content
    assert not Contact.objects.filter(name="Dup").exists()


def test_contact_form_refuses_an_address_of_another_contact(
    admin_client_with_data: Client,
) -> None:
    taken = Contact.objects.get().emails.get().address
    response = admin_client_with_data.post(
        reverse("admin:contacts_contact_add"),
        {
            "name": "Thief",
            "emails-TOTAL_FORMS": "1",
            "emails-INITIAL_FORMS": "0",
            "emails-0-address": taken.upper(),
        },
    )
    assert response.status_code == 200
    assert b"already belongs to a contact" in response.content


def _empty_inlines(*prefixes: str) -> dict[str, str]:
    data = {}
    for prefix in prefixes:
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


@pytest.mark.parametrize(
    "name", ["tickets_ticketevent", "conduit_inboundmessage", "conduit_sourcemessage"]
)
def test_evidence_cannot_be_added_by_hand(admin_client_with_data: Client, name: str) -> None:
    assert admin_client_with_data.get(reverse(f"admin:{name}_add")).status_code == 403
