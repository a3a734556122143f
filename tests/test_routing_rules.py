"""Routing rules: every condition field and operator, rule order, every action, the
fallbacks, statistics, idempotence, regex safety, validation, and the compiled RE2 sets."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
import re2
from django.core.exceptions import ValidationError

import routing.ruleset
from conduit.compose import loop_token
from conduit.models import InboundMessage, MailSource
from conduit.outbound import OutboundMessage
from conduit.verp import return_path_for
from routing.facts import MailFacts
from routing.models import AutoReplyLog, RoutingRule, RuleCondition
from routing.ruleset import CompiledCondition, CompiledRule, RuleSet, compile_ruleset
from routing.services import route_inbound
from tests.factories import make_agent, make_ticketbox
from tests.mail import customer_mail, route_mail, store_mail
from tickets.models import Message, Note, StandardResponse, Ticket, TicketboxAddress, TicketEvent
from tickets.services import unassigned_ticketbox

pytestmark = pytest.mark.django_db

Cond = dict[str, Any]


@pytest.fixture(autouse=True)
def _fresh_ruleset() -> Iterator[None]:
    routing.ruleset._cached = None
    yield
    routing.ruleset._cached = None


@pytest.fixture
def default_from(settings: Any) -> str:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "help@desk.example"}
    return "help@desk.example"


mail, store = customer_mail, store_mail


def route(raw: bytes, source: MailSource | None = None) -> Ticket | None:
    outcome = route_mail(raw, source)
    return Ticket.objects.get(pk=outcome.ticket_id) if outcome.ticket_id else None


def cond(field: str, operator: str, value: str = "", **extra: Any) -> Cond:
    return {"field": field, "operator": operator, "value": value, **extra}


def make_rule(*conditions: Cond, name: str = "rule", **fields: Any) -> RoutingRule:
    """A rule as the admin would save it: both it and its conditions pass validation."""
    rule = RoutingRule(name=name, **fields)
    rule.full_clean()
    rule.save()
    for position, spec in enumerate(conditions):
        condition = RuleCondition(rule=rule, position=position, **spec)
        condition.full_clean()
        condition.save()
    return rule


def takes(condition: Cond, raw: bytes) -> bool:
    """Whether a rule with this one condition takes the mail (files it into its ticketbox)."""
    box = make_ticketbox("Matched")
    make_rule(condition, file_into=box)
    ticket = route(raw)
    assert ticket is not None
    return ticket.ticketbox_id == box.pk


def outbound_mail(outbound: OutboundMessage) -> EmailMessage:
    with outbound.raw.open("rb") as handle:
        return cast(EmailMessage, message_from_bytes(handle.read(), policy=policy.default))


# ---------------------------------------------------------------------------------------
# 1. Condition fields

FIELD_CASES = [
    pytest.param(cond("from_address", "equals", "carla@example.net"), {}, True, id="from-match"),
    pytest.param(
        cond("from_address", "equals", "carla@example.net"),
        {"sender": "Carla <carla@example.org>"},
        False,
        id="from-other",
    ),
    pytest.param(cond("from_name", "contains", "customer"), {}, True, id="from_name-match"),
    pytest.param(
        cond("from_name", "contains", "carla"),
        {"sender": "Bob Builder <carla@example.net>"},
        False,
        id="from_name-not-the-address",
    ),
    pytest.param(cond("to", "equals", "support@example.com"), {}, True, id="to-match"),
    pytest.param(
        cond("to", "contains", "support@"),
        {"to": "sales@example.com", "extra": "Cc: support@example.com\r\n"},
        False,
        id="to-not-cc",
    ),
    pytest.param(
        cond("cc", "contains", "boss@"),
        {"extra": "Cc: The Boss <boss@example.org>\r\n"},
        True,
        id="cc-match",
    ),
    pytest.param(
        cond("cc", "contains", "boss@"), {"to": "boss@example.org"}, False, id="cc-not-to"
    ),
    pytest.param(
        cond("recipients", "equals", "sales@example.com"),
        {"to": "sales@example.com"},
        True,
        id="recipients-to",
    ),
    pytest.param(
        cond("recipients", "equals", "sales@example.com"),
        {"extra": "Cc: Sales <sales@example.com>\r\n"},
        True,
        id="recipients-cc",
    ),
    pytest.param(
        cond("recipients", "equals", "sales@example.com"),
        {"extra": "Delivered-To: sales@example.com\r\n"},
        True,
        id="recipients-delivered-to",
    ),
    pytest.param(
        cond("recipients", "equals", "sales@example.com"),
        {"extra": "X-Original-To: sales@example.com\r\n"},
        True,
        id="recipients-x-original-to",
    ),
    pytest.param(
        cond("recipients", "equals", "sales@example.com"),
        {"extra": "Reply-To: sales@example.com\r\n"},
        False,
        id="recipients-none",
    ),
    pytest.param(cond("subject", "contains", "widget"), {}, True, id="subject-match"),
    pytest.param(
        cond("subject", "contains", "widget"),
        {"subject": "Invoice", "body": "widget"},
        False,
        id="subject-not-body",
    ),
    pytest.param(cond("body", "contains", "is broken"), {}, True, id="body-match"),
    pytest.param(
        cond("body", "contains", "widget"),
        {"body": "All fine here."},
        False,
        id="body-not-subject",
    ),
    pytest.param(
        cond("header", "equals", "YES", header_name="x-spam-flag"),
        {"extra": "X-Spam-Flag: YES\r\n"},
        True,
        id="header-match",
    ),
    pytest.param(
        cond("header", "equals", "yes", header_name="X-SPAM-FLAG"),
        {"extra": "x-spam-flag: Yes\r\n"},
        True,
        id="header-name-case-insensitive",
    ),
    pytest.param(
        cond("header", "equals", "YES", header_name="X-Spam-Flag"),
        {"extra": "X-Spam-Flag: NO\r\n"},
        False,
        id="header-other-value",
    ),
    pytest.param(
        cond("header", "equals", "YES", header_name="X-Spam-Flag"),
        {"extra": "X-Spam-Status: YES\r\n"},
        False,
        id="header-missing",
    ),
    pytest.param(
        cond("headers", "contains", "x-mailer: acmemail"),
        {"extra": "X-Mailer: AcmeMail 2.0\r\n"},
        True,
        id="headers-match",
    ),
    pytest.param(
        cond("headers", "contains", "x-mailer: acmemail"),
        {"body": "X-Mailer: AcmeMail 2.0"},
        False,
        id="headers-not-body",
    ),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), FIELD_CASES)
def test_condition_fields(condition: Cond, fields: dict[str, str], expected: bool) -> None:
    assert takes(condition, mail(**fields)) is expected


BASE64_MAIL = (
    b"From: carla@example.net\r\nTo: support@example.com\r\nSubject: Encoded\r\n"
    b"Message-ID: <b64@example.net>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"U2VjcmV0IHdvcmRz\r\n"  # "Secret words"
)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("message", "contains", "U2VjcmV0IHdvcmRz"), True),
        (cond("message", "contains", "Content-Transfer-Encoding: base64"), True),
        (cond("message", "contains", "secret words"), False),
        (cond("body", "contains", "secret words"), True),
        (cond("body", "contains", "U2VjcmV0IHdvcmRz"), False),
    ],
)
def test_message_field_sees_the_raw_mail_and_body_the_decoded_text(
    condition: Cond, expected: bool
) -> None:
    assert takes(condition, BASE64_MAIL) is expected


# ---------------------------------------------------------------------------------------
# 2. Operators

OPERATOR_CASES = [
    pytest.param(cond("subject", "contains", "WIDGET"), {}, True, id="contains-ci"),
    pytest.param(cond("subject", "contains", "gadget"), {}, False, id="contains-no"),
    pytest.param(
        cond("subject", "contains", "WIDGET", case_sensitive=True), {}, False, id="contains-cs-no"
    ),
    pytest.param(
        cond("subject", "contains", "widget", case_sensitive=True), {}, True, id="contains-cs"
    ),
    pytest.param(cond("subject", "not_contains", "gadget"), {}, True, id="not_contains"),
    pytest.param(cond("subject", "not_contains", "WIDGET"), {}, False, id="not_contains-no"),
    pytest.param(
        cond("subject", "not_contains", "WIDGET", case_sensitive=True),
        {},
        True,
        id="not_contains-cs",
    ),
    pytest.param(cond("subject", "equals", "broken WIDGET"), {}, True, id="equals-ci"),
    pytest.param(cond("subject", "equals", "Broken"), {}, False, id="equals-not-substring"),
    pytest.param(
        cond("subject", "equals", "broken widget", case_sensitive=True), {}, False, id="equals-cs"
    ),
    pytest.param(cond("subject", "starts_with", "BROKEN"), {}, True, id="starts_with"),
    pytest.param(cond("subject", "starts_with", "widget"), {}, False, id="starts_with-no"),
    pytest.param(cond("subject", "ends_with", "Widget"), {}, True, id="ends_with"),
    pytest.param(cond("subject", "ends_with", "broken"), {}, False, id="ends_with-no"),
    pytest.param(cond("subject", "contains", "a.b"), {"subject": "axb"}, False, id="literal-dot"),
    pytest.param(cond("subject", "regex", r"^broken\s+w[a-z]+$"), {}, True, id="regex"),
    pytest.param(cond("subject", "regex", r"^widget"), {}, False, id="regex-no"),
    pytest.param(cond("subject", "regex", "BROKEN", case_sensitive=True), {}, False, id="regex-cs"),
    pytest.param(cond("subject", "in_list", "Hello\nbroken WIDGET\n"), {}, True, id="in_list-line"),
    pytest.param(cond("subject", "in_list", "Broken\nwidget"), {}, False, id="in_list-partial"),
    pytest.param(
        cond("subject", "in_list", "broken widget", case_sensitive=True),
        {},
        False,
        id="in_list-cs-no",
    ),
    pytest.param(
        cond("subject", "in_list", "Broken widget", case_sensitive=True),
        {},
        True,
        id="in_list-cs",
    ),
    pytest.param(
        cond("from_address", "in_list", "bob@example.org\nCARLA@Example.NET"),
        {},
        True,
        id="in_list-address",
    ),
    pytest.param(cond("from_address", "in_list", "example.net"), {}, True, id="in_list-domain"),
    pytest.param(cond("from_address", "in_list", "@example.net"), {}, True, id="in_list-@domain"),
    pytest.param(
        cond("from_address", "in_list", "example.net"),
        {"sender": "carla@mail.EU.example.net"},
        True,
        id="in_list-subdomain",
    ),
    pytest.param(
        cond("from_address", "in_list", "ample.net\nmail.example.net\nbob@example.net"),
        {},
        False,
        id="in_list-address-no",
    ),
    pytest.param(cond("cc", "is_empty"), {}, True, id="is_empty-cc"),
    pytest.param(
        cond("cc", "is_empty"), {"extra": "Cc: boss@example.org\r\n"}, False, id="is_empty-cc-no"
    ),
    pytest.param(
        cond("header", "is_empty", header_name="X-Spam-Flag"), {}, True, id="is_empty-header"
    ),
    pytest.param(
        cond("header", "is_empty", header_name="X-Spam-Flag"),
        {"extra": "X-Spam-Flag: YES\r\n"},
        False,
        id="is_empty-header-no",
    ),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), OPERATOR_CASES)
def test_operators(condition: Cond, fields: dict[str, str], expected: bool) -> None:
    assert takes(condition, mail(**fields)) is expected


TWO_TO = {"to": "Ann <ann@x.example>, bob@y.example"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cond("to", "equals", "bob@y.example"), True),
        (cond("to", "equals", "ann@x.example"), True),
        (cond("to", "equals", "ann@x.example, bob@y.example"), False),
        (cond("to", "starts_with", "BOB@"), True),
        (cond("to", "ends_with", "@x.example"), True),
        (cond("to", "regex", r"^b.b@"), True),
        (cond("to", "regex", r"^c"), False),
        (cond("to", "contains", "y.example"), True),
        (cond("to", "in_list", "y.example"), True),
        (cond("to", "in_list", "z.example"), False),
        (cond("to", "not_contains", "y.example"), False),
        (cond("to", "not_contains", "x.example"), False),
        (cond("to", "not_contains", "z.example"), True),
    ],
)
def test_multi_valued_field_any_value_matches_and_not_contains_needs_none(
    condition: Cond, expected: bool
) -> None:
    assert takes(condition, mail(**TWO_TO)) is expected


# ---------------------------------------------------------------------------------------
# 3. Match all / any, disabled rules, order, first match


@pytest.mark.parametrize(
    ("match", "sender", "expected"),
    [
        ("all", "bob@example.net", True),
        ("all", "carla@example.net", False),
        ("any", "carla@example.net", True),
        ("any", "carla@example.org", False),
    ],
)
def test_match_all_needs_every_condition_and_any_needs_one(
    match: str, sender: str, expected: bool
) -> None:
    box = make_ticketbox("Matched")
    make_rule(
        cond("from_address", "starts_with", "bob@"),
        cond("from_address", "ends_with", ".net"),
        match=match,
        file_into=box,
    )
    ticket = route(mail(sender=sender))
    assert ticket is not None
    assert (ticket.ticketbox_id == box.pk) is expected


def test_disabled_rule_is_skipped() -> None:
    off, on = make_ticketbox("Off"), make_ticketbox("On")
    disabled = make_rule(
        cond("subject", "contains", "widget"), position=0, enabled=False, file_into=off
    )
    make_rule(cond("subject", "contains", "widget"), position=1, file_into=on)
    ticket = route(mail())
    assert ticket is not None and ticket.ticketbox == on
    disabled.refresh_from_db()
    assert disabled.hit_count == 0


def test_rules_are_tried_by_position_then_id() -> None:
    first_made, second_made, low = (make_ticketbox(n) for n in ("First", "Second", "Low"))
    make_rule(cond("subject", "contains", "widget"), position=5, file_into=first_made)
    make_rule(cond("subject", "contains", "widget"), position=5, file_into=second_made)
    lowest = make_rule(cond("subject", "contains", "widget"), position=1, file_into=low)
    ticket = route(mail())
    assert ticket is not None and ticket.ticketbox == low

    lowest.enabled = False
    lowest.save()  # the compiled rule set is rebuilt on save
    ticket = route(mail(message_id="<m2@example.net>"))
    assert ticket is not None and ticket.ticketbox == first_made


def test_only_the_first_matching_rule_acts() -> None:
    agent = make_agent()
    box = make_ticketbox("Later")
    first = make_rule(cond("subject", "contains", "widget"), position=0, set_priority=3)
    later = make_rule(
        cond("subject", "contains", "broken"),
        position=1,
        file_into=box,
        assign_to=agent,
        set_status="on_hold",
        add_note="should not be written",
    )
    ticket = route(mail())
    assert ticket is not None
    assert ticket.priority == 3
    assert ticket.ticketbox == unassigned_ticketbox()
    assert ticket.owner is None and ticket.status == "open"
    assert not Note.objects.exists()
    first.refresh_from_db()
    later.refresh_from_db()
    assert (first.hit_count, later.hit_count) == (1, 0)


def test_rule_without_conditions_never_matches() -> None:
    box = make_ticketbox("Everything")
    rule = make_rule(file_into=box)
    ticket = route(mail())
    assert ticket is not None and ticket.ticketbox == unassigned_ticketbox()
    rule.refresh_from_db()
    assert rule.hit_count == 0


# ---------------------------------------------------------------------------------------
# 4. Actions


def test_file_into_and_assign_to() -> None:
    agent = make_agent("ann")
    box = make_ticketbox("Billing")
    make_rule(cond("subject", "contains", "widget"), file_into=box, assign_to=agent)
    ticket = route(mail())
    assert ticket is not None
    assert ticket.ticketbox == box and ticket.owner == agent
    routed = TicketEvent.objects.get(ticket=ticket, kind="routed")
    assert routed.detail["rule"] == "rule"


def test_set_priority_overrides_the_mails_priority_header() -> None:
    urgent = route(mail(extra="X-Priority: 1 (Highest)\r\n"))
    assert urgent is not None and urgent.priority == Ticket.Priority.URGENT  # the control

    make_rule(cond("subject", "contains", "widget"), set_priority=Ticket.Priority.LOW)
    ticket = route(mail(message_id="<m2@example.net>", extra="X-Priority: 1 (Highest)\r\n"))
    assert ticket is not None and ticket.priority == Ticket.Priority.LOW


@pytest.mark.parametrize("status", ["on_hold", "waiting", "closed"])
def test_set_status(status: str) -> None:
    make_rule(cond("subject", "contains", "widget"), set_status=status)
    ticket = route(mail())
    assert ticket is not None and ticket.status == status
    assert (ticket.closed_at is not None) is (status == "closed")


def test_auto_reply_queues_a_loop_safe_reply_with_merge_fields(default_from: str) -> None:
    box = make_ticketbox("Support")
    response = StandardResponse.objects.create(
        title="Thanks",
        body="Dear {{ contact.name }}, ticket {{ ticket.number }} is in {{ ticketbox.name }}.",
    )
    make_rule(cond("subject", "contains", "widget"), file_into=box, auto_reply=response)
    ticket = route(mail())
    assert ticket is not None

    outbound = OutboundMessage.objects.get()
    assert outbound.kind == OutboundMessage.Kind.AUTO_REPLY
    assert outbound.state == OutboundMessage.State.QUEUED
    assert outbound.recipients == ["carla@example.net"]
    assert outbound.envelope_from == return_path_for(outbound.pk, default_from)
    assert outbound.ticket_id == ticket.pk
    with outbound.raw.open("rb") as handle:
        raw = handle.read()
    assert b"Auto-Submitted: auto-replied" in raw
    assert f"X-Mailflow-Loop: {loop_token()}".encode() in raw
    sent = outbound_mail(outbound)
    assert sent["Subject"] == f"Re: Broken widget [#TB-{ticket.number}]"
    assert sent["In-Reply-To"] == "<m1@example.net>"
    assert sent["From"].addresses[0].addr_spec == default_from
    body = cast(EmailMessage, sent.get_body(("plain",))).get_content()
    assert f"Dear Carla Customer, ticket {ticket.number} is in Support." in body
    assert "{{" not in body

    reply = Message.objects.get(ticket=ticket, direction=Message.Direction.OUT)
    assert reply.message_id == outbound.message_id == sent["Message-ID"]
    assert outbound.ticket_message_id == reply.pk
    assert reply.in_reply_to == "<m1@example.net>"
    assert AutoReplyLog.objects.filter(address="carla@example.net").exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind="auto_reply").exists()


def test_auto_reply_uses_the_ticketboxs_from_address(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": ""}
    box = make_ticketbox("Sales", from_address="sales@shop.example", from_name="Shop Sales")
    response = StandardResponse.objects.create(title="Thanks", body="Thank you.")
    make_rule(cond("subject", "contains", "widget"), file_into=box, auto_reply=response)
    route(mail())
    outbound = OutboundMessage.objects.get(kind="auto_reply")
    assert outbound.envelope_from == return_path_for(outbound.pk, "sales@shop.example")
    assert outbound_mail(outbound)["From"].addresses[0].display_name == "Shop Sales"


def test_no_from_address_queues_no_automatic_mail(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": ""}
    box = make_ticketbox("Quiet")
    response = StandardResponse.objects.create(title="Thanks", body="Thank you.")
    make_rule(
        cond("subject", "contains", "widget"),
        file_into=box,
        auto_reply=response,
        forward_to="boss@example.org",
    )
    ticket = route(mail())
    assert ticket is not None and ticket.ticketbox == box  # the mail itself is routed
    assert not OutboundMessage.objects.exists()
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


def test_automatic_mail_is_loop_safe_and_once_per_sender(default_from: str) -> None:
    response = StandardResponse.objects.create(title="Thanks", body="Thank you.")
    make_rule(
        cond("subject", "contains", "widget"), auto_reply=response, forward_to="boss@example.org"
    )
    route(mail())
    route(mail(message_id="<m2@example.net>"))  # the same sender within the window
    route(
        mail(
            sender="dan@example.net",
            message_id="<m3@x>",
            extra="Auto-Submitted: auto-replied\r\n",
        )
    )
    assert OutboundMessage.objects.filter(kind="auto_reply").count() == 1
    assert OutboundMessage.objects.filter(kind="forward").count() == 3

    looped = mail(
        sender="eve@example.net",
        message_id="<m4@x>",
        extra=f"X-Mailflow-Loop: {loop_token()}\r\n",
    )
    ticket = route(looped)
    assert ticket is not None
    assert not OutboundMessage.objects.filter(ticket=ticket).exists()


def test_forward_to_queues_a_copy_with_the_original_attached(default_from: str) -> None:
    make_rule(
        cond("subject", "contains", "widget"),
        name="Copy to the boss",
        forward_to="boss@example.org,\naudit@example.org",
    )
    ticket = route(mail())
    assert ticket is not None
    outbound = OutboundMessage.objects.get()
    assert outbound.kind == OutboundMessage.Kind.FORWARD
    assert outbound.recipients == ["boss@example.org", "audit@example.org"]
    assert outbound.envelope_from == return_path_for(outbound.pk, default_from)
    assert outbound.ticket_id == ticket.pk
    sent = outbound_mail(outbound)
    assert [a.addr_spec for a in sent["To"].addresses] == ["boss@example.org", "audit@example.org"]
    assert sent["Auto-Submitted"] == "auto-replied"
    assert f"[#TB-{ticket.number}]" in sent["Subject"]
    originals = [p for p in sent.iter_attachments() if p.get_content_type() == "message/rfc822"]
    assert len(originals) == 1
    original = cast(EmailMessage, originals[0].get_content())
    assert original["Message-ID"] == "<m1@example.net>"
    assert original["Subject"] == "Broken widget"
    assert TicketEvent.objects.filter(ticket=ticket, kind="forwarded").exists()


def test_add_note_writes_a_system_note() -> None:
    make_rule(cond("subject", "contains", "widget"), add_note="  Check the warranty.  ")
    ticket = route(mail())
    assert ticket is not None
    note = Note.objects.get()
    assert note.ticket == ticket and note.author is None
    assert note.body == "Check the warranty."


def test_delete_trash_opens_the_ticket_in_the_trash() -> None:
    make_rule(cond("subject", "contains", "widget"), name="Junk", delete_action="trash")
    ticket = route(mail())
    assert ticket is not None and ticket.deleted_at is not None
    assert not Ticket.objects.active().exists()
    event = TicketEvent.objects.get(ticket=ticket, kind="deleted")
    assert "Junk" in event.detail["why"]
    assert InboundMessage.objects.get().state == InboundMessage.State.ROUTED


def test_delete_discard_opens_no_ticket_and_logs_why(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mailflow.routing")
    make_rule(cond("subject", "contains", "widget"), name="Drop widgets", delete_action="discard")
    inbound = store(mail())
    outcome = route_inbound(inbound.pk)
    assert outcome.ticket_id is None and not outcome.new_ticket
    assert not Ticket.objects.exists() and not Message.objects.exists()
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.DISCARDED
    assert "Drop widgets" in inbound.error
    warnings = [
        r for r in caplog.records if r.name == "mailflow.routing" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "Drop widgets" in warnings[0].getMessage()
    assert str(inbound.pk) in warnings[0].getMessage()


# ---------------------------------------------------------------------------------------
# 5. Fallbacks


def test_mail_no_rule_takes_goes_to_unassigned() -> None:
    box = make_ticketbox("Invoices")
    make_rule(cond("subject", "contains", "invoice"), file_into=box)
    ticket = route(mail())
    assert ticket is not None and ticket.ticketbox == unassigned_ticketbox()


def test_rule_that_only_sets_priority_leaves_the_ticket_in_unassigned() -> None:
    make_rule(cond("subject", "contains", "widget"), set_priority=Ticket.Priority.URGENT)
    ticket = route(mail())
    assert ticket is not None
    assert ticket.ticketbox == unassigned_ticketbox()
    assert ticket.priority == Ticket.Priority.URGENT


def test_inbound_address_chooses_the_ticketbox_unless_a_rule_files_the_mail() -> None:
    support = make_ticketbox("Support")
    TicketboxAddress.objects.create(ticketbox=support, address="Support@Example.com")
    ticket = route(mail())
    assert ticket is not None and ticket.ticketbox == support
    ticket = route(mail(to="other@example.com", message_id="<m2@example.net>"))
    assert ticket is not None and ticket.ticketbox == unassigned_ticketbox()
    ticket = route(
        mail(
            to="other@example.com",
            extra="Delivered-To: support@example.com\r\n",
            message_id="<m3@example.net>",
        )
    )
    assert ticket is not None and ticket.ticketbox == support

    billing = make_ticketbox("Billing")
    make_rule(cond("subject", "contains", "invoice"), file_into=billing)
    ticket = route(mail(subject="Invoice 7", message_id="<m4@example.net>"))
    assert ticket is not None and ticket.ticketbox == billing


def test_mail_source_default_ticketbox_is_the_last_fallback() -> None:
    sales = make_ticketbox("Sales")
    source = MailSource.objects.create(
        name="sales", host="h", username="u", ticketbox_hint=sales, protocol="imap"
    )
    ticket = route(mail(), source=source)
    assert ticket is not None and ticket.ticketbox == sales

    support = make_ticketbox("Support")
    TicketboxAddress.objects.create(ticketbox=support, address="support@example.com")
    ticket = route(mail(message_id="<m2@example.net>"), source=source)
    assert ticket is not None and ticket.ticketbox == support


# ---------------------------------------------------------------------------------------
# 6. Statistics and idempotence


def test_hit_count_and_last_hit_at_grow_per_routed_mail() -> None:
    hit = make_rule(cond("subject", "contains", "widget"), set_priority=3)
    missed = make_rule(cond("subject", "contains", "invoice"), set_priority=4)
    route(mail())
    hit.refresh_from_db()
    assert hit.hit_count == 1 and hit.last_hit_at is not None
    first_hit_at = hit.last_hit_at
    route(mail(message_id="<m2@example.net>"))
    route(mail(subject="Something else", message_id="<m3@example.net>"))
    hit.refresh_from_db()
    missed.refresh_from_db()
    assert hit.hit_count == 2 and hit.last_hit_at >= first_hit_at
    assert missed.hit_count == 0 and missed.last_hit_at is None


def test_routing_the_same_mail_twice_changes_nothing(default_from: str) -> None:
    box = make_ticketbox("Support")
    response = StandardResponse.objects.create(title="Thanks", body="Thank you.")
    rule = make_rule(
        cond("subject", "contains", "widget"),
        file_into=box,
        auto_reply=response,
        forward_to="boss@example.org",
        add_note="Look at this.",
    )
    inbound = store(mail())
    first = route_inbound(inbound.pk)
    counts = (
        Ticket.objects.count(),
        Message.objects.count(),
        Note.objects.count(),
        OutboundMessage.objects.count(),
        TicketEvent.objects.count(),
    )
    assert counts[:4] == (1, 2, 1, 2)
    again = route_inbound(inbound.pk)
    assert again.already_routed and again.ticket_id == first.ticket_id
    assert (
        Ticket.objects.count(),
        Message.objects.count(),
        Note.objects.count(),
        OutboundMessage.objects.count(),
        TicketEvent.objects.count(),
    ) == counts
    rule.refresh_from_db()
    assert rule.hit_count == 1


# ---------------------------------------------------------------------------------------
# 7. Regex safety and validation


@pytest.mark.parametrize(("pattern", "taken"), [("(a+)+$", False), ("^(a+)+b$", True)])
def test_catastrophic_regex_runs_in_linear_time(pattern: str, taken: bool) -> None:
    box = make_ticketbox("Regex")
    make_rule(cond("body", "regex", pattern), file_into=box)
    inbound = store(mail(body="a" * 100_000 + "b"))
    started = time.monotonic()
    outcome = route_inbound(inbound.pk)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert (Ticket.objects.get(pk=outcome.ticket_id).ticketbox == box) is taken


INVALID_CONDITIONS = [
    pytest.param(cond("subject", "regex", "("), "value", "RE2", id="regex-syntax"),
    pytest.param(cond("subject", "regex", "(?=x)"), "value", "RE2", id="regex-lookahead"),
    pytest.param(cond("body", "regex", r"(a)\1"), "value", "RE2", id="regex-backreference"),
    pytest.param(
        cond("from_address", "in_list", "carla@example.net\nnot-an-address"),
        "value",
        "not-an-address",
        id="in_list-bad-entry",
    ),
    pytest.param(
        cond("recipients", "in_list", "@@example"), "value", "@@example", id="in_list-bad-domain"
    ),
    pytest.param(cond("header", "equals", "YES"), "header_name", "Name the header", id="no-header"),
    pytest.param(
        cond("header", "equals", "YES", header_name="X Spam"),
        "header_name",
        "no spaces",
        id="bad-header-name",
    ),
    pytest.param(
        cond("subject", "equals", "x", header_name="X-Spam-Flag"),
        "header_name",
        "named header",
        id="header-name-on-other-field",
    ),
    pytest.param(cond("cc", "is_empty", "x"), "value", "takes no value", id="is_empty-value"),
    pytest.param(cond("subject", "contains", "  "), "value", "Enter the value", id="no-value"),
]


@pytest.mark.parametrize(("condition", "key", "fragment"), INVALID_CONDITIONS)
def test_invalid_condition_is_refused(condition: Cond, key: str, fragment: str) -> None:
    rule = RoutingRule.objects.create(name="r", set_priority=3)
    with pytest.raises(ValidationError) as refused:
        RuleCondition(rule=rule, **condition).full_clean()
    errors = refused.value.message_dict
    assert key in errors
    assert fragment in " ".join(errors[key])


@pytest.mark.parametrize(
    "condition",
    [
        cond("subject", "regex", "(a+)+$"),
        cond("from_address", "in_list", "carla@example.net\n@example.org, example.com"),
        cond("subject", "in_list", "not an address\nanything goes"),
        cond("header", "equals", "YES", header_name="X-Spam-Flag"),
        cond("header", "is_empty", header_name="X-Spam-Flag"),
        cond("cc", "is_empty"),
    ],
)
def test_sound_condition_is_accepted(condition: Cond) -> None:
    rule = RoutingRule.objects.create(name="r", set_priority=3)
    RuleCondition(rule=rule, **condition).full_clean()


def test_rule_without_any_action_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        RoutingRule(name="Does nothing").full_clean()
    assert "file_into" in refused.value.message_dict
    RoutingRule(name="Does something", add_note="hi").full_clean()


def test_discard_with_a_ticket_action_is_refused() -> None:
    box = make_ticketbox("Spam")
    with pytest.raises(ValidationError) as refused:
        RoutingRule(name="Confused", delete_action="discard", file_into=box).full_clean()
    assert "delete_action" in refused.value.message_dict
    RoutingRule(name="Discard", delete_action="discard").full_clean()
    RoutingRule(name="Trash", delete_action="trash", file_into=box).full_clean()


def test_forward_to_must_list_addresses() -> None:
    with pytest.raises(ValidationError) as refused:
        RoutingRule(name="Fwd", forward_to="boss@example.org, nobody").full_clean()
    assert "nobody" in " ".join(refused.value.message_dict["forward_to"])


# ---------------------------------------------------------------------------------------
# 8. The compiled rule set agrees with a straightforward reference implementation

ALPHABET = "abcAB xyé.*+?()[]{}|\\^$-"
# (RE2 form, Python form): pieces with the same meaning in both engines.
REGEX_PIECES = [
    ("a", "a"),
    ("B", "B"),
    ("é", "é"),
    ("x", "x"),
    ("@", "@"),
    (" ", " "),
    (r"\.", r"\."),
    (r"\(", r"\("),
    (r"\*", r"\*"),
    (".", "."),
    ("[a-c]", "[a-c]"),
    ("[^b]", "[^b]"),
    ("(?:ab|c)", "(?:ab|c)"),
    ("x*", "x*"),
    ("a+", "a+"),
    ("B?", "B?"),
    ("(?:a|b){1,2}", "(?:a|b){1,2}"),
    ("^", "^"),
    (r"\z", r"\Z"),
]
PATTERN_OPERATORS = ["contains", "not_contains", "equals", "starts_with", "ends_with", "regex"]
ADDRESSES = ["ann@x.example", "Bob@mail.x.example", "carla@y.example", "dan@b.y.example"]
LIST_ENTRIES = [
    *ADDRESSES,
    "x.example",
    "@y.example",
    "mail.x.example",
    "Z.example",
    "ann@z.example",
]


@dataclass(frozen=True)
class RandomCondition:
    field: str
    operator: str
    value: str
    case_sensitive: bool
    python_regex: str = ""


class StubFacts:
    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    def values(self, field: str, header: str = "") -> list[str]:
        return self._values.get(field, [])


def _text(rng: random.Random, *, newlines: bool = False) -> str:
    alphabet = ALPHABET + ("\n" if newlines else "")
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))


def _random_mail(rng: random.Random) -> dict[str, list[str]]:
    return {
        "subject": [_text(rng)] if rng.random() < 0.9 else [],
        "body": [_text(rng, newlines=True)],
        "to": rng.sample(ADDRESSES, rng.randint(0, 2)),
    }


def _literal(rng: random.Random, samples: list[str]) -> str:
    while True:
        if rng.random() < 0.6 and samples:
            text = rng.choice(samples)
            start = rng.randint(0, len(text))
            value = text[start : start + rng.randint(1, 8)] if rng.random() < 0.8 else text
            if rng.random() < 0.3:
                value = value.swapcase()
        else:
            value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4)))
        if value.strip():
            return value


def _random_condition(
    rng: random.Random, mails: list[dict[str, list[str]]], operators: list[str]
) -> RandomCondition:
    field = rng.choice(["subject", "body", "to"])
    operator = rng.choice(operators)
    case_sensitive = rng.random() < 0.3
    samples = [v for m in mails for v in m[field]]
    if operator == "regex":
        pieces = [(" ", " ")]
        while "".join(p[0] for p in pieces).isspace():  # a blank value is refused
            pieces = [rng.choice(REGEX_PIECES) for _ in range(rng.randint(1, 4))]
        return RandomCondition(
            field,
            operator,
            "".join(p[0] for p in pieces),
            case_sensitive,
            "".join(p[1] for p in pieces),
        )
    if operator == "is_empty":
        return RandomCondition(field, operator, "", case_sensitive)
    if operator == "in_list" and field == "to":
        value = "\n".join(rng.sample(LIST_ENTRIES, rng.randint(1, 3)))
    elif operator == "in_list":
        lines = [_literal(rng, samples) for _ in range(rng.randint(1, 3))]
        lines += [rng.choice(samples).swapcase()] if samples and rng.random() < 0.5 else []
        value = "\n".join(line.replace("\n", " ") for line in lines)
    else:
        value = _literal(rng, samples)
    return RandomCondition(field, operator, value, case_sensitive)


def _listed(address: str, entries: list[str]) -> bool:
    address = address.lower()
    domain = address.rpartition("@")[2]
    for entry in (e.lower() for e in entries):
        if entry.startswith("@") or "@" not in entry:
            bare = entry.lstrip("@")
            if domain == bare or domain.endswith("." + bare):
                return True
        elif address == entry:
            return True
    return False


def _reference(c: RandomCondition, values: list[str]) -> bool:
    """One condition checked the obvious way, with Python's re for regular expressions."""
    if c.operator == "regex":
        compiled = re.compile(c.python_regex, 0 if c.case_sensitive else re.IGNORECASE)
        return any(compiled.search(v) for v in values)
    if c.operator == "is_empty":
        return all(not v.strip() for v in values)

    def fold(text: str) -> str:
        return text if c.case_sensitive else text.lower()

    if c.operator == "in_list" and c.field == "to":
        return any(_listed(v, c.value.split()) for v in values)
    if c.operator == "in_list":
        lines = {fold(line.strip()) for line in c.value.splitlines() if line.strip()}
        return any(fold(v.strip()) in lines for v in values)
    needle = fold(c.value.strip())
    if c.operator == "not_contains":
        return not any(needle in fold(v) for v in values)
    check = {
        "contains": lambda v: needle in v,
        "equals": lambda v: v == needle,
        "starts_with": lambda v: v.startswith(needle),
        "ends_with": lambda v: v.endswith(needle),
    }[c.operator]
    return any(check(fold(v)) for v in values)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("mode", ["re2-set", "one-regex-at-a-time"])
