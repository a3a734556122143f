"""Demo routing rules and blocked senders, so a fresh `make run` shows the engine at work."""

from __future__ import annotations

from typing import Any

from routing.models import BlockedSender, RoutingRule, RuleCondition
from tickets.models import Ticketbox


def create_routing(boxes: dict[str, Ticketbox], agents: dict[str, Any]) -> None:
    rules: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
        (
            {"name": "Spam flagged by the mail server", "delete_action": "trash"},
            [
                {
                    "field": "header",
                    "header_name": "X-Spam-Flag",
                    "operator": "equals",
                    "value": "YES",
                }
            ],
        ),
        (
            {
                "name": "Invoices and refunds to Billing",
                "match": "any",
                "file_into": boxes["Billing"],
            },
            [
                {
                    "field": "subject",
                    "operator": "regex",
                    "value": r"\b(?:invoice|refund|receipt|charged|payment)s?\b",
                },
                {
                    "field": "recipients",
                    "operator": "in_list",
                    "value": "billing@demo.example\ninvoices@demo.example",
                },
            ],
        ),
        (
            {
                "name": "Wholesale enquiries",
                "match": "any",
                "file_into": boxes["Sales"],
                "assign_to": agents["bob"],
                "set_priority": 3,
                "add_note": "Wholesale lead: quote from the current trade price list.",
            },
            [
                {"field": "subject", "operator": "contains", "value": "wholesale"},
                {"field": "body", "operator": "contains", "value": "trade account"},
            ],
        ),
        (
            {"name": "Urgent in the subject", "set_priority": 4},
            [{"field": "subject", "operator": "contains", "value": "urgent"}],
        ),
    ]
    for position, (fields, conditions) in enumerate(rules, start=1):
        rule = RoutingRule.objects.create(position=position * 10, **fields)
        for order, condition in enumerate(conditions):
            RuleCondition.objects.create(rule=rule, position=order, **condition)
    BlockedSender.objects.create(pattern="rankboosters.example", action="trash", reason="SEO spam")
    BlockedSender.objects.create(
        pattern="acc0unt-verify.example", action="discard", reason="Phishing"
    )
