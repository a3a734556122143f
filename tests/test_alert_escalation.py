"""Automatic escalation (a warning stage, then the escalation), the counters of the Alerts
page, the awaiting-reply clock kept by routing and replies, new-ticket notifications and
the virus alert of the route step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from alerts.jobs import run_escalations
from alerts.models import Alert, AlertKind, EscalationRule
from alerts.selectors import escalation_counts
from conduit.antivirus import ScanVerdict
from conduit.outbound import OutboundMessage
from routing import ruleset
from routing.services import route_batch
from tests.factories import make_agent, make_ticket, make_ticketbox
from tests.mail import customer_mail, route_mail, store_mail
from tickets.agents import AgentProfile
from tickets.models import Ticket, TicketboxAccess, TicketboxAddress, TicketEvent

pytestmark = pytest.mark.django_db

T0 = datetime.fromisoformat("2026-11-24T09:00:00+00:00")


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


@pytest.fixture
def team() -> dict[str, Any]:
    boss, olga, outsider = make_agent("boss"), make_agent("olga"), make_agent("outsider")
    box = make_ticketbox("Support", supervisor=boss)
    for agent in (boss, olga):
        TicketboxAccess.objects.create(ticketbox=box, agent=agent)
    EscalationRule.objects.create(name="Two days", warn_after_hours=24, escalate_after_hours=48)
    ticket = make_ticket(ticketbox=box, owner=olga, last_customer_message_at=T0, created_at=T0)
    return {"box": box, "boss": boss, "olga": olga, "outsider": outsider, "ticket": ticket}


def kinds(ticket: Ticket) -> list[str]:
    return [e.kind for e in ticket.events.exclude(kind=TicketEvent.Kind.CREATED)]


def test_escalation_warns_the_owner_then_escalates_to_the_supervisor(team: Any) -> None:
    ticket = team["ticket"]
    assert run_escalations(hours(23)) == []
    [warning] = run_escalations(hours(25))
    assert warning.kind == AlertKind.ESCALATION_WARNING and "in 24 hours" in warning.title
    assert {r.agent.username for r in warning.receipts.all()} == {"olga"}
    assert run_escalations(hours(30)) == []
    [escalation] = run_escalations(hours(49))
    assert escalation.kind == AlertKind.ESCALATION and "escalated to boss" in escalation.title
    assert {r.agent.username for r in escalation.receipts.all()} == {"boss", "olga"}
    ticket.refresh_from_db()
    assert ticket.escalated_to == team["boss"] and ticket.escalated_at == hours(49)
    assert kinds(ticket) == ["escalation_warning", "escalated"]
    assert run_escalations(hours(100)) == []
    assert Alert.objects.count() == 2


def test_counts_of_warned_and_escalated_tickets_respect_access(team: Any) -> None:
    run_escalations(hours(25))
    assert escalation_counts(team["olga"]) == {"warned": 1, "escalated": 0, "escalated_to_me": 0}
    assert escalation_counts(team["outsider"]) == {
        "warned": 0,
        "escalated": 0,
        "escalated_to_me": 0,
    }
    run_escalations(hours(49))
    assert escalation_counts(team["boss"]) == {"warned": 0, "escalated": 1, "escalated_to_me": 1}


def test_an_answer_stops_the_clock_and_a_new_wait_starts_the_stages_again(team: Any) -> None:
    ticket = team["ticket"]
    run_escalations(hours(25))
    Ticket.objects.filter(pk=ticket.pk).update(awaiting_reply_since=None)  # answered
    assert run_escalations(hours(49)) == []
    Ticket.objects.filter(pk=ticket.pk).update(awaiting_reply_since=hours(50))  # wrote again
    assert [a.kind for a in run_escalations(hours(75))] == ["escalation_warning"]
    assert [a.kind for a in run_escalations(hours(99))] == ["escalation"]


def test_a_ticketbox_rule_wins_over_the_rule_for_all_and_can_name_the_target(team: Any) -> None:
    helper = make_agent("helper")
    EscalationRule.objects.create(
        name="Fast", ticketbox=team["box"], escalate_after_hours=2, escalate_to=helper
    )
    [escalation] = run_escalations(hours(3))
    assert "escalated to helper" in escalation.title
    team["ticket"].refresh_from_db()
    assert team["ticket"].escalated_to == helper


def test_manually_escalated_tickets_are_not_escalated_again(team: Any) -> None:
    Ticket.objects.filter(pk=team["ticket"].pk).update(
        escalated_at=hours(1), escalated_to=team["boss"]
    )
    assert [a.kind for a in run_escalations(hours(49))] == []


def test_disabled_rules_and_closed_tickets_do_nothing(team: Any) -> None:
    Ticket.objects.filter(pk=team["ticket"].pk).update(status=Ticket.Status.CLOSED)
    other = make_ticket(ticketbox=team["box"], last_customer_message_at=T0)
    EscalationRule.objects.update(enabled=False)
    assert run_escalations(hours(49)) == []
    EscalationRule.objects.update(enabled=True)
    assert [a.ticket_id for a in run_escalations(hours(49))] == [other.pk]


@pytest.mark.parametrize("count", [10, 200])
def test_escalation_costs_the_same_queries_for_10_or_200_tickets(
    team: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    for _ in range(count - 1):
        make_ticket(ticketbox=team["box"], owner=team["olga"], last_customer_message_at=T0)
    with django_assert_max_num_queries(24):
        assert len(run_escalations(hours(49))) == count
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATED).count() == count


# ---------------------------------------------------------------------------------------
# The awaiting-reply clock


@pytest.fixture
def support() -> Any:
    ruleset._cached = None
    box = make_ticketbox("Mailbox", from_address="help@example.com")
    TicketboxAddress.objects.create(ticketbox=box, address="help@example.com")
    return box


def test_routing_starts_the_clock_and_a_reply_stops_it(support: Any, settings: Any) -> None:
    from tickets.replies import send_reply

    agent = make_agent("ria")
    TicketboxAccess.objects.create(ticketbox=support, agent=agent, level=3)
    outcome = route_mail(customer_mail(to="help@example.com", message_id="<a1@x>"))
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    started = ticket.awaiting_reply_since
    assert started is not None
    send_reply(
        ticket, agent=agent, to=[("", "carla@example.net")], subject="Re: Broken", body="On it."
    )
    ticket.refresh_from_db()
    assert ticket.awaiting_reply_since is None
    route_mail(
        customer_mail(
            to="help@example.com",
            message_id="<a2@x>",
            subject=f"Re: Broken widget [#TB-{ticket.number}]",
        )
    )
    ticket.refresh_from_db()
    assert ticket.awaiting_reply_since is not None and ticket.awaiting_reply_since > started


# ---------------------------------------------------------------------------------------
# New-ticket notifications


def test_opted_in_agents_who_may_see_the_ticketbox_hear_of_new_tickets(
    support: Any, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "desk@example.com"}
    keen, quiet, elsewhere = make_agent("keen"), make_agent("quiet"), make_agent("elsewhere")
    for agent in (keen, quiet):
        TicketboxAccess.objects.create(ticketbox=support, agent=agent)
    AgentProfile.objects.filter(agent__in=[keen, elsewhere]).update(
        notify_new_tickets=True, notify_by_email=True
    )
    raws = [
        customer_mail(to="help@example.com", message_id=f"<n{n}@x>", sender=f"c{n}@x.example")
        for n in range(3)
    ]
    inbound = [store_mail(raw) for raw in raws]
    route_batch([i.pk for i in inbound])
    notes = Alert.objects.filter(kind=AlertKind.NEW_TICKET)
    assert notes.count() == 3
    assert {r.agent.username for a in notes for r in a.receipts.all()} == {"keen"}
    [mail] = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.NOTIFICATION)
    assert mail.recipients == ["keen@example.com"] and mail.subject == "3 new tickets"


# ---------------------------------------------------------------------------------------
# Virus found


def test_quarantining_infected_mail_raises_a_virus_alert(
    monkeypatch: pytest.MonkeyPatch, admin_user: Any
) -> None:
    monkeypatch.setattr(
        "routing.services.scan_message",
        lambda raw: ScanVerdict(infected=True, signature="Eicar-Test", scanner="fake"),
    )
    outcome = route_mail(customer_mail(message_id="<v@x>"))
    assert outcome.ticket_id is None
    [alert] = Alert.objects.filter(kind=AlertKind.VIRUS_FOUND)
    assert "Eicar-Test" in alert.title and alert.severity == "critical"
    assert {r.agent.username for r in alert.receipts.all()} == {"root"}


@pytest.mark.parametrize("count", [10, 100])
def test_new_ticket_notifications_cost_the_same_queries_for_10_or_100_tickets(
    support: Any, count: int, django_assert_max_num_queries: Any
) -> None:
    from alerts.notify import notify_new_tickets

    keen = make_agent("keen")
    TicketboxAccess.objects.create(ticketbox=support, agent=keen)
    AgentProfile.objects.filter(agent=keen).update(notify_new_tickets=True)
    tickets = [make_ticket(ticketbox=support) for _ in range(count)]
    with django_assert_max_num_queries(16):  # the alert type is made on first use, too
        notify_new_tickets(tickets)
    assert Alert.objects.filter(kind=AlertKind.NEW_TICKET).count() == count


def test_the_migration_fills_the_clock_from_the_messages() -> None:
    import importlib

    from django.apps import apps

    from tickets.models import Message

    migration = importlib.import_module("tickets.migrations.0010_awaiting_reply")
    answered, waiting, fresh = (make_ticket(ticketbox=make_ticketbox()) for _ in range(3))

    def message(ticket: Ticket, direction: str, at: datetime) -> None:
        made = Message.objects.create(ticket=ticket, direction=direction, date=at)
        Message.objects.filter(pk=made.pk).update(created_at=at)

    message(answered, "in", hours(0))
    message(answered, "out", hours(1))
    message(waiting, "in", hours(0))
    message(waiting, "out", hours(1))
    message(waiting, "in", hours(2))
    message(waiting, "in", hours(3))
    message(fresh, "in", hours(5))
    Ticket.objects.filter(pk=answered.pk).update(
        last_customer_message_at=hours(0), last_agent_message_at=hours(1)
    )
    Ticket.objects.filter(pk=waiting.pk).update(
        last_customer_message_at=hours(3), last_agent_message_at=hours(1)
    )
    Ticket.objects.filter(pk=fresh.pk).update(last_customer_message_at=hours(5))
    Ticket.objects.update(awaiting_reply_since=None)
    migration.fill_awaiting_reply_since(apps, None)
    since = dict(Ticket.objects.values_list("pk", "awaiting_reply_since"))
    assert since == {answered.pk: None, waiting.pk: hours(2), fresh.pk: hours(5)}
