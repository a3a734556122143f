"""Automatic escalation: no agent reply within N hours → escalate; a warning before.

Each stage is one query for the tickets due (every rule's cutoff OR-ed) and one claiming
``UPDATE … RETURNING`` per escalation target: the update only touches tickets not yet
warned (or escalated) for their current wait, so of two workers racing, each ticket is
claimed by one, and only the claimed tickets get their history line and alert.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q

from alerts.age import waiting_tickets
from alerts.models import Alert, AlertKind, EscalationRule
from alerts.services import AlertDraft, raise_alerts
from tickets.agents import agent_name
from tickets.models import Ticket, Ticketbox, TicketEvent

WARNING, ESCALATION = "warn_after_hours", "escalate_after_hours"
COLUMNS = ("pk", "number", "subject", "ticketbox_id", "ticketbox__name", "owner_id")


def run_escalations(now: datetime) -> list[Alert]:
    """Escalate the tickets due, then warn the owners of tickets nearing escalation."""
    rules = effective_rules()
    if not rules:
        return []
    with transaction.atomic():
        raised = _escalate(rules, now)
    with transaction.atomic():
        raised += _warn(rules, now)
    return raised


def effective_rules() -> dict[int | None, EscalationRule]:
    """Enabled rules by ticketbox id (None: the rule for every other ticketbox)."""
    rules: dict[int | None, EscalationRule] = {}
    for rule in EscalationRule.objects.filter(enabled=True).order_by("pk"):
        rules.setdefault(rule.ticketbox_id, rule)
    return rules


def _due(rules: dict[int | None, EscalationRule], stage: str, now: datetime) -> Q:
    own = [box for box in rules if box is not None]
    due = Q(pk__in=[])
    for box, rule in rules.items():
        hours = getattr(rule, stage)
        if hours is None:
            continue
        where = Q(ticketbox_id=box) if box is not None else ~Q(ticketbox_id__in=own)
        due |= where & Q(awaiting_reply_since__lte=now - timedelta(hours=float(hours)))
    return due


def _not_yet(field: str) -> Q:
    """Not done for the current wait (never, or for an earlier one)."""
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": F("awaiting_reply_since")})


def _escalate(rules: dict[int | None, EscalationRule], now: datetime) -> list[Alert]:
    tickets = list(
        Ticket.objects.filter(waiting_tickets(), _due(rules, ESCALATION, now))
        .filter(_not_yet("escalated_at"))
        .values_list(*COLUMNS, "awaiting_reply_since")
    )
    if not tickets:
        return []
    supervisors = dict(
        Ticketbox.objects.filter(pk__in={t[3] for t in tickets}).values_list("pk", "supervisor")
    )
    by_target: dict[int | None, list[tuple[tuple[Any, ...], EscalationRule]]] = defaultdict(list)
    for ticket in tickets:
        rule = _rule_for(rules, ticket[3])
        by_target[rule.escalate_to_id or supervisors.get(ticket[3])].append((ticket, rule))
    names = _names(by_target)
    events, drafts = [], []
    for target, group in by_target.items():
        ids = _claim(
            "escalated_at",
            [t[0] for t, _ in group],
            now,
            also={"escalated_to_id": target, "updated_at": now},
        )
        for (pk, number, subject, box, box_name, owner, since), rule in group:
            if pk not in ids:
                continue
            to = names.get(target, "nobody (no supervisor)")
            events.append(
                TicketEvent(
                    ticket_id=pk,
                    kind=TicketEvent.Kind.ESCALATED,
                    detail={"to": to, "why": f"escalation rule “{rule.name}”", "automatic": True},
                )
            )
            drafts.append(
                AlertDraft(
                    title=f"#{number} in {box_name} escalated to {to}: no answer for "
                    f"{float(rule.escalate_after_hours):g} hours: {subject}",
                    ticket_id=pk,
                    ticketbox_id=box,
                    agent_ids=frozenset(a for a in (target, owner) if a),
                    once_key=f"escalation:{pk}:{since.timestamp():.0f}",
                )
            )
    TicketEvent.objects.bulk_create(events)
    return raise_alerts(AlertKind.ESCALATION, drafts, now=now)


def _rule_for(rules: dict[int | None, EscalationRule], box: int) -> EscalationRule:
    """The ticketbox's own rule, else the rule for every ticketbox."""
    return rules.get(box) or rules[None]


def _warn(rules: dict[int | None, EscalationRule], now: datetime) -> list[Alert]:
    tickets = list(
        Ticket.objects.filter(waiting_tickets(), _due(rules, WARNING, now))
        .filter(_not_yet("escalation_warned_at"), _not_yet("escalated_at"))
        .values_list(*COLUMNS, "awaiting_reply_since")
    )
    if not tickets:
        return []
    ids = _claim("escalation_warned_at", [t[0] for t in tickets], now)
    events, drafts = [], []
    for pk, number, subject, box, box_name, owner, since in tickets:
        if pk not in ids:
            continue
        rule = _rule_for(rules, box)
        events.append(
            TicketEvent(
                ticket_id=pk,
                kind=TicketEvent.Kind.ESCALATION_WARNING,
                detail={
                    "why": f"escalation rule “{rule.name}”",
                    "escalates_after_hours": float(rule.escalate_after_hours),
                },
            )
        )
        drafts.append(
            AlertDraft(
                title=f"#{number} in {box_name} is escalated in "
                f"{float(rule.escalate_after_hours - (rule.warn_after_hours or 0)):g} hours unless "
                f"answered: {subject}",
                ticket_id=pk,
                ticketbox_id=box,
                agent_ids=frozenset({owner} if owner else ()),
                once_key=f"escalation_warning:{pk}:{since.timestamp():.0f}",
            )
        )
    TicketEvent.objects.bulk_create(events)
    return raise_alerts(AlertKind.ESCALATION_WARNING, drafts, now=now)


def _claim(
    field: str, ids: list[int], now: datetime, *, also: dict[str, Any] | None = None
) -> set[int]:
    """Stamp ``field`` on the tickets not stamped for their current wait; the ids this
    caller stamped (a racing worker's update waits for ours, then finds nothing to do)."""
    table = Ticket._meta.db_table
    values = {field: now, **(also or {})}
    assignments = ", ".join(f"{column} = %s" for column in values)
    params = [
        connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
        for v in values.values()
    ]
    claimed: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            cursor.execute(
                f"UPDATE {table} SET {assignments} "  # noqa: S608
                f"WHERE id IN ({', '.join(['%s'] * len(chunk))}) "
                f"AND ({field} IS NULL OR {field} < awaiting_reply_since) RETURNING id",
                [*params, *chunk],
            )
            claimed.update(row[0] for row in cursor.fetchall())
    return claimed


def _names(by_target: dict[int | None, Any]) -> dict[int | None, str]:
    User = get_user_model()
    people = User.objects.filter(pk__in=[t for t in by_target if t])
    return {p.pk: agent_name(p) for p in people}
