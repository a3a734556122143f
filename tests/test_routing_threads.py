"""Routing: how a mail finds its ticket (references, our signed Message-IDs, subject tags),
the reopen policy of each ticketbox, contacts and their owners, and header priority."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conduit.outbound import OutboundMessage
from contacts.models import Contact, ContactEmail
from routing import ruleset
from routing.models import BlockedSender, RoutingRule, RuleCondition
from routing.services import RouteOutcome, route_batch, route_inbound
from routing.threads import new_message_id, tagged_numbers, ticket_number_in_message_id
from tests.factories import make_agent, make_ticketbox
from tests.mail import customer_mail, route_mail, store_mail
from tickets import services as ticket_services
from tickets.library import StandardResponse
from tickets.models import Message, Note, Ticket, Ticketbox, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_ruleset() -> Iterator[None]:
    """The compiled rule set is cached per process; each test starts without it."""
    ruleset._cached = None
    yield
    ruleset._cached = None


mail, store, route = customer_mail, store_mail, route_mail


def ticket_of(outcome: RouteOutcome) -> Ticket:
    return Ticket.objects.get(pk=outcome.ticket_id)


def reply_to_ticket(ticket: Ticket, *, message_id: str, **fields: Any) -> bytes:
    """A customer reply whose only clue is our signed Message-ID in In-Reply-To."""
    return mail(
        subject="Re: Broken widget",
        message_id=message_id,
        extra=f"In-Reply-To: {new_message_id(ticket.number)}\r\n",
        **fields,
    )


# ---------------------------------------------------------------------------------------
# Threading


def test_reply_threads_by_in_reply_to() -> None:
    first = route(mail())
    reply = route(
        mail(
            subject="Something else entirely",
            message_id="<m2@example.net>",
            extra="In-Reply-To: <m1@example.net>\r\n",
        )
    )
    assert reply.ticket_id == first.ticket_id
    assert not reply.new_ticket
    assert Ticket.objects.count() == 1
    event = TicketEvent.objects.get(ticket_id=first.ticket_id, kind=TicketEvent.Kind.MESSAGE_IN)
    assert event.detail["threaded_by"] == "In-Reply-To"


def test_reply_threads_by_references_alone() -> None:
    first = route(mail())
    reply = route(
        mail(
            subject="Other subject",
            message_id="<m2@example.net>",
            extra="References: <unknown-root@x> <m1@example.net>\r\n",
        )
    )
    assert reply.ticket_id == first.ticket_id and not reply.new_ticket
    event = TicketEvent.objects.get(ticket_id=first.ticket_id, kind=TicketEvent.Kind.MESSAGE_IN)
    assert event.detail["threaded_by"] == "References"


def test_unrelated_mail_opens_its_own_ticket() -> None:
    first = route(mail())
    other = route(mail(message_id="<m2@example.net>", extra="In-Reply-To: <nobody@x>\r\n"))
    assert other.new_ticket and other.ticket_id != first.ticket_id
    assert Ticket.objects.count() == 2


def test_our_signed_message_id_threads_without_any_message_row() -> None:
    ticket = ticket_services.create_ticket(subject="Printer on fire")
    our_id = new_message_id(ticket.number)
    assert not Message.objects.filter(message_id=our_id).exists()
    assert ticket_number_in_message_id(our_id) == ticket.number
    outcome = route(
        mail(
            subject="Re: your mail",
            message_id="<r1@example.net>",
            extra=f"References: {our_id}\r\n",
        )
    )
    assert outcome.ticket_id == ticket.pk and not outcome.new_ticket
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.MESSAGE_IN)
    assert event.detail["threaded_by"] == "our Message-ID"


def test_forged_message_id_of_our_shape_does_not_thread() -> None:
    ticket = ticket_services.create_ticket(subject="Printer on fire")
    genuine = new_message_id(ticket.number)
    # Same shape, the victim's number, a made-up signature.
    local, _, domain = genuine.strip("<>").partition("@")
    prefix, number, token, signature = local.split(".")
    bad_signature = "0" * 16 if signature != "0" * 16 else "1" * 16
    forged = f"<{prefix}.{number}.{token}.{bad_signature}@{domain}>"
    assert ticket_number_in_message_id(forged) is None
    # The genuine token signed for another ticket does not carry over either.
    other = f"<{prefix}.{ticket.number + 1}.{token}.{signature}@{domain}>"
    assert ticket_number_in_message_id(other) is None

    outcome = route(
        mail(
            subject="Re: Printer on fire",
            message_id="<f1@evil.example>",
            extra=f"In-Reply-To: {forged}\r\nReferences: {other}\r\n",
        )
    )
    assert outcome.new_ticket and outcome.ticket_id != ticket.pk
    assert not ticket.messages.exists()


def test_subject_tag_threads(settings: Any) -> None:
    ticket = ticket_services.create_ticket(subject="Printer on fire")
    tag = settings.MAILFLOW["TICKET_TAG"].replace("{number}", str(ticket.number))
    outcome = route(mail(subject=f"Re: Printer on fire {tag}"))
    assert outcome.ticket_id == ticket.pk and not outcome.new_ticket
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.MESSAGE_IN)
    assert event.detail["threaded_by"] == "subject tag"


@pytest.mark.parametrize(
    "written", ["[#tb-{n}]", "[#TB- {n} ]", "Re:[#Tb-{n}]Broken", "[#TB-{n} ]"]
)
def test_subject_tag_tolerates_case_and_spaces(written: str) -> None:
    ticket = ticket_services.create_ticket(subject="Broken")
    subject = written.format(n=ticket.number)
    assert tagged_numbers(subject) == [ticket.number]
    outcome = route(mail(subject=subject))
    assert outcome.ticket_id == ticket.pk and not outcome.new_ticket


def test_custom_tag_format_threads(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "TICKET_TAG": "[Ticket#{number}]"}
    ticket = ticket_services.create_ticket(subject="Printer on fire")
    assert route(mail(subject=f"AW: [ticket# {ticket.number}] Printer")).ticket_id == ticket.pk
    # The default tag no longer threads once the site uses its own format.
    other = route(mail(subject=f"Re: [#TB-{ticket.number}]", message_id="<m2@example.net>"))
    assert other.new_ticket and other.ticket_id != ticket.pk


def test_tag_of_an_unknown_ticket_opens_a_new_ticket() -> None:
    outcome = route(mail(subject="Re: [#TB-987654]"))
    assert outcome.new_ticket
    assert Ticket.objects.get().number != 987654


def test_reply_to_our_auto_reply_threads_although_the_client_dropped_the_tag(
    settings: Any,
) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "help@desk.example"}
    thanks = StandardResponse.objects.create(title="Thanks", body="We got it.")
    Ticketbox.objects.filter(system_key=Ticketbox.UNASSIGNED).update(
        auto_reply=Ticketbox.AutoReply.ALWAYS, auto_reply_response=thanks
    )
    first = route(mail())
    auto = OutboundMessage.objects.get(kind=OutboundMessage.Kind.AUTO_REPLY)
    assert f"[#TB-{ticket_of(first).number}]" in auto.subject

    # Outlook-style reply: tag gone from the subject, In-Reply-To our auto-reply.
    reply = route(
        mail(
            subject="RE: Broken widget",
            message_id="<m2@example.net>",
            extra=f"In-Reply-To: {auto.message_id}\r\nReferences: <m1@example.net> "
            f"{auto.message_id}\r\n",
        )
    )
    assert reply.ticket_id == first.ticket_id and not reply.new_ticket
    assert Ticket.objects.count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.AUTO_REPLY).count() == 1
    assert list(
        Message.objects.filter(ticket_id=first.ticket_id)
        .order_by("id")
        .values_list("direction", flat=True)
    ) == ["in", "out", "in"]


def test_references_win_over_a_disagreeing_subject_tag() -> None:
    first = route(mail())
    other = ticket_services.create_ticket(subject="Someone else's matter")
    reply = route(
        mail(
            subject=f"Re: Broken widget [#TB-{other.number}]",
            message_id="<m2@example.net>",
            extra="References: <m1@example.net>\r\n",
        )
    )
    assert reply.ticket_id == first.ticket_id
    assert not other.messages.exists()


def test_our_message_id_wins_over_a_disagreeing_subject_tag() -> None:
    mine = ticket_services.create_ticket(subject="Mine")
    other = ticket_services.create_ticket(subject="Other")
    outcome = route(
        mail(
            subject=f"Re: [#TB-{other.number}]",
            message_id="<m2@example.net>",
            extra=f"In-Reply-To: {new_message_id(mine.number)}\r\n",
        )
    )
    assert outcome.ticket_id == mine.pk


@pytest.mark.parametrize("clue", ["in_reply_to", "our_message_id", "subject_tag"])
def test_reply_to_a_ticket_in_the_trash_opens_a_new_ticket(clue: str) -> None:
    first = route(mail())
    trashed = ticket_of(first)
    ticket_services.move_to_trash(trashed)
    extra, subject = "", "Re: Broken widget"
    if clue == "in_reply_to":
        extra = "In-Reply-To: <m1@example.net>\r\n"
    elif clue == "our_message_id":
        extra = f"In-Reply-To: {new_message_id(trashed.number)}\r\n"
    else:
        subject = f"Re: Broken widget [#TB-{trashed.number}]"
    outcome = route(mail(subject=subject, message_id="<m2@example.net>", extra=extra))
    assert outcome.new_ticket and outcome.ticket_id != trashed.pk
    assert trashed.messages.count() == 1
    assert Ticket.objects.get(pk=outcome.ticket_id).deleted_at is None


def test_replies_within_one_batch_share_the_new_ticket() -> None:
    original = store(mail())
    reply = store(
        mail(
            subject="Re: Broken widget",
            message_id="<m2@example.net>",
            extra="In-Reply-To: <m1@example.net>\r\n",
        )
    )
    again = store(
        mail(
            subject="Re: Re: Broken widget",
            message_id="<m3@example.net>",
            extra="References: <m1@example.net> <m2@example.net>\r\n",
        )
    )
    outcomes = route_batch([original.pk, reply.pk, again.pk])
    assert [o.new_ticket for o in outcomes] == [True, False, False]
    assert len({o.ticket_id for o in outcomes}) == 1
    ticket = Ticket.objects.get()
    assert ticket.messages.count() == 3
    assert TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.CREATED).count() == 1


@pytest.mark.parametrize("how", ["blocked_trash", "rule_trash", "rule_discard"])
@pytest.mark.parametrize("batched", [True, False], ids=["one_batch", "one_by_one"])
def test_reply_to_a_mail_going_to_the_trash_opens_its_own_ticket_even_in_one_batch(
    how: str, batched: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Whether two mails arrive in one fetch or two must not matter: a reply to mail that
    goes to the trash (or is discarded) opens a ticket of its own, as a reply to a ticket
    already in the trash does, and the batch routes in one go."""
    if how == "blocked_trash":
        BlockedSender.objects.create(pattern="spam@bad.example")
    else:
        action = RoutingRule.Delete.TRASH if how == "rule_trash" else RoutingRule.Delete.DISCARD
        rule = RoutingRule.objects.create(name="Spam", delete_action=action)
        RuleCondition.objects.create(
            rule=rule, field="from_address", operator="ends_with", value="@bad.example"
        )
    spam = store(mail(sender="spam@bad.example", subject="You won", message_id="<s1@bad.example>"))
    reply = store(
        mail(
            subject="Re: You won",
            message_id="<c1@example.net>",
            extra="In-Reply-To: <s1@bad.example>\r\n",
        )
    )
    if batched:
        outcomes = route_batch([spam.pk, reply.pk])
    else:
        outcomes = [route_inbound(spam.pk), route_inbound(reply.pk)]
    assert "routing one by one" not in caplog.text
    assert len(outcomes) == 2
    assert outcomes[1].new_ticket and outcomes[1].ticket_id != outcomes[0].ticket_id
    ticket = ticket_of(outcomes[1])
    assert ticket.deleted_at is None
    assert ticket.contact is not None and ticket.contact.name == "Carla Customer"
    assert list(ticket.messages.values_list("message_id", flat=True)) == ["<c1@example.net>"]
    if how == "rule_discard":
        assert outcomes[0].ticket_id is None
    else:
        assert ticket_of(outcomes[0]).deleted_at is not None


