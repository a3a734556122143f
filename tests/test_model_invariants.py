"""The invariants of the core data model."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts.models import Contact, ContactEmail
from contacts.services import find_or_create_contact
from tests.factories import make_agent, make_ticket, make_ticketbox
from tickets import services
from tickets.agents import ADMINISTRATORS, EVERYONE, AgentProfile, Signature
from tickets.models import Ticket, Ticketbox, TicketboxAccess, TicketboxAddress, TicketEvent

pytestmark = pytest.mark.django_db


def test_builtin_groups_and_unassigned_ticketbox_exist() -> None:
    assert set(Group.objects.values_list("name", flat=True)) >= {EVERYONE, ADMINISTRATORS}
    unassigned = services.unassigned_ticketbox()
    assert unassigned.name == "Unassigned"
    assert unassigned.is_builtin
    everyone_access = TicketboxAccess.objects.get(ticketbox=unassigned, group__name=EVERYONE)
    assert everyone_access.level == TicketboxAccess.Level.REPLY


def test_new_agent_joins_everyone_and_gets_preferences() -> None:
    agent = make_agent("dana")
    assert list(agent.groups.values_list("name", flat=True)) == [EVERYONE]
    profile = AgentProfile.objects.get(agent=agent)
    assert profile.rows_per_page == 50
    assert profile.quote_replies is True
    assert not agent.is_staff


def test_superuser_joins_administrators(django_user_model: type) -> None:
    root = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    assert set(root.groups.values_list("name", flat=True)) == {EVERYONE, ADMINISTRATORS}


def test_joining_administrators_grants_every_permission_and_the_admin_site() -> None:
    agent = make_agent()
    perm = "tickets.delete_ticketbox"
    assert not agent.has_perm(perm)

    agent.groups.add(Group.objects.get(name=ADMINISTRATORS))
    agent = type(agent).objects.get(pk=agent.pk)
    assert agent.is_staff
    assert agent.has_perm(perm)
    assert agent.has_module_perms("routing")


def test_leaving_administrators_closes_the_admin_site_from_either_side() -> None:
    administrators = Group.objects.get(name=ADMINISTRATORS)
    first, second = make_agent(), make_agent()
    administrators.user_set.add(first, second)
    first.refresh_from_db()
    assert first.is_staff

    first.groups.remove(administrators)
    administrators.user_set.clear()
    first.refresh_from_db()
    second.refresh_from_db()
    assert not first.is_staff and not second.is_staff
    assert not type(first).objects.get(pk=first.pk).has_perm("tickets.delete_ticketbox")


def test_staff_granted_by_hand_survives_unrelated_group_changes() -> None:
    supervisor = make_agent(is_staff=True)
    supervisor.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    supervisor.groups.add(Group.objects.create(name="Supervisors"))
    supervisor.refresh_from_db()
    assert supervisor.is_staff


@pytest.mark.parametrize("second", ["alice@example.com", "ALICE@Example.COM", "Alice@example.com"])
def test_contact_address_is_unique_whatever_its_case(second: str) -> None:
    first = Contact.objects.create(name="Alice")
    ContactEmail.objects.create(contact=first, address="alice@example.com")
    other = Contact.objects.create(name="Impostor")
    with pytest.raises(IntegrityError), transaction.atomic():
        ContactEmail.objects.create(contact=other, address=second)


def test_contact_has_many_addresses_and_is_found_by_any_in_any_case() -> None:
    contact = find_or_create_contact("Bob@Example.org", name="Bob")
    ContactEmail.objects.create(contact=contact, address="bob.work@example.com")
    assert find_or_create_contact("bob@example.org") == contact
    assert find_or_create_contact("BOB.WORK@example.com") == contact
    assert Contact.objects.count() == 1
    assert contact.primary_email == "Bob@Example.org"


def test_unknown_sender_gets_a_new_contact_named_from_the_display_name() -> None:
    contact = find_or_create_contact("new@example.net", name="  New Person ")
    assert contact.name == "New Person"
    assert list(contact.emails.values_list("address", flat=True)) == ["new@example.net"]


def test_ticketbox_inbound_address_is_unique_whatever_its_case() -> None:
    TicketboxAddress.objects.create(ticketbox=make_ticketbox(), address="support@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketboxAddress.objects.create(ticketbox=make_ticketbox(), address="Support@EXAMPLE.com")


def test_access_names_exactly_one_of_group_or_agent() -> None:
    box = make_ticketbox()
    group = Group.objects.get(name=EVERYONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketboxAccess.objects.create(ticketbox=box, group=group, agent=make_agent())
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketboxAccess.objects.create(ticketbox=box)
    TicketboxAccess.objects.create(ticketbox=box, group=group)
    with pytest.raises(IntegrityError), transaction.atomic():
        TicketboxAccess.objects.create(ticketbox=box, group=group, level=3)


def test_an_agent_has_at_most_one_default_signature() -> None:
    agent = make_agent()
    Signature.objects.create(agent=agent, name="Formal", body="Regards", is_default=True)
    Signature.objects.create(agent=agent, name="Short", body="-- A")
    with pytest.raises(IntegrityError), transaction.atomic():
        Signature.objects.create(agent=agent, name="Other", body="x", is_default=True)


def test_new_ticket_goes_to_unassigned_with_a_number_and_history() -> None:
    ticket = make_ticket()
    assert ticket.ticketbox == services.unassigned_ticketbox()
    assert ticket.number >= 1000
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.priority == Ticket.Priority.NORMAL
    assert list(ticket.events.values_list("kind", flat=True)) == [TicketEvent.Kind.CREATED]


def test_ticket_numbers_increase_one_by_one() -> None:
    numbers = [make_ticket().number for _ in range(5)]
    assert numbers == list(range(numbers[0], numbers[0] + 5))


def test_rolled_back_ticket_does_not_consume_a_number() -> None:
    first = make_ticket().number
    with pytest.raises(RuntimeError), transaction.atomic():
        make_ticket()
        raise RuntimeError("the routing step failed")
    assert make_ticket().number == first + 1


def test_trash_is_a_soft_delete_and_restorable() -> None:
    ticket = make_ticket()
    agent = make_agent()
    services.move_to_trash(ticket, actor=agent)
    assert Ticket.objects.in_trash().get() == ticket
    assert not Ticket.objects.active().exists()
    services.restore_from_trash(ticket, actor=agent)
    ticket.refresh_from_db()
    assert ticket.deleted_at is None and ticket.deleted_by is None
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == ["created", "deleted", "restored"]


def test_ticketbox_validation_explains_what_to_fix() -> None:
    box = Ticketbox(
        name="Sales", auto_reply=Ticketbox.AutoReply.ALWAYS, low_watermark=10, high_watermark=5
    )
    with pytest.raises(ValidationError) as excinfo:
        box.full_clean()
    errors = excinfo.value.message_dict
    assert "standard response" in errors["auto_reply_response"][0]
    assert "above the low watermark" in errors["high_watermark"][0]


def test_response_category_names_are_unique_among_siblings() -> None:
    from tickets.library import StandardResponseCategory as Category

    sales = Category.objects.create(name="Sales")
    Category.objects.create(name="Pricing", parent=sales)
    Category.objects.create(name="Pricing")  # a top-level one of the same name is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name="Pricing", parent=sales)
    with pytest.raises(IntegrityError), transaction.atomic():
        Category.objects.create(name="Sales")


def test_builtins_come_back_after_every_migrate() -> None:
    from django.core.management import call_command

    from tickets.models import Counter

    services.unassigned_ticketbox().delete()
    Group.objects.filter(name=EVERYONE).delete()
    numbers_before = Counter.objects.get(name="ticket_number").value
    call_command("migrate", verbosity=0)
    assert services.unassigned_ticketbox().access.get().group.name == EVERYONE
    assert Counter.objects.get(name="ticket_number").value == numbers_before  # never reset
