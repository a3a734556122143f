"""Explain: `manage.py route_explain` and the admin's "test against a message" page show the
thread decision, every rule with each condition's result, and the final actions, and change
nothing. Also the rule admin itself: conditions validated, rules need a condition."""

from __future__ import annotations

import json
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from conduit.models import InboundMessage, OutboundMessage
from contacts.models import Contact
from routing import ruleset
from routing.models import RoutingRule, RuleCondition
from routing.services import route_inbound
from tests.test_route_step import mail, store
from tickets.library import StandardResponse
from tickets.models import Counter, Note, Ticket, Ticketbox, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(settings: Any) -> dict[str, Any]:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "help@desk.example"}
    sales = Ticketbox.objects.create(name="Sales")
    thanks = StandardResponse.objects.create(title="Thanks", body="Hi {{ contact.name }}")
    spam = RoutingRule.objects.create(name="Spam", position=1, delete_action="trash")
    RuleCondition.objects.create(
        rule=spam, field="header", header_name="X-Spam-Flag", operator="equals", value="YES"
    )
    quotes = RoutingRule.objects.create(
        name="Quotes",
        position=2,
        match="any",
        file_into=sales,
        set_priority=3,
        auto_reply=thanks,
        add_note="Quote request",
    )
    RuleCondition.objects.create(rule=quotes, field="subject", operator="contains", value="quote")
    RuleCondition.objects.create(rule=quotes, field="body", operator="regex", value=r"price\s+list")
    later = RoutingRule.objects.create(
        name="Everything from example.net", position=3, file_into=sales
    )
    RuleCondition.objects.create(
        rule=later, field="from_address", operator="in_list", value="example.net"
    )
    return {"sales": sales, "spam": spam, "quotes": quotes, "later": later}


def _snapshot() -> dict[str, Any]:
    return {
        "tickets": Ticket.objects.count(),
        "contacts": Contact.objects.count(),
        "inbound": InboundMessage.objects.count(),
        "outbound": OutboundMessage.objects.count(),
        "notes": Note.objects.count(),
        "events": TicketEvent.objects.count(),
        "counters": dict(Counter.objects.values_list("name", "value")),
        "hits": list(RoutingRule.objects.values_list("hit_count", flat=True)),
    }


def _eml(tmp_path: Path, raw: bytes) -> str:
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    return str(path)