# ---------------------------------------------------------------------------------------
# Replies to closed and waiting tickets


def close(ticket: Ticket, *, days_ago: float = 0) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.CLOSED, closed_at=timezone.now() - timedelta(days=days_ago)
    )


def test_reply_to_a_closed_ticket_reopens_it_by_default() -> None:
    first = route(mail())
    ticket = ticket_of(first)
    assert ticket.ticketbox.closed_reply == Ticketbox.ClosedReply.REOPEN
    close(ticket, days_ago=30)
    reply = route(reply_to_ticket(ticket, message_id="<m2@example.net>"))
    ticket.refresh_from_db()
    assert reply.ticket_id == ticket.pk and not reply.new_ticket
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.closed_at is None
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.STATUS)
    assert event.detail["from"] == "closed" and event.detail["to"] == "open"


def test_new_ticket_policy_opens_a_linked_ticket_in_the_old_ticketbox() -> None:
    sales = make_ticketbox("Sales", closed_reply=Ticketbox.ClosedReply.NEW_TICKET)
    old = ticket_services.create_ticket(subject="Quote", ticketbox=sales)
    close(old)
    outcome = route(reply_to_ticket(old, message_id="<m2@example.net>"))
    new = ticket_of(outcome)
    old.refresh_from_db()
    assert outcome.new_ticket and new.pk != old.pk
    assert new.follow_up_of == old
    assert new.ticketbox == sales
    assert old.status == Ticket.Status.CLOSED and old.closed_at is not None
    assert not old.messages.exists() and new.messages.count() == 1
    assert not TicketEvent.objects.filter(ticket=old, kind=TicketEvent.Kind.STATUS).exists()
    created = TicketEvent.objects.get(ticket=new, kind=TicketEvent.Kind.CREATED)
    assert created.detail["follow_up_of"] == old.number


