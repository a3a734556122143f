"""``manage.py seed_demo`` fills a fresh database with a consistent demo help desk, once."""

from __future__ import annotations

import stat
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Max, Min, Q

from contacts.models import Contact, ContactEmail
from tickets.models import (
    Message,
    Note,
    Signature,
    StandardResponse,
    Ticket,
    Ticketbox,
    TicketboxAccess,
    TicketEvent,
)

pytestmark = pytest.mark.django_db

TICKETS = 40


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path) -> Path:
    """The login file goes to a temporary var/; a fast hasher keeps the agents cheap."""
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


def _seed(tickets: int = TICKETS) -> str:
    out = StringIO()
    call_command("seed_demo", "--tickets", str(tickets), stdout=out, stderr=StringIO())
    return out.getvalue()


def _snapshot() -> dict[str, Any]:
    models = (
        get_user_model(),
        Ticketbox,
        TicketboxAccess,
        Contact,
        ContactEmail,
        StandardResponse,
        Signature,
        Ticket,
        Message,
        Note,
        TicketEvent,
    )
    counts: dict[str, Any] = {model.__name__: model.objects.count() for model in models}
    counts["passwords"] = sorted(get_user_model().objects.values_list("password", flat=True))
    counts["last_ticket_update"] = Ticket.objects.aggregate(Max("updated_at"))
    return counts


def test_tickets_land_in_the_demo_ticketboxes(var_dir: Path) -> None:
    out = _seed()

    assert Ticket.objects.count() == TICKETS
    assert set(Ticketbox.objects.values_list("name", flat=True)) == {
        "Unassigned",
        "Sales",
        "Support",
        "Billing",
    }
    used = set(Ticket.objects.values_list("ticketbox__name", flat=True))
    assert used == {"Unassigned", "Sales", "Support", "Billing"}
    assert f"tickets             {TICKETS} " in out


def test_every_ticket_has_messages_and_a_unique_number(var_dir: Path) -> None:
    _seed()

    assert not Ticket.objects.annotate(n=Count("messages")).filter(n=0).exists()
    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == TICKETS
    assert not Message.objects.filter(message_id="").exists()
    assert Message.objects.values("message_id").distinct().count() == Message.objects.count()


def test_ticket_timestamps_follow_their_messages(var_dir: Path) -> None:
    _seed()

    tickets = Ticket.objects.annotate(
        first_message=Min("messages__date"),
        last_in=Max("messages__date", filter=Q(messages__direction=Message.Direction.IN)),
        first_out=Min("messages__date", filter=Q(messages__direction=Message.Direction.OUT)),
        last_out=Max("messages__date", filter=Q(messages__direction=Message.Direction.OUT)),
    )
    for ticket in tickets:
        assert ticket.created_at == ticket.first_message, ticket
        assert ticket.last_customer_message_at == ticket.last_in, ticket
        assert ticket.first_response_at == ticket.first_out, ticket
        assert ticket.last_agent_message_at == ticket.last_out, ticket
        assert (ticket.closed_at is not None) == (ticket.status == Ticket.Status.CLOSED), ticket
        created = ticket.events.get(kind=TicketEvent.Kind.CREATED)
        assert created.created_at == ticket.created_at, ticket


def test_a_second_run_adds_nothing(var_dir: Path) -> None:
    first = _seed()
    before = _snapshot()

    second = _seed(tickets=5)

    assert _snapshot() == before
    assert "already loaded" in second
    login_line = next(line for line in first.splitlines() if line.startswith("Demo login:"))
    assert login_line in second


def test_the_login_file_holds_the_shared_password(var_dir: Path) -> None:
    out = _seed()

    path = var_dir / "demo-login.txt"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    username, password = path.read_text().split()
    assert username == "admin"
    assert f"Demo login: admin / {password}" in out
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser
    assert admin.check_password(password)
    assert get_user_model().objects.get(username="alice").check_password(password)


def test_a_database_with_other_data_is_left_alone(var_dir: Path) -> None:
    get_user_model().objects.create_user("someone", password=None)

    _seed()

    assert not Ticketbox.objects.filter(name="Sales").exists()
    assert Ticket.objects.count() == 0
    assert not (var_dir / "demo-login.txt").exists()


def test_the_demo_routing_rules_route_new_mail(var_dir: Path) -> None:
    from conduit.models import InboundMessage
    from routing.services import route_inbound
    from tests.test_route_step import mail, store

    _seed()
    refund = route_inbound(store(mail(subject="Refund for my boots")).pk)
    assert Ticket.objects.get(pk=refund.ticket_id).ticketbox.name == "Billing"
    wholesale = route_inbound(
        store(mail(subject="Wholesale prices?", message_id="<w@example.net>")).pk
    )
    ticket = Ticket.objects.get(pk=wholesale.ticket_id)
    assert (ticket.ticketbox.name, ticket.owner.username, ticket.priority) == ("Sales", "bob", 3)
    assert ticket.notes.get().body.startswith("Wholesale lead")
    spam = route_inbound(store(mail(message_id="<s@example.net>", extra="X-Spam-Flag: YES\r\n")).pk)
    assert Ticket.objects.get(pk=spam.ticket_id).in_trash
    phish = route_inbound(
        store(mail(sender="x@acc0unt-verify.example", message_id="<p@example.net>")).pk
    )
    assert phish.ticket_id is None
    assert InboundMessage.objects.get(pk=phish.inbound_id).state == "discarded"


def test_replies_go_to_the_local_demo_outbox_that_procfile_runs(var_dir: Path) -> None:
    from conduit.demo import DEMO_SMTP_PORT
    from conduit.models import SmtpDestination

    _seed()
    [outbox] = SmtpDestination.objects.all()
    assert outbox.is_default and outbox.enabled
    assert (outbox.host, outbox.effective_port) == ("127.0.0.1", DEMO_SMTP_PORT)
    procfile = (Path(__file__).resolve().parent.parent / "Procfile.dev").read_text()
    assert f"127.0.0.1:{DEMO_SMTP_PORT}" in procfile


def test_the_demo_supervisor_sees_reports_and_the_others_do_not(var_dir: Path) -> None:
    from reports.scope import can_report

    _seed()
    agents = {a.username: a for a in get_user_model().objects.all()}
    assert can_report(agents["carol"])  # through the Supervisors group
    assert not can_report(agents["alice"]) and not can_report(agents["bob"])
