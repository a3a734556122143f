"""Raising alerts (recipients, access, once-only, channels) and the agents' Alerts page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from alerts.models import Alert, AlertReceipt, AlertRecipient, AlertType
from alerts.services import alert_type, raise_alert, unread_count
from conduit.outbound import OutboundMessage
from tests.factories import make_agent, make_ticket, make_ticketbox
from tickets.agents import ADMINISTRATORS
from tickets.models import Ticket, TicketboxAccess

pytestmark = pytest.mark.django_db
READ = TicketboxAccess.Level.READ


def client_for(agent: Any) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def receivers(alert: Alert | None) -> set[str]:
    assert alert is not None
    return {r.agent.username for r in AlertReceipt.objects.filter(alert=alert)}


def test_named_agents_and_the_types_recipients_get_a_copy() -> None:
    alice, bob, carol = make_agent("alice"), make_agent("bob"), make_agent("carol")
    team = Group.objects.create(name="Supervisors")
    carol.groups.add(team)
    config = alert_type("low_disk")
    AlertRecipient.objects.create(alert_type=config, agent=bob)
    AlertRecipient.objects.create(alert_type=config, group=team)
    alert = raise_alert("low_disk", title="Disk almost full", agents=[alice])
    assert receivers(alert) == {"alice", "bob", "carol"}


def test_without_recipients_administrators_are_alerted_and_inactive_agents_never() -> None:
    admin, boss, quiet = make_agent("admin"), make_agent("boss"), make_agent("quiet")
    Group.objects.get(name=ADMINISTRATORS).user_set.add(admin, quiet)
    boss.is_superuser = True
    boss.save()
    quiet.is_active = False
    quiet.save()
    make_agent("bystander")
    assert receivers(raise_alert("critical_error", title="Boom")) == {"admin", "boss"}


def test_about_a_ticket_only_agents_who_may_see_it_are_alerted() -> None:
    box = make_ticketbox("Support")
    ticket = make_ticket(ticketbox=box)
    sees, blind = make_agent("sees"), make_agent("blind")
    TicketboxAccess.objects.create(ticketbox=box, agent=sees, level=READ)
    alert = raise_alert("ticket_age", title="Old", ticket=ticket, agents=[sees, blind])
    assert receivers(alert) == {"sees"}
    assert alert is not None and alert.ticketbox == box


def test_once_key_raises_once_and_a_disabled_type_not_at_all() -> None:
    agent = make_agent("a")
    assert raise_alert("watermark_high", title="Flood", agents=[agent], once_key="wm:1:up")
    assert raise_alert("watermark_high", title="Flood", agents=[agent], once_key="wm:1:up") is None
    AlertType.objects.filter(kind="low_disk").update(enabled=False)
    alert_type("low_disk")
    AlertType.objects.filter(kind="low_disk").update(enabled=False)
    assert raise_alert("low_disk", title="Disk", agents=[agent]) is None
    assert Alert.objects.count() == 1
    with pytest.raises(ValueError, match="Unknown alert kind"):
        raise_alert("nonsense", title="x")


def test_email_channel_queues_a_notification_through_the_spool(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "helpdesk@example.com"}
    config = alert_type("outbound_failure")
    config.channel = AlertType.Channel.BOTH
    config.email_to = "ops@example.com, boss@example.com"
    config.save()
    agent = make_agent("a")
    alert = raise_alert("outbound_failure", title="Not delivered", body="550", agents=[agent])
    assert alert is not None and alert.emailed_to == "ops@example.com, boss@example.com"
    [mail] = OutboundMessage.objects.all()
    assert mail.kind == OutboundMessage.Kind.NOTIFICATION
    assert mail.recipients == ["ops@example.com", "boss@example.com"]
    raw = mail.raw.read()
    assert b"Not delivered" in raw and b"Auto-Submitted: auto-generated" in raw
    assert receivers(alert) == {"a"}


def test_email_only_channel_makes_no_inbox_copies(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "helpdesk@example.com"}
    AlertType.objects.create(kind="low_disk", channel="email", email_to="ops@example.com")
    alert = raise_alert("low_disk", title="Disk", agents=[make_agent("a")])
    assert alert is not None and not AlertReceipt.objects.exists()
    assert OutboundMessage.objects.count() == 1


def test_alerts_page_lists_only_my_alerts_with_the_unread_count_in_the_sidebar() -> None:
    me, other = make_agent("me"), make_agent("other")
    raise_alert("low_disk", title="Mine: disk", agents=[me])
    raise_alert("critical_error", title="Not mine", agents=[other])
    assert unread_count(me) == 1
    page = client_for(me).get(reverse("desk:alerts"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Mine: disk" in body and "Not mine" not in body
    assert 'title="unread">1</span>' in body
    mine_page = client_for(me).get(reverse("desk:mine")).content.decode()
    assert 'title="unread">1</span>' in mine_page


def test_mark_read_and_clear_touch_only_my_own_copies() -> None:
    me, other = make_agent("me"), make_agent("other")
    first = raise_alert("low_disk", title="one", agents=[me, other])
    raise_alert("low_disk", title="two", agents=[me])
    theirs = AlertReceipt.objects.get(alert=first, agent=other)
    mine = AlertReceipt.objects.get(alert=first, agent=me)
    client = client_for(me)
    client.post(reverse("desk:alerts_mark"), {"action": "read", "receipt": [mine.pk, theirs.pk]})
    theirs.refresh_from_db()
    assert theirs.read_at is None and unread_count(me) == 1 and unread_count(other) == 1
    client.post(reverse("desk:alerts_mark"), {"action": "clear"})  # all read ones
    assert not AlertReceipt.objects.filter(agent=me, cleared_at__isnull=True, read_at__isnull=False)
    listed = client.get(reverse("desk:alerts"), {"show": "all"}).content.decode()
    assert "two" in listed and ">one<" not in listed
    client.post(reverse("desk:alerts_mark"), {"action": "read"})
    assert unread_count(me) == 0
    unread = client.get(reverse("desk:alerts")).content.decode()
    assert "No alerts." in unread


def test_filter_by_type_and_refuse_an_unknown_action() -> None:
    me = make_agent("me")
    raise_alert("low_disk", title="Disk low", agents=[me])
    raise_alert("virus_found", title="Virus", agents=[me])
    body = client_for(me).get(reverse("desk:alerts"), {"kind": "virus_found"}).content.decode()
    assert "Virus" in body and "Disk low" not in body
    response = client_for(me).post(reverse("desk:alerts_mark"), {"action": "explode"})
    assert response.status_code == 302 and unread_count(me) == 2


def test_escalation_counters_count_only_tickets_the_agent_may_see() -> None:
    box, hidden = make_ticketbox("Support"), make_ticketbox("HR")
    me, boss = make_agent("me"), make_agent("boss")
    TicketboxAccess.objects.create(ticketbox=box, agent=me, level=READ)
    for target in (box, hidden):
        Ticket.objects.filter(pk=make_ticket(ticketbox=target).pk).update(escalated_to=boss)
    warned = make_ticket(ticketbox=box)
    # As alerts.escalation's warning stage leaves it: warned during the current wait.
    Ticket.objects.filter(pk=warned.pk).update(
        awaiting_reply_since=warned.created_at, escalation_warned_at=warned.created_at
    )
    body = client_for(me).get(reverse("desk:alerts")).content.decode()
    assert "Escalation warnings: <strong>1</strong>" in body
    assert "Escalated tickets open: <strong>1</strong>" in body


def test_alerts_need_a_login() -> None:
    response = Client().get(reverse("desk:alerts"))
    assert response.status_code == 302 and "login" in response["Location"]