def test_later_replies_to_a_closed_ticket_join_its_open_follow_up() -> None:
    sales = make_ticketbox("Sales", closed_reply=Ticketbox.ClosedReply.NEW_TICKET)
    old = ticket_services.create_ticket(subject="Quote", ticketbox=sales)
    close(old)
    first = route(reply_to_ticket(old, message_id="<m2@example.net>"))
    follow_up = ticket_of(first)
    # Another reply to the closed ticket (not to the follow-up) joins the open follow-up.
    second = route(reply_to_ticket(old, message_id="<m3@example.net>"))
    assert second.ticket_id == follow_up.pk and not second.new_ticket
    # Two more in one batch: one new follow-up once the first is closed, shared by both.
    close(follow_up)
    batch = route_batch(
        [
            store(reply_to_ticket(old, message_id="<m4@example.net>")).pk,
            store(reply_to_ticket(old, message_id="<m5@example.net>")).pk,
        ]
    )
    assert batch[0].new_ticket and not batch[1].new_ticket
    assert batch[0].ticket_id == batch[1].ticket_id != follow_up.pk
    assert ticket_of(batch[0]).follow_up_of == old
    assert Ticket.objects.filter(follow_up_of=old).count() == 2


def test_a_follow_up_stays_in_the_closed_tickets_ticketbox_whatever_address_it_was_sent_to() -> (
    None
):
    support = make_ticketbox("Support")
    support.addresses.create(address="support@example.com")
    billing = make_ticketbox("Billing", closed_reply=Ticketbox.ClosedReply.NEW_TICKET)
    old = ticket_services.create_ticket(subject="Invoice", ticketbox=billing)
    close(old)
    outcome = route(reply_to_ticket(old, message_id="<m2@example.net>", to="support@example.com"))
    assert ticket_of(outcome).ticketbox == billing
    fresh = route(mail(message_id="<m9@example.net>", to="support@example.com"))
    assert ticket_of(fresh).ticketbox == support