def test_route_explain_json_shows_every_rule_and_condition_and_changes_nothing(
    rules: dict[str, Any], tmp_path: Path
) -> None:
    before = _snapshot()
    out = StringIO()
    raw = mail(subject="Can I get a quote?")
    call_command("route_explain", _eml(tmp_path, raw), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert _snapshot() == before

    assert report["thread"]["decision"].startswith("new ticket")
    assert report["contact"] == {"existing": False, "would_create": "carla@example.net"}
    names = [(r["name"], r["matched"], r["applied"], r["reached"]) for r in report["rules"]]
    assert names == [
        ("Spam", False, False, True),
        ("Quotes", True, True, True),
        ("Everything from example.net", True, False, False),
    ]
    quotes = report["rules"][1]
    assert [(c["field"], c["matched"]) for c in quotes["conditions"]] == [
        ("subject", True),
        ("body", False),
    ]
    assert quotes["conditions"][0]["values"] == ["Can I get a quote?"]
    result = report["result"]
    assert result["action"] == "open a ticket"
    assert result["ticketbox"] == "Sales" and result["ticketbox_why"] == "rule “Quotes”"
    assert result["priority"] == "High" and result["note"] == "Quote request"
    assert result["auto_reply"]["response"] == "Thanks"
    assert result["auto_reply"]["to"] == "carla@example.net"


def test_route_explain_text_for_a_mail_no_rule_takes(rules: dict[str, Any], tmp_path: Path) -> None:
    out = StringIO()
    raw = mail(sender="Bob <bob@elsewhere.example>", subject="Hello there")
    call_command("route_explain", _eml(tmp_path, raw), stdout=out)
    text = out.getvalue()
    assert "Thread   new ticket" in text
    assert "Quotes [match any]: no match" in text
    assert '✘ Subject contains "quote"' in text
    assert "Ticketbox: Unassigned" in text
    assert "Ticketbox (why): no rule, address or source chose another" in text


def test_route_explain_of_a_reply_shows_the_thread_and_that_rules_do_not_apply(
    rules: dict[str, Any], tmp_path: Path
) -> None:
    first = route_inbound(store(mail(subject="Need a quote")).pk)
    number = Ticket.objects.get(pk=first.ticket_id).number
    reply = mail(
        subject="Re: Need a quote",
        message_id="<r1@example.net>",
        extra="In-Reply-To: <m1@example.net>\r\n",
    )
    out = StringIO()
    call_command("route_explain", _eml(tmp_path, reply), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["thread"]["ticket"] == number
    assert report["thread"]["method"] == "In-Reply-To"
    assert report["rules_applied"] is False
    assert report["result"] == {"action": "add to ticket", "ticket": number}


def test_route_explain_reads_a_stored_message_or_standard_input(
    rules: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound = store(mail(subject="A quote please"))
    out = StringIO()
    call_command("route_explain", "--inbound", str(inbound.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["result"]["ticketbox"] == "Sales"
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.STORED

    class Stdin:
        buffer = BytesIO(mail(subject="Hello", extra="X-Spam-Flag: YES\r\n"))

    monkeypatch.setattr("sys.stdin", Stdin)
    out = StringIO()
    call_command("route_explain", "-", "--json", stdout=out)
    assert json.loads(out.getvalue())["result"]["trash"] is True


def test_route_explain_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("route_explain", str(tmp_path / "missing.eml"))
    with pytest.raises(CommandError, match="No mail source named 'nope'"):
        call_command("route_explain", _eml(tmp_path, mail()), "--source", "nope")
    with pytest.raises(CommandError, match="Give a FILE"):
        call_command("route_explain")
    with pytest.raises(CommandError, match="There is no inbound message 424242"):
        call_command("route_explain", "--inbound", "424242")


def test_a_rule_change_recompiles_the_rule_set_once(rules: dict[str, Any]) -> None:
    ruleset._cached = None
    first = ruleset.current_ruleset()
    assert ruleset.current_ruleset() is first  # cached while nothing changes
    condition = rules["quotes"].conditions.first()
    condition.value = "estimate"
    condition.save()
    second = ruleset.current_ruleset()
    assert second is not first and second.version != first.version
    assert "estimate" in [c.value for c in second.conditions]


# --- admin ---------------------------------------------------------------------------


def test_admin_test_page_explains_a_pasted_message(
    rules: dict[str, Any], admin_client: Client
) -> None:
    url = reverse("admin:routing_explain")
    changelist = admin_client.get(reverse("admin:routing_routingrule_changelist"))
    assert url in changelist.content.decode()
    before = _snapshot()
    quotes = rules["quotes"]
    response = admin_client.post(
        f"{url}?rule={quotes.pk}",
        {"pasted": mail(subject="Hello", body="Please send your price  list.").decode()},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert _snapshot() == before
    assert f'class="applied highlight" data-rule="{quotes.pk}"' in html
    assert "✔</span> Body text matches regular expression" in html
    assert "✘</span> Subject contains" in html
    assert "<dt>Ticketbox</dt><dd>Sales</dd>" in html


def test_admin_test_page_takes_an_upload_or_a_stored_message(
    rules: dict[str, Any], admin_client: Client
) -> None:
    url = reverse("admin:routing_explain")
    upload = SimpleUploadedFile("m.eml", mail(subject="quote"), "message/rfc822")
    html = admin_client.post(url, {"upload": upload}).content.decode()
    assert "<dt>Ticketbox</dt><dd>Sales</dd>" in html
    inbound = store(mail(subject="x", extra="X-Spam-Flag: YES\r\n"))
    html = admin_client.post(url, {"inbound": inbound.pk}).content.decode()
    assert "<dt>Trash</dt><dd>True</dd>" in html
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.STORED  # explained, not routed
    page = admin_client.get(reverse("admin:conduit_inboundmessage_change", args=[inbound.pk]))
    assert f"{url}?inbound={inbound.pk}" in page.content.decode()
    # The link explains at once, without another click.
    html = admin_client.get(f"{url}?inbound={inbound.pk}").content.decode()
    assert "<dt>Trash</dt><dd>True</dd>" in html


def test_admin_test_page_asks_for_exactly_one_message(admin_client: Client) -> None:
    url = reverse("admin:routing_explain")
    html = admin_client.post(url, {}).content.decode()
    assert "Give one message" in html
    html = admin_client.post(url, {"inbound": 999999}).content.decode()
    assert "There is no inbound message 999999" in html


def _rule_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Refunds",
        "description": "",
        "position": "5",
        "enabled": "on",
        "match": "all",
        "delete_action": "",
        "forward_to": "",
        "add_note": "Refund",
        "conditions-TOTAL_FORMS": "1",
        "conditions-INITIAL_FORMS": "0",
        "conditions-MIN_NUM_FORMS": "1",
        "conditions-MAX_NUM_FORMS": "1000",
        "conditions-0-field": "subject",
        "conditions-0-header_name": "",
        "conditions-0-operator": "regex",
        "conditions-0-value": "refund(s)?",
        "conditions-0-position": "0",
    }
    data.update(overrides)
    return data


def test_admin_refuses_an_invalid_regex_with_the_reason(admin_client: Client) -> None:
    url = reverse("admin:routing_routingrule_add")
    response = admin_client.post(url, _rule_form(**{"conditions-0-value": "(?<=re)fund"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not a valid regular expression" in html and "RE2" in html
    assert not RoutingRule.objects.exists()


def test_admin_refuses_a_rule_without_conditions_or_actions(admin_client: Client) -> None:
    url = reverse("admin:routing_routingrule_add")
    html = admin_client.post(
        url, _rule_form(**{"conditions-TOTAL_FORMS": "0", "conditions-MIN_NUM_FORMS": "0"})
    ).content.decode()
    assert "Add at least one condition" in html
    html = admin_client.post(url, _rule_form(add_note="")).content.decode()
    assert "Choose at least one action" in html
    assert not RoutingRule.objects.exists()


def test_admin_saves_a_valid_rule_and_routing_uses_it_at_once(admin_client: Client) -> None:
    ruleset.current_ruleset()  # compiled before the rule exists
    response = admin_client.post(reverse("admin:routing_routingrule_add"), _rule_form())
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.conditions.get().value == "refund(s)?"
    ticket = Ticket.objects.get(pk=route_inbound(store(mail(subject="Refunds?")).pk).ticket_id)
    assert ticket.notes.get().body == "Refund"


def test_admin_actions_disable_and_duplicate_rules(
    rules: dict[str, Any], admin_client: Client
) -> None:
    url = reverse("admin:routing_routingrule_changelist")
    quotes = rules["quotes"]
    version = ruleset.rules_version()
    admin_client.post(url, {"action": "disable_rules", "_selected_action": [quotes.pk]})
    quotes.refresh_from_db()
    assert not quotes.enabled and ruleset.rules_version() != version
    admin_client.post(url, {"action": "duplicate_rules", "_selected_action": [quotes.pk]})
    copy = RoutingRule.objects.get(name="Quotes (copy)")
    assert not copy.enabled
    assert sorted(copy.conditions.values_list("value", flat=True)) == [r"price\s+list", "quote"]
