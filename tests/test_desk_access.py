"""The access matrix: agents with each level, granted directly or through a group, against
every workspace URL that takes a ticket, message, note or attachment id. Nothing outside an
agent's rights is shown or changed, whatever ids they guess: the answer is 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from conduit.models import OutboundMessage
from tests.factories import make_agent, make_ticketbox
from tests.mail import route_mail
from tickets.models import Attachment, Message, Note, Ticket, TicketboxAccess, TicketEvent
from tickets.selectors import MANAGE, READ, REPLY

pytestmark = pytest.mark.django_db


def _mail_with_attachment(n: int) -> bytes:
    return (
        f"From: Carla <carla@example.net>\r\nTo: support@example.com\r\nSubject: Secret {n}\r\n"
        f"Message-ID: <s{n}@example.net>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n"
        "\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello <b>there</b></p>\r\n"
        "--b\r\nContent-Type: application/pdf; name=invoice.pdf\r\n"
        "Content-Disposition: attachment; filename=invoice.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    ).encode()


@dataclass
class World:
    secret: Ticket  # in a ticketbox only the manager and administrators may see
    visible: Ticket  # in the ticketbox every test agent has some right on
    agents: dict[str, Any]


def _ticket_with_everything(box: Any, n: int) -> Ticket:
    ticket = Ticket.objects.get(pk=route_mail(_mail_with_attachment(n)).ticket_id)
    Ticket.objects.filter(pk=ticket.pk).update(ticketbox=box)
    ticket.refresh_from_db()
    Note.objects.create(ticket=ticket, body=f"note {n}", private=False)
    return ticket


@pytest.fixture
def world(settings: Any) -> World:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "help@desk.example"}
    secret_box = make_ticketbox("Secret")
    open_box = make_ticketbox("Open")
    readers = Group.objects.create(name="Readers")
    repliers = Group.objects.create(name="Repliers")
    agents = {
        "nobody": make_agent("nobody"),
        "reader": make_agent("reader"),  # READ, directly
        "group_reader": make_agent("group_reader"),  # READ, through a group
        "replier": make_agent("replier"),  # REPLY, through a group
        "manager": make_agent("manager"),  # MANAGE, directly
    }
    agents["group_reader"].groups.add(readers)
    agents["replier"].groups.add(repliers)
    TicketboxAccess.objects.create(ticketbox=open_box, agent=agents["reader"], level=READ)
    TicketboxAccess.objects.create(ticketbox=open_box, group=readers, level=READ)
    TicketboxAccess.objects.create(ticketbox=open_box, group=repliers, level=REPLY)
    TicketboxAccess.objects.create(ticketbox=open_box, agent=agents["manager"], level=MANAGE)
    return World(
        secret=_ticket_with_everything(secret_box, 1),
        visible=_ticket_with_everything(open_box, 2),
        agents=agents,
    )


def _snapshot() -> tuple[Any, ...]:
    return (
        list(
            Ticket.objects.order_by("pk").values_list(
                "status", "priority", "owner_id", "ticketbox_id", "deleted_at", "escalated_to_id"
            )
        ),
        list(Message.objects.order_by("pk").values_list("ticket_id", flat=True)),
        Note.objects.count(),
        OutboundMessage.objects.count(),
        TicketEvent.objects.count(),
    )


def _urls(ticket: Ticket, other: Ticket) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, data) for every workspace URL that names this ticket or its parts."""
    message = ticket.messages.first()
    attachment = Attachment.objects.get(message__ticket=ticket)
    agent = ticket.owner_id or ""
    n = ticket.number
    ticket_posts = [
        ("take", {}),
        ("assign", {"agent": agent}),
        ("set_status", {"status": "closed"}),
        ("set_priority", {"priority": "4"}),
        ("move", {"ticketbox": other.ticketbox_id}),
        ("escalate", {"agent": agent, "note": "help"}),
        ("trash_ticket", {}),
        ("restore", {}),
        ("merge", {"into": other.number}),
        ("note", {"body": "guessed", "private": ""}),
        ("reply", {"to": "x@example.net", "subject": "hi", "body": "hello"}),
        ("presence", {"composing": "1"}),
    ]
    return [
        ("get", reverse("desk:ticket", args=[n]), {}),
        ("get", reverse("desk:reply", args=[n]), {}),
        ("get", reverse("desk:message_body", args=[message.pk]), {}),
        ("get", reverse("desk:message_headers", args=[message.pk]), {}),
        ("get", reverse("desk:attachment", args=[attachment.pk]), {}),
        ("get", reverse("desk:attachment_inline", args=[attachment.pk]), {}),
        ("get", reverse("desk:ticketbox", args=[ticket.ticketbox_id]), {}),
        *[("post", reverse(f"desk:{name}", args=[n]), data) for name, data in ticket_posts],
        ("post", reverse("desk:move_message", args=[message.pk]), {"to": other.number}),
        ("post", reverse("desk:get_oldest", args=[ticket.ticketbox_id]), {}),
    ]