def test_a_reply_to_a_reply_in_one_batch_joins_the_ticket_the_reply_opened() -> None:
    rule = RoutingRule.objects.create(name="Spam", delete_action=RoutingRule.Delete.TRASH)
    RuleCondition.objects.create(
        rule=rule, field="from_address", operator="ends_with", value="@bad.example"
    )
    spam = store(mail(sender="spam@bad.example", message_id="<s1@bad.example>"))
    reply = store(mail(message_id="<c1@example.net>", extra="In-Reply-To: <s1@bad.example>\r\n"))
    again = store(
        mail(
            message_id="<c2@example.net>",
            extra="In-Reply-To: <c1@example.net>\r\n"
            "References: <s1@bad.example> <c1@example.net>\r\n",
        )
    )
    outcomes = route_batch([spam.pk, reply.pk, again.pk])
    assert outcomes[1].new_ticket and not outcomes[2].new_ticket
    assert outcomes[2].ticket_id == outcomes[1].ticket_id != outcomes[0].ticket_id


@pytest.mark.parametrize(("days_ago", "reopened"), [(10, False), (2, True)])
def test_reopen_only_within_reopen_days(days_ago: int, reopened: bool) -> None:
    box = make_ticketbox(closed_reply=Ticketbox.ClosedReply.REOPEN, reopen_days=7)
    old = ticket_services.create_ticket(subject="Quote", ticketbox=box)
    close(old, days_ago=days_ago)
    outcome = route(reply_to_ticket(old, message_id="<m2@example.net>"))
    old.refresh_from_db()
    if reopened:
        assert outcome.ticket_id == old.pk and not outcome.new_ticket
        assert old.status == Ticket.Status.OPEN and old.closed_at is None
    else:
        new = ticket_of(outcome)
        assert outcome.new_ticket and new.pk != old.pk
        assert new.follow_up_of == old and new.ticketbox == box
        assert old.status == Ticket.Status.CLOSED


