"""Ticket actions in the agent workspace: each is a POST that changes the ticket for an
agent with the level it needs, records who did it, and answers 404 (changing nothing) for
a ticket outside the agent's rights. Also merge, moving a message, bulk actions and the
"require Get Oldest" rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertReceipt
from conduit.models import InboundMessage
from conduit.outbound import OutboundMessage
from tests.factories import make_agent, make_ticket, make_ticketbox
from tests.mail import route_mail
from tickets.models import (
    Attachment,
    Message,
    Note,
    Ticket,
    Ticketbox,
    TicketboxAccess,
    TicketEvent,
)
from tickets.selectors import MANAGE, READ, REPLY

pytestmark = pytest.mark.django_db
Kind = TicketEvent.Kind


@dataclass
class Desk:
    box: Ticketbox  # reader READ, replier REPLY, manager MANAGE
    other: Ticketbox  # manager MANAGE, replier READ
    secret: Ticketbox  # nobody but administrators
    reader: Any
    replier: Any
    manager: Any


def grant(box: Ticketbox, agent: Any, level: int) -> None:
    TicketboxAccess.objects.create(ticketbox=box, agent=agent, level=level)


@pytest.fixture
def desk() -> Desk:
    box, other, secret = make_ticketbox("Support"), make_ticketbox("Sales"), make_ticketbox("HR")
    reader, replier, manager = make_agent("reader"), make_agent("replier"), make_agent("manager")
    grant(box, reader, READ)
    grant(box, replier, REPLY)
    grant(box, manager, MANAGE)
    grant(other, manager, MANAGE)
    grant(other, replier, READ)
    return Desk(box, other, secret, reader, replier, manager)


def client_for(agent: Any) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def post(who: Any, name: str, /, *args: Any, **data: Any) -> Any:
    return client_for(who).post(reverse(f"desk:{name}", args=args), data)


def flash(response: Any) -> str:
    return " | ".join(str(m) for m in get_messages(response.wsgi_request))


def events(ticket: Ticket, kind: str) -> list[TicketEvent]:
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind))


def snapshot() -> tuple[Any, ...]:
    return (
        list(
            Ticket.objects.order_by("pk").values_list(
                "status",
                "priority",
                "owner_id",
                "ticketbox_id",
                "deleted_at",
                "escalated_to_id",
                "closed_at",
            )
        ),
        list(Message.objects.order_by("pk").values_list("ticket_id", flat=True)),
        list(Note.objects.order_by("pk").values_list("ticket_id", flat=True)),
        TicketEvent.objects.count(),
    )


def mail_with_attachment(n: int) -> bytes:
    return (
        f"From: Carla <carla@example.net>\r\nTo: support@example.com\r\nSubject: Order {n}\r\n"
        f"Message-ID: <order{n}@example.net>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n"
        "\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the invoice.\r\n"
        "--b\r\nContent-Type: application/pdf; name=invoice.pdf\r\n"
        "Content-Disposition: attachment; filename=invoice.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    ).encode()


def routed_ticket(box: Ticketbox, n: int) -> Ticket:
    """A ticket opened by real mail (a message with an attachment), moved into ``box``."""
    ticket = Ticket.objects.get(pk=route_mail(mail_with_attachment(n)).ticket_id)
    Ticket.objects.filter(pk=ticket.pk).update(ticketbox=box)
    ticket.refresh_from_db()
    return ticket


# --- each action, done by an agent with the right --------------------------------------


def test_take_makes_the_agent_owner_and_records_it(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    response = post(desk.replier, "take", ticket.number)
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket", args=[ticket.number])
    assert "You own" in flash(response)
    ticket.refresh_from_db()
    assert ticket.owner == desk.replier
    [event] = events(ticket, Kind.ASSIGNED)
    assert event.actor == desk.replier and event.detail["owner"] == "replier"
    again = post(desk.replier, "take", ticket.number)
    assert "already yours" in flash(again)
    assert len(events(ticket, Kind.ASSIGNED)) == 1


def test_assign_to_an_agent_and_back_to_nobody(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    response = post(desk.replier, "assign", ticket.number, agent=desk.manager.pk)
    assert "assigned to manager" in flash(response)
    ticket.refresh_from_db()
    assert ticket.owner == desk.manager
    post(desk.replier, "assign", ticket.number, agent="")
    ticket.refresh_from_db()
    assert ticket.owner is None
    kinds = [(e.actor, e.detail["owner"]) for e in events(ticket, Kind.ASSIGNED)]
    assert kinds == [(desk.replier, "manager"), (desk.replier, None)]


def test_assign_refuses_agents_who_cannot_answer_there_or_are_inactive(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    gone = make_agent("gone", is_active=False)
    grant(desk.box, gone, REPLY)
    before = snapshot()
    for to in (desk.reader, gone, make_agent("stranger")):
        response = post(desk.manager, "assign", ticket.number, agent=to.pk)
        assert response.status_code == 302 and flash(response), to
    assert snapshot() == before


def test_closing_stamps_closed_at_and_reopening_clears_it(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    response = post(desk.replier, "set_status", ticket.number, status="closed")
    assert "now closed" in flash(response)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED and ticket.closed_at is not None
    post(desk.replier, "set_status", ticket.number, status="waiting")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING and ticket.closed_at is None
    details = [e.detail for e in events(ticket, Kind.STATUS)]
    assert details == [{"from": "open", "to": "closed"}, {"from": "closed", "to": "waiting"}]
    before = snapshot()
    assert flash(post(desk.replier, "set_status", ticket.number, status="lost"))
    assert snapshot() == before


def test_set_priority(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    response = post(desk.replier, "set_priority", ticket.number, priority="4")
    assert "urgent" in flash(response)
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.URGENT
    [event] = events(ticket, Kind.PRIORITY)
    assert event.actor == desk.replier and event.detail == {"from": 2, "to": 4}
    before = snapshot()
    post(desk.replier, "set_priority", ticket.number, priority="9")
    assert snapshot() == before


def test_move_needs_manage_on_both_ticketboxes(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    response = post(desk.manager, "move", ticket.number, ticketbox=desk.other.pk)
    assert "moved to Sales" in flash(response)
    ticket.refresh_from_db()
    assert ticket.ticketbox == desk.other
    [event] = events(ticket, Kind.MOVED)
    assert event.actor == desk.manager and event.detail == {"from": "Support", "to": "Sales"}
    # The replier may only read Sales: not a target, and not theirs to move from.
    other_ticket = make_ticket(ticketbox=desk.box)
    before = snapshot()
    assert (
        post(desk.replier, "move", other_ticket.number, ticketbox=desk.other.pk).status_code == 404
    )
    assert (
        post(desk.manager, "move", other_ticket.number, ticketbox=desk.secret.pk).status_code == 404
    )
    assert snapshot() == before


def test_escalate_adds_the_note_and_alerts_the_supervisor(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    response = post(
        desk.replier, "escalate", ticket.number, agent=desk.manager.pk, note="Angry VIP"
    )
    assert "escalated to manager" in flash(response)
    ticket.refresh_from_db()
    assert ticket.escalated_to == desk.manager and ticket.escalated_at is not None
    note = Note.objects.get(ticket=ticket)
    assert note.body == "Angry VIP" and note.author == desk.replier and not note.private
    [event] = events(ticket, Kind.ESCALATED)
    assert event.actor == desk.replier and event.detail["to"] == "manager"
    [alert] = Alert.objects.filter(kind="escalation")
    assert alert.ticket == ticket and alert.body == "Angry VIP"
    assert f"#{ticket.number} escalated to manager by replier" in alert.title
    assert [r.agent for r in AlertReceipt.objects.filter(alert=alert)] == [desk.manager]


def test_escalate_needs_a_note_and_a_supervisor_who_can_see_the_ticket(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    before = snapshot()
    assert flash(post(desk.replier, "escalate", ticket.number, agent=desk.manager.pk, note=" "))
    stranger = make_agent("stranger")
    assert flash(post(desk.replier, "escalate", ticket.number, agent=stranger.pk, note="why"))
    assert flash(post(desk.replier, "escalate", ticket.number, agent="", note="why"))
    assert snapshot() == before


def test_add_note_shared_or_private_never_empty(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    assert "Note added" in flash(post(desk.replier, "note", ticket.number, body="Called back"))
    post(desk.replier, "note", ticket.number, body="Between us", private="1")
    notes = list(Note.objects.filter(ticket=ticket).values_list("body", "private", "author"))
    assert notes == [("Called back", False, desk.replier.pk), ("Between us", True, desk.replier.pk)]
    assert [e.detail["private"] for e in events(ticket, Kind.NOTE)] == [False, True]
    before = snapshot()
    assert "empty" in flash(post(desk.replier, "note", ticket.number, body="   "))
    assert snapshot() == before


def test_owner_with_reply_rights_trashes_and_restores_others_need_manage(desk: Desk) -> None:
    mine = make_ticket(ticketbox=desk.box, owner=desk.replier)
    theirs = make_ticket(ticketbox=desk.box, owner=desk.manager)
    response = post(desk.replier, "trash_ticket", mine.number)
    assert response["Location"] == reverse("desk:ticketbox", args=[desk.box.pk])
    assert "trash" in flash(response)
    mine.refresh_from_db()
    assert mine.in_trash and mine.deleted_by == desk.replier
    assert events(mine, Kind.DELETED)[0].actor == desk.replier
    before = snapshot()
    assert post(desk.replier, "trash_ticket", theirs.number).status_code == 404
    assert snapshot() == before
    assert "restored" in flash(post(desk.replier, "restore", mine.number))
    mine.refresh_from_db()
    assert not mine.in_trash
    assert events(mine, Kind.RESTORED)[0].actor == desk.replier
    post(desk.manager, "trash_ticket", theirs.number)
    post(desk.manager, "trash_ticket", mine.number)
    Ticket.objects.filter(pk=mine.pk).update(owner=None)
    before = snapshot()
    assert post(desk.reader, "restore", mine.number).status_code == 404
    assert post(desk.replier, "restore", mine.number).status_code == 404
    assert snapshot() == before
    assert post(desk.manager, "restore", mine.number).status_code == 302
    assert not Ticket.objects.get(pk=mine.pk).in_trash


def test_only_administrators_empty_the_trash(desk: Desk, admin_user: Any) -> None:
    trashed = routed_ticket(desk.box, 1)
    kept = make_ticket(ticketbox=desk.box)
    post(desk.manager, "trash_ticket", trashed.number)
    button = reverse("desk:empty_trash")
    assert button not in client_for(desk.manager).get(reverse("desk:trash")).content.decode()
    assert button in client_for(admin_user).get(reverse("desk:trash")).content.decode()
    before = snapshot()
    assert client_for(desk.manager).post(reverse("desk:empty_trash")).status_code == 404
    assert snapshot() == before
    response = client_for(admin_user).post(reverse("desk:empty_trash"))
    assert response["Location"] == reverse("desk:trash")
    assert "1 ticket deleted" in flash(response)
    assert list(Ticket.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Message.objects.filter(ticket_id=trashed.pk).exists()


def test_emptying_the_trash_deletes_raw_mail_and_the_files_no_other_ticket_uses(
    desk: Desk, admin_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    trashed, kept = routed_ticket(desk.box, 1), routed_ticket(desk.box, 2)
    raw_gone = trashed.messages.get().inbound.raw.name
    raw_kept = kept.messages.get().inbound.raw.name
    shared = trashed.messages.get().attachments.get().file.name
    assert shared == kept.messages.get().attachments.get().file.name  # same content, one file
    assert all(default_storage.exists(name) for name in (raw_gone, raw_kept, shared))
    post(desk.manager, "trash_ticket", trashed.number)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin_user).post(reverse("desk:empty_trash"))
    assert not default_storage.exists(raw_gone)
    assert default_storage.exists(raw_kept) and default_storage.exists(shared)
    assert InboundMessage.objects.count() == 1
    post(desk.manager, "trash_ticket", kept.number)
    with django_capture_on_commit_callbacks(execute=True):
        client_for(admin_user).post(reverse("desk:empty_trash"))
    assert not default_storage.exists(raw_kept) and not default_storage.exists(shared)
    assert not InboundMessage.objects.exists() and not Ticket.objects.exists()


# --- merge and moving messages -----------------------------------------------------------


def test_merge_moves_messages_notes_attachments_and_history(desk: Desk) -> None:
    source, target = routed_ticket(desk.box, 1), routed_ticket(desk.other, 2)
    source_message = source.messages.get()
    Note.objects.create(ticket=source, author=desk.replier, body="source note")
    delivery = OutboundMessage.objects.create(
        kind=OutboundMessage.Kind.REPLY,
        ticket=source,
        message_id="<x@desk>",
        envelope_from="help@desk.example",
        recipients=["carla@example.net"],
        raw="spool/x.eml",
    )
    source_events = set(TicketEvent.objects.filter(ticket=source).values_list("pk", flat=True))
    response = post(desk.manager, "merge", source.number, into=target.number)
    assert response["Location"] == reverse("desk:ticketbox", args=[desk.box.pk])
    assert f"merged into #{target.number}" in flash(response)
    source.refresh_from_db()
    assert source.in_trash
    assert source.messages.count() == 0 and source.notes.count() == 0
    assert target.messages.count() == 2
    assert Message.objects.get(pk=source_message.pk).ticket == target
    assert Attachment.objects.filter(message__ticket=target).count() == 2
    assert Note.objects.get(body="source note").ticket == target
    assert OutboundMessage.objects.get(pk=delivery.pk).ticket == target
    assert source_events <= set(target.events.values_list("pk", flat=True))
    [merged_in] = events(target, Kind.MERGED)
    assert merged_in.actor == desk.manager and merged_in.detail["merged"] == source.number
    [merged_out] = events(source, Kind.MERGED)
    assert merged_out.actor == desk.manager and merged_out.detail["into"] == target.number
    assert events(source, Kind.DELETED)[0].actor == desk.manager


def test_merge_refuses_itself_and_tickets_outside_manage_rights(desk: Desk) -> None:
    ticket, secret = make_ticket(ticketbox=desk.box), make_ticket(ticketbox=desk.secret)
    readable = make_ticket(ticketbox=desk.other)  # the replier reads it, cannot manage it
    before = snapshot()
    assert "itself" in flash(post(desk.manager, "merge", ticket.number, into=ticket.number))
    assert "no ticket" in flash(post(desk.manager, "merge", ticket.number, into=secret.number))
    assert "no ticket" in flash(post(desk.manager, "merge", ticket.number, into=999999))
    assert post(desk.replier, "merge", ticket.number, into=readable.number).status_code == 404
    assert post(desk.manager, "merge", secret.number, into=ticket.number).status_code == 404
    assert snapshot() == before


def test_move_message_to_another_ticket_even_the_last_one(desk: Desk) -> None:
    source, target = routed_ticket(desk.box, 1), routed_ticket(desk.other, 2)
    message = source.messages.get()
    response = post(desk.manager, "move_message", message.pk, to=target.number)
    assert response["Location"] == reverse("desk:ticket", args=[source.number])
    assert f"moved to #{target.number}" in flash(response)
    message.refresh_from_db()
    assert message.ticket == target and message.attachments.count() == 1
    source.refresh_from_db()
    assert source.messages.count() == 0 and not source.in_trash  # empty, allowed
    assert source.last_customer_message_at is None
    [out] = events(source, Kind.MOVED)
    [into] = events(target, Kind.MOVED)
    assert out.actor == into.actor == desk.manager
    assert out.detail["to_ticket"] == target.number
    assert into.detail["from_ticket"] == source.number


def test_move_message_needs_manage_on_both_tickets(desk: Desk) -> None:
    source, readable = routed_ticket(desk.box, 1), routed_ticket(desk.other, 2)
    secret = make_ticket(ticketbox=desk.secret)
    message = source.messages.get()
    hidden = routed_ticket(desk.secret, 3).messages.get()
    before = snapshot()
    assert post(desk.replier, "move_message", message.pk, to=readable.number).status_code == 404
    assert "no ticket" in flash(post(desk.manager, "move_message", message.pk, to=secret.number))
    assert "already" in flash(post(desk.manager, "move_message", message.pk, to=source.number))
    assert post(desk.manager, "move_message", hidden.pk, to=source.number).status_code == 404
    assert snapshot() == before


# --- access: outside rights is 404 and changes nothing; GET is refused ------------------

TICKET_ACTIONS = [
    ("take", {}),
    ("assign", {"agent": ""}),
    ("set_status", {"status": "closed"}),
    ("set_priority", {"priority": "4"}),
    ("move", {"ticketbox": "OTHER"}),
    ("escalate", {"agent": "MANAGER", "note": "help"}),
    ("trash_ticket", {}),
    ("restore", {}),
    ("merge", {"into": "OTHER_TICKET"}),
    ("note", {"body": "guessed"}),
]


def _fill(data: dict[str, str], desk: Desk, other_ticket: Ticket) -> dict[str, Any]:
    values = {
        "OTHER": desk.other.pk,
        "MANAGER": desk.manager.pk,
        "OTHER_TICKET": other_ticket.number,
    }
    return {key: values.get(value, value) for key, value in data.items()}


@pytest.mark.parametrize(("name", "data"), TICKET_ACTIONS)
def test_actions_on_a_ticket_outside_the_agents_rights_answer_404(
    desk: Desk, name: str, data: dict[str, str]
) -> None:
    secret = make_ticket(ticketbox=desk.secret)
    visible = make_ticket(ticketbox=desk.box)
    if name == "restore":
        Ticket.objects.filter(pk=secret.pk).update(deleted_at="2026-01-01T00:00:00Z")
    before = snapshot()
    for agent in (desk.reader, desk.replier, desk.manager):
        response = post(agent, name, secret.number, **_fill(data, desk, visible))
        assert response.status_code == 404, (agent, name)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "data", "level"),
    [
        *[(name, data, READ) for name, data in TICKET_ACTIONS if name != "restore"],
        ("move", {"ticketbox": "OTHER"}, REPLY),
        ("merge", {"into": "OTHER_TICKET"}, REPLY),
        ("trash_ticket", {}, REPLY),  # not the owner
    ],
)
def test_actions_below_the_level_they_need_answer_404(
    desk: Desk, name: str, data: dict[str, str], level: int
) -> None:
    ticket, other_ticket = make_ticket(ticketbox=desk.box), make_ticket(ticketbox=desk.box)
    agent = desk.reader if level == READ else desk.replier
    before = snapshot()
    response = post(agent, name, ticket.number, **_fill(data, desk, other_ticket))
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "url",
    [
        *[("desk:" + name, "ticket") for name, _ in TICKET_ACTIONS],
        ("desk:move_message", "message"),
        ("desk:get_oldest", "box"),
        ("desk:bulk", None),
        ("desk:empty_trash", None),
    ],
)
def test_actions_refuse_get(desk: Desk, admin_user: Any, url: tuple[str, str | None]) -> None:
    ticket = routed_ticket(desk.box, 1)
    args = {
        "ticket": [ticket.number],
        "message": [ticket.messages.get().pk],
        "box": [desk.box.pk],
        None: [],
    }[url[1]]
    before = snapshot()
    assert client_for(admin_user).get(reverse(url[0], args=args)).status_code == 405
    assert snapshot() == before


# --- bulk ---------------------------------------------------------------------------------


def test_bulk_applies_where_the_agent_has_the_right_and_counts_the_rest(desk: Desk) -> None:
    mine = [make_ticket(ticketbox=desk.box) for _ in range(3)]
    readable = make_ticket(ticketbox=desk.other)  # READ only for the replier
    secret = make_ticket(ticketbox=desk.secret)
    numbers = [t.number for t in [*mine, readable, secret]] + [999999]
    next_url = reverse("desk:ticketbox", args=[desk.box.pk]) + "?status=all"
    response = post(desk.replier, "bulk", tickets=numbers, action="take", next=next_url)
    assert response["Location"] == next_url
    assert flash(response) == "Took 3 tickets. Skipped 3: outside your rights or not possible."
    owners = dict(Ticket.objects.values_list("number", "owner_id"))
    assert all(owners[t.number] == desk.replier.pk for t in mine)
    assert owners[readable.number] is None and owners[secret.number] is None
    assert all(events(t, Kind.ASSIGNED)[0].actor == desk.replier for t in mine)


def test_bulk_status_assign_move_trash_and_restore(desk: Desk) -> None:
    tickets = [make_ticket(ticketbox=desk.box) for _ in range(2)]
    numbers = [t.number for t in tickets]
    post(desk.manager, "bulk", tickets=numbers, action="status", status="on_hold")
    assert set(Ticket.objects.values_list("status", flat=True)) == {"on_hold"}
    post(desk.manager, "bulk", tickets=numbers, action="assign", agent=desk.replier.pk)
    assert set(Ticket.objects.values_list("owner_id", flat=True)) == {desk.replier.pk}
    response = post(desk.replier, "bulk", tickets=numbers, action="move", ticketbox=desk.other.pk)
    assert "Choose the ticketbox" in flash(response)  # Sales is no target for the replier
    post(desk.manager, "bulk", tickets=numbers, action="move", ticketbox=desk.other.pk)
    assert set(Ticket.objects.values_list("ticketbox_id", flat=True)) == {desk.other.pk}
    post(desk.manager, "bulk", tickets=numbers, action="trash")
    assert Ticket.objects.in_trash().count() == 2
    post(desk.manager, "bulk", tickets=numbers, action="restore")
    assert Ticket.objects.in_trash().count() == 0
    assert TicketEvent.objects.filter(kind=Kind.RESTORED, actor=desk.manager).count() == 2


def test_bulk_trash_by_a_replier_takes_only_the_tickets_they_own(desk: Desk) -> None:
    owned = make_ticket(ticketbox=desk.box, owner=desk.replier)
    not_owned = make_ticket(ticketbox=desk.box)
    response = post(desk.replier, "bulk", tickets=[owned.number, not_owned.number], action="trash")
    assert "Skipped 1" in flash(response)
    assert list(Ticket.objects.in_trash().values_list("pk", flat=True)) == [owned.pk]


def test_bulk_never_redirects_off_site_and_needs_an_action(desk: Desk) -> None:
    ticket = make_ticket(ticketbox=desk.box)
    before = snapshot()
    for bad in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = post(desk.replier, "bulk", tickets=[ticket.number], action="", next=bad)
        assert response["Location"] == reverse("desk:mine")
        assert "Choose an action" in flash(response)
    assert snapshot() == before


# --- require Get Oldest -------------------------------------------------------------------


def test_require_get_oldest_stops_picking_unowned_tickets_below_manage(desk: Desk) -> None:
    Ticketbox.objects.filter(pk=desk.box.pk).update(require_get_oldest=True)
    unowned = make_ticket(ticketbox=desk.box)
    before = snapshot()
    response = post(desk.replier, "take", unowned.number)
    assert response["Location"] == reverse("desk:ticketbox", args=[desk.box.pk])
    assert "Get Oldest" in flash(response)
    post(desk.replier, "assign", unowned.number, agent=desk.replier.pk)
    post(desk.replier, "bulk", tickets=[unowned.number], action="take")
    assert snapshot() == before
    # Get Oldest itself hands it out; a manager may pick; an owned ticket may be taken over.
    response = post(desk.replier, "get_oldest", desk.box.pk)
    assert response["Location"] == reverse("desk:ticket", args=[unowned.number])
    assert Ticket.objects.get(pk=unowned.pk).owner == desk.replier
    another = make_ticket(ticketbox=desk.box)
    post(desk.manager, "take", another.number)
    assert Ticket.objects.get(pk=another.pk).owner == desk.manager
    post(desk.replier, "take", another.number)
    assert Ticket.objects.get(pk=another.pk).owner == desk.replier


# --- Get Oldest ---------------------------------------------------------------------------


def test_get_oldest_hands_out_the_longest_waiting_open_unowned_ticket(desk: Desk) -> None:
    now = timezone.now()
    waited = make_ticket(ticketbox=desk.box, last_customer_message_at=now - timedelta(hours=5))
    make_ticket(
        ticketbox=desk.box, last_customer_message_at=now - timedelta(hours=9), owner=desk.manager
    )
    make_ticket(ticketbox=desk.box, created_at=now - timedelta(days=3), status="closed")
    make_ticket(ticketbox=desk.box, created_at=now - timedelta(days=3), in_trash=True)
    make_ticket(ticketbox=desk.other, created_at=now - timedelta(days=3))
    newest = make_ticket(ticketbox=desk.box, created_at=now - timedelta(hours=1))
    older_by_creation = make_ticket(ticketbox=desk.box, created_at=now - timedelta(hours=6))
    handed = []
    for _ in range(3):
        response = post(desk.replier, "get_oldest", desk.box.pk)
        handed.append(response["Location"])
    assert handed == [
        reverse("desk:ticket", args=[older_by_creation.number]),
        reverse("desk:ticket", args=[waited.number]),
        reverse("desk:ticket", args=[newest.number]),
    ]
    assert Ticket.objects.filter(owner=desk.replier).count() == 3
    event = events(waited, Kind.ASSIGNED)[0]
    assert event.actor == desk.replier and event.detail["how"] == "get oldest"
    response = post(desk.replier, "get_oldest", desk.box.pk)
    assert response["Location"] == reverse("desk:ticketbox", args=[desk.box.pk])
    assert "Nothing waiting" in flash(response)


def test_get_oldest_needs_reply_rights_on_the_ticketbox(desk: Desk) -> None:
    make_ticket(ticketbox=desk.box)
    make_ticket(ticketbox=desk.secret)
    before = snapshot()
    assert post(desk.reader, "get_oldest", desk.box.pk).status_code == 404
    assert post(desk.manager, "get_oldest", desk.secret.pk).status_code == 404
    assert snapshot() == before