@pytest.mark.parametrize("who", ["nobody", "reader", "group_reader", "replier"])
def test_nothing_of_a_ticketbox_without_rights_is_reachable(world: World, who: str) -> None:
    client = Client()
    client.force_login(world.agents[who])
    before = _snapshot()
    for method, url, data in _urls(world.secret, world.visible):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (who, method, url, response.status_code)
    assert _snapshot() == before
    # Nor does it show up in lists, search, other agents' views or the trash.
    for url in (
        reverse("desk:mine"),
        reverse("desk:trash"),
        reverse("desk:agent", args=[world.agents["manager"].pk]),
        reverse("desk:search") + "?q=Secret",
        reverse("desk:search") + f"?q={world.secret.number}",
    ):
        html = client.get(url).content.decode()
        assert "Secret 1" not in html and f"#{world.secret.number}" not in html, url


@pytest.mark.parametrize("who", ["reader", "group_reader"])
def test_read_access_shows_but_changes_nothing(world: World, who: str) -> None:
    client = Client()
    client.force_login(world.agents[who])
    ticket = world.visible
    message = ticket.messages.first()
    attachment = Attachment.objects.get(message__ticket=ticket)
    assert client.get(reverse("desk:ticket", args=[ticket.number])).status_code == 200
    assert client.get(reverse("desk:message_body", args=[message.pk])).status_code == 200
    download = client.get(reverse("desk:attachment", args=[attachment.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    before = _snapshot()
    for method, url, data in _urls(ticket, world.secret):
        if method == "post" and not url.endswith("/presence"):
            response = client.post(url, data)
            assert response.status_code == 404, (who, url, response.status_code)
    assert _snapshot() == before


def test_the_manager_and_administrators_reach_the_secret_ticket(
    world: World, admin_user: Any
) -> None:
    TicketboxAccess.objects.create(
        ticketbox=world.secret.ticketbox, agent=world.agents["manager"], level=MANAGE
    )
    for user in (world.agents["manager"], admin_user):
        client = Client()
        client.force_login(user)
        for method, url, _ in _urls(world.secret, world.visible):
            if method == "get":
                assert client.get(url).status_code == 200, (user, url)


def test_private_notes_stay_with_their_author(world: World) -> None:
    manager = world.agents["manager"]
    Note.objects.create(
        ticket=world.visible, body="my private thought", private=True, author=manager
    )
    for who, sees in (("replier", False), ("manager", True)):
        client = Client()
        client.force_login(world.agents[who])
        html = client.get(reverse("desk:ticket", args=[world.visible.number])).content.decode()
        assert ("my private thought" in html) is sees, who


def test_logged_out_visitors_are_sent_to_log_in(world: World) -> None:
    client = Client()
    for method, url, data in _urls(world.visible, world.secret):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