def test_reply_to_a_waiting_ticket_sets_it_open() -> None:
    first = route(mail())
    Ticket.objects.filter(pk=first.ticket_id).update(status=Ticket.Status.WAITING)
    route(
        mail(
            subject="Re: Broken widget",
            message_id="<m2@example.net>",
            extra="In-Reply-To: <m1@example.net>\r\n",
        )
    )
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.status == Ticket.Status.OPEN
    event = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.STATUS)
    assert event.detail["from"] == "waiting"


def test_reply_to_an_on_hold_ticket_keeps_it_on_hold() -> None:
    first = route(mail())
    Ticket.objects.filter(pk=first.ticket_id).update(status=Ticket.Status.ON_HOLD)
    route(mail(message_id="<m2@example.net>", extra="In-Reply-To: <m1@example.net>\r\n"))
    assert Ticket.objects.get(pk=first.ticket_id).status == Ticket.Status.ON_HOLD


def test_threaded_replies_do_not_get_rules_applied() -> None:
    agent = make_agent()
    rule = RoutingRule.objects.create(
        name="Widgets", set_priority=4, assign_to=agent, add_note="Widget trouble"
    )
    RuleCondition.objects.create(rule=rule, field="subject", operator="contains", value="widget")
    first = route(mail())
    ticket = ticket_of(first)
    assert ticket.priority == 4 and ticket.owner == agent
    Ticket.objects.filter(pk=ticket.pk).update(priority=1, owner=None)

    route(
        mail(
            subject="Re: Broken widget",
            message_id="<m2@example.net>",
            extra="In-Reply-To: <m1@example.net>\r\n",
        )
    )
    ticket.refresh_from_db()
    rule.refresh_from_db()
    assert ticket.priority == 1 and ticket.owner is None
    assert Note.objects.filter(ticket=ticket).count() == 1
    assert rule.hit_count == 1
    assert Ticket.objects.count() == 1


# ---------------------------------------------------------------------------------------
# Contacts


def test_new_sender_gets_a_contact_named_by_the_display_name() -> None:
    ticket = ticket_of(route(mail(sender='"Dora Dinkel" <Dora@Example.org>')))
    contact = ticket.contact
    assert contact is not None and contact.name == "Dora Dinkel"
    assert [e.address.lower() for e in contact.emails.all()] == ["dora@example.org"]


def test_same_sender_in_another_case_reuses_the_contact() -> None:
    first = ticket_of(route(mail()))
    second = ticket_of(route(mail(sender="CARLA@EXAMPLE.NET", message_id="<m2@example.net>")))
    assert first.pk != second.pk
    assert first.contact_id == second.contact_id
    assert Contact.objects.count() == 1 and ContactEmail.objects.count() == 1


