"""The routing dry run: for a raw message, what routing would decide and why.

Runs the same code as the route step (``routing.plan`` with the current compiled rule set)
with every rule traced, inside a transaction that is always rolled back: nothing changes,
not even a rule's hit count.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from conduit.mime import parse_message
from conduit.models import MailSource
from routing.plan import Plan, new_plan, plan_batch
from routing.ruleset import current_ruleset
from tickets.library import StandardResponse
from tickets.models import Ticket

MAX_SHOWN_VALUES = 5
MAX_SHOWN_CHARS = 200


def explain(raw: bytes, *, source: MailSource | None = None) -> dict[str, Any]:
    """What routing would do with this mail, as a JSON-ready dict (see ``as_text``)."""
    with transaction.atomic():
        plan = new_plan(
            parse_message(raw), raw, source_box_id=source.ticketbox_hint_id if source else None
        )
        plan_batch([plan], current_ruleset(), trace=True)
        result = _report(plan)
        transaction.set_rollback(True)
    return result


def _report(plan: Plan) -> dict[str, Any]:
    parsed = plan.parsed
    return {
        "message": {
            "message_id": parsed.message_id,
            "from": plan.sender,
            "to": [a.address for a in parsed.to],
            "subject": parsed.subject,
            "auto_submitted": parsed.auto_submitted,
            "delivery_report": parsed.delivery_report,
        },
        "blocked": (
            {"pattern": plan.blocked.pattern, "action": plan.blocked.action}
            if plan.blocked
            else None
        ),
        "thread": _thread(plan),
        "contact": _contact(plan),
        "rules_applied": plan.new_ticket or plan.discarded,
        "rules": _rules(plan),
        "result": _result(plan),
    }


def _thread(plan: Plan) -> dict[str, Any]:
    if plan.blocked is not None:
        return {"decision": "not threaded: the sender is blocked"}
    if plan.ticket is not None:
        return {
            "decision": "reply to an existing ticket",
            "ticket": plan.ticket.number,
            "ticket_status": plan.ticket.status,
            "method": plan.thread_method,
            "reference": plan.thread_ref,
            "reopens": plan.reopen,
        }
    if plan.follow_up_of is not None:
        return {
            "decision": "new ticket following up a closed one",
            "ticket": plan.follow_up_of.number,
            "method": plan.thread_method,
            "reference": plan.thread_ref,
        }
    return {"decision": "new ticket: no reference, our Message-ID or ticket tag found"}


def _contact(plan: Plan) -> dict[str, Any]:
    contact = plan.contact
    if contact is None:
        return {"existing": False, "would_create": plan.sender or None}
    return {
        "existing": True,
        "id": contact.pk,
        "name": str(contact),
        "owner": str(contact.owner) if contact.owner_id else None,
        "route_to_owner": contact.route_to_owner,
    }


def _rules(plan: Plan) -> list[dict[str, Any]]:
    chosen = plan.rule.id if plan.rule else None
    reached = True
    rows = []
    for rule, matched, conditions in plan.trace:
        rows.append(
            {
                "id": rule.id,
                "name": rule.name,
                "position": rule.position,
                "match": "all" if rule.match_all else "any",
                "matched": matched,
                "reached": reached,
                "applied": rule.id == chosen,
                "conditions": [
                    {
                        "condition": condition.label,
                        "field": condition.field,
                        "header": condition.header,
                        "operator": condition.operator,
                        "value": condition.value,
                        "matched": held,
                        "values": _shown(plan, condition.field, condition.header),
                    }
                    for condition, held in conditions
                ],
            }
        )
        if rule.id == chosen:
            reached = False
    return rows


def _shown(plan: Plan, field: str, header: str) -> list[str]:
    values = plan.facts.values(field, header)[:MAX_SHOWN_VALUES]
    return [v if len(v) <= MAX_SHOWN_CHARS else v[: MAX_SHOWN_CHARS - 1] + "…" for v in values]


def _result(plan: Plan) -> dict[str, Any]:
    if plan.discarded:
        return {"action": "discard", "why": plan.delete_reason, **_forward(plan)}
    if plan.bounce is not None:
        return plan.bounce.explained()
    if plan.ticket is not None or plan.parent is not None:
        return {"action": "add to ticket", "ticket": plan.ticket.number if plan.ticket else None}
    owner = get_user_model().objects.filter(pk=plan.owner_id).first() if plan.owner_id else None
    response = (
        StandardResponse.objects.filter(pk=plan.auto_reply_id).first()
        if plan.auto_reply_id
        else None
    )
    return {
        "action": "open a ticket",
        "ticketbox": plan.ticketbox.name if plan.ticketbox else None,
        "ticketbox_why": plan.ticketbox_reason,
        "owner": owner.get_username() if owner else None,
        "owner_why": plan.owner_reason,
        "priority": Ticket.Priority(plan.priority).label,
        "priority_why": plan.priority_reason,
        "status": Ticket.Status(plan.status).label,
        "trash": plan.delete == "trash",
        "trash_why": plan.delete_reason,
        "note": plan.note,
        "auto_reply": (
            {
                "response": response.title if response else None,
                "to": plan.auto_reply_to or None,
                "decision": plan.auto_reply_reason,
            }
            if plan.auto_reply_reason
            else None
        ),
        **_forward(plan),
    }


def _forward(plan: Plan) -> dict[str, Any]:
    if not plan.forward_to:
        return {}
    return {
        "forward": {
            "to": list(plan.forward_to),
            "decision": plan.forward_reason or "will be forwarded",
        }
    }


def as_text(report: dict[str, Any]) -> str:
    """The explain report as an administrator reads it in a terminal."""
    message = report["message"]
    lines = [
        f"Message  {message['message_id'] or '(no Message-ID)'}",
        f"From     {message['from'] or '(none)'}",
        f"Subject  {message['subject'] or '(none)'}",
    ]
    if report["blocked"]:
        blocked = report["blocked"]
        lines.append(f"Blocked  sender matches {blocked['pattern']} → {blocked['action']}")
    thread = report["thread"]
    detail = f" #{thread['ticket']} by {thread['method']}" if thread.get("ticket") else ""
    lines.append(f"Thread   {thread['decision']}{detail}")
    contact = report["contact"]
    lines.append(
        f"Contact  {contact['name']} (id {contact['id']})"
        if contact["existing"]
        else f"Contact  new: {contact['would_create'] or '(no sender address)'}"
    )
    lines.append("")
    applies = "" if report["rules_applied"] else " (not applied: the mail joins a ticket)"
    lines.append(f"Rules{applies}:")
    if not report["rules"]:
        lines.append("  (no enabled rules)")
    for rule in report["rules"]:
        mark = "✔ APPLIED" if rule["applied"] else ("matched" if rule["matched"] else "no match")
        if not rule["reached"]:
            mark += ", not reached"
        lines.append(f"  {rule['position']:>4} {rule['name']} [match {rule['match']}]: {mark}")
        for condition in rule["conditions"]:
            sign = "✔" if condition["matched"] else "✘"
            lines.append(f"         {sign} {condition['condition']}")
    lines.append("")
    lines.append("Result:")
    lines += [f"  {label}: {text}" for label, text in result_lines(report)]
    return "\n".join(lines)


def result_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The final actions as (label, text) pairs, for the terminal and the admin page."""
    rows = []
    for key, value in report["result"].items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v if v is not None else '—'}" for k, v in value.items())
        if value not in ("", None, False):
            rows.append((key.replace("_why", " (why)").replace("_", " ").capitalize(), str(value)))
    return rows