def test_compiled_re2_sets_agree_with_python_one_condition_at_a_time(
    seed: int, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == "one-regex-at-a-time":

        def too_big(*args: Any) -> Any:
            raise re2.error("pattern set too large")

        monkeypatch.setattr(re2.Set, "SearchSet", too_big)
    rng = random.Random(seed)
    mails = [_random_mail(rng) for _ in range(6)]
    specs = [_random_condition(rng, mails, PATTERN_OPERATORS) for _ in range(300)]
    conditions = [
        CompiledCondition(
            index=i,
            id=i,
            field=c.field,
            header="",
            operator=c.operator,
            value=c.value,
            case_sensitive=c.case_sensitive,
        )
        for i, c in enumerate(specs)
    ]
    ruleset = RuleSet(version=1, rules=[], conditions=conditions)
    one_set = mode == "re2-set"
    assert ruleset.scans and all((s.single is None) is one_set for s in ruleset.scans.values())

    held = 0
    for values in mails:
        got = ruleset.results(cast(MailFacts, StubFacts(values)))
        expected = [_reference(c, values[c.field]) for c in specs]
        wrong = [(conditions[i].label, got[i]) for i in range(len(specs)) if got[i] != expected[i]]
        assert not wrong, f"{values}: {wrong[:5]}"
        held += sum(expected)
    total = len(specs) * len(mails)
    assert total * 0.1 < held < total * 0.9  # both outcomes are well represented


@pytest.mark.parametrize("seed", [4, 5])
def test_first_match_agrees_with_trying_every_rule_in_order(seed: int) -> None:
    """Random rules of random conditions (every operator), compiled from the database."""
    rng = random.Random(seed)
    mails = [_random_mail(rng) for _ in range(12)]
    rules = RoutingRule.objects.bulk_create(
        RoutingRule(
            name=f"r{n}",
            position=rng.randint(0, 5),
            enabled=rng.random() < 0.9,
            match=rng.choice(["all", "any"]),
            set_priority=3,
        )
        for n in range(120)
    )
    pairs: list[tuple[RuleCondition, RandomCondition]] = []
    for rule in rules:
        for position in range(rng.choice([0, 1, 2, 2, 3, 3])):
            spec = _random_condition(rng, mails, [*PATTERN_OPERATORS, "in_list", "is_empty"])
            row = RuleCondition(
                rule=rule,
                position=position,
                field=spec.field,
                operator=spec.operator,
                value=spec.value,
                case_sensitive=spec.case_sensitive,
            )
            row.full_clean()  # every generated condition is one the admin would accept
            pairs.append((row, spec))
    RuleCondition.objects.bulk_create([row for row, _ in pairs])
    specs = {row.pk: spec for row, spec in pairs}
    ruleset = compile_ruleset(version=1)
    ordered = RoutingRule.objects.filter(enabled=True).order_by("position", "id")
    assert [r.id for r in ruleset.rules] == [r.id for r in ordered]

    def holds(rule: CompiledRule, values: dict[str, list[str]]) -> bool:
        verdicts = [
            _reference(specs[condition.id], values[condition.field])
            for condition in (ruleset.conditions[i] for i in rule.conditions)
        ]
        return bool(verdicts) and (all(verdicts) if rule.match_all else any(verdicts))

    winners: set[int | None] = set()
    for values in mails:
        facts = cast(MailFacts, StubFacts(values))
        results = ruleset.results(facts)
        for condition in ruleset.conditions:
            expected = _reference(specs[condition.id], values[condition.field])
            assert results[condition.index] == expected, (condition.label, values)
        for start in range(0, len(ruleset.rules), 7):
            tail = ruleset.rules[start:]
            got = RuleSet(version=1, rules=tail, conditions=ruleset.conditions).first_match(facts)
            expected_rule = next((rule for rule in tail if holds(rule, values)), None)
            expected_id = expected_rule.id if expected_rule else None
            assert (got.id if got else None) == expected_id, values
            winners.add(expected_id)
    assert len(winners) > 10 and None in winners  # many different rules won, and none at all
