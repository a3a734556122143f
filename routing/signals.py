"""Any change that the compiled rule set depends on invalidates it on every worker."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from conduit.models import MailSource
from routing.models import BlockedSender, RoutingRule, RuleCondition
from routing.ruleset import bump_rules_version
from tickets.library import StandardResponse
from tickets.models import Ticketbox, TicketboxAddress

# Models whose rows the rule set compiles (or points at: a deleted agent or standard
# response is cleared from the rules that named it).
WATCHED = (
    RoutingRule,
    RuleCondition,
    BlockedSender,
    Ticketbox,
    TicketboxAddress,
    MailSource,
    StandardResponse,
)


def _changed(sender: type, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # loaddata: the fixture's own rows, bumped by the next real change
    fields = kwargs.get("update_fields")
    if sender is MailSource and fields is not None and "username" not in fields:
        return  # bookkeeping on a source; only its address matters to routing
    bump_rules_version()


def _user_deleted(sender: type, **kwargs: Any) -> None:
    bump_rules_version()


def connect() -> None:
    for model in WATCHED:
        post_save.connect(_changed, sender=model, dispatch_uid=f"routing-rules-{model.__name__}")
        post_delete.connect(
            _changed, sender=model, dispatch_uid=f"routing-rules-del-{model.__name__}"
        )
    post_delete.connect(_user_deleted, sender=get_user_model(), dispatch_uid="routing-rules-user")