def test_mail_from_either_address_of_a_contact_lands_on_it() -> None:
    contact = Contact.objects.create(name="Erik Both")
    ContactEmail.objects.create(contact=contact, address="erik@work.example", is_primary=True)
    ContactEmail.objects.create(contact=contact, address="erik@home.example")
    one = ticket_of(route(mail(sender="Erik <erik@work.example>")))
    two = ticket_of(route(mail(sender="Erik <Erik@Home.example>", message_id="<m2@example.net>")))
    assert one.contact == contact and two.contact == contact
    assert Contact.objects.count() == 1 and ContactEmail.objects.count() == 2


def owned_contact(*, route_to_owner: bool) -> tuple[Contact, Any]:
    agent = make_agent()
    contact = Contact.objects.create(name="Vera VIP", owner=agent, route_to_owner=route_to_owner)
    ContactEmail.objects.create(contact=contact, address="vera@vip.example", is_primary=True)
    return contact, agent


def test_contact_owner_gets_new_tickets_when_routing_to_owner() -> None:
    contact, agent = owned_contact(route_to_owner=True)
    ticket = ticket_of(route(mail(sender="vera@vip.example")))
    assert ticket.contact == contact
    assert ticket.owner == agent
    routed = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.ROUTED)
    assert "owner of contact" in routed.detail["owner_why"]


def test_contact_owner_is_not_used_without_route_to_owner() -> None:
    contact, _ = owned_contact(route_to_owner=False)
    ticket = ticket_of(route(mail(sender="vera@vip.example")))
    assert ticket.contact == contact
    assert ticket.owner is None


def test_rule_assignment_wins_over_the_contact_owner() -> None:
    _, contact_owner = owned_contact(route_to_owner=True)
    rule_agent = make_agent()
    rule = RoutingRule.objects.create(name="Widgets to Rita", assign_to=rule_agent)
    RuleCondition.objects.create(rule=rule, field="subject", operator="contains", value="widget")
    ticket = ticket_of(route(mail(sender="vera@vip.example")))
    assert ticket.owner == rule_agent != contact_owner


# ---------------------------------------------------------------------------------------
# Priority


@pytest.mark.parametrize(
    ("header", "priority"),
    [
        ("X-Priority: 1 (Highest)\r\n", Ticket.Priority.URGENT),
        ("X-Priority: 2\r\n", Ticket.Priority.HIGH),
        ("Importance: low\r\n", Ticket.Priority.LOW),
        ("Priority: urgent\r\n", Ticket.Priority.URGENT),
        ("", Ticket.Priority.NORMAL),
    ],
)
def test_priority_comes_from_the_mail_headers(header: str, priority: int) -> None:
    outcome = route(mail(extra=header))
    assert ticket_of(outcome).priority == priority
    assert Message.objects.get(pk=outcome.message_id).priority == priority


def test_rule_priority_wins_over_the_headers() -> None:
    rule = RoutingRule.objects.create(name="Widgets are low", set_priority=Ticket.Priority.LOW)
    RuleCondition.objects.create(rule=rule, field="subject", operator="contains", value="widget")
    assert ticket_of(route(mail(extra="X-Priority: 1\r\n"))).priority == Ticket.Priority.LOW
    other = route(mail(subject="Invoice", message_id="<m2@example.net>", extra="X-Priority: 1\r\n"))
    assert ticket_of(other).priority == Ticket.Priority.URGENT


@pytest.mark.parametrize("clue", ["tag", "our_message_id"])
def test_a_reply_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(
    clue: str, admin_user: Any
) -> None:
    from tickets import workflow

    source = ticket_services.create_ticket(subject="Order late")
    target = ticket_services.create_ticket(subject="Order late (again)")
    workflow.merge(admin_user, source, into=target.number)
    source.refresh_from_db()
    assert source.in_trash and source.merged_into == target
    if clue == "tag":
        raw = mail(subject=f"Re: Order late [#TB-{source.number}]", message_id="<m7@example.net>")
    else:
        raw = reply_to_ticket(source, message_id="<m7@example.net>")
    outcome = route(raw)
    assert outcome.ticket_id == target.pk and not outcome.new_ticket
