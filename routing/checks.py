"""System checks for routing settings: a wrong setting is refused with what to fix."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from routing.conditions import is_address


def check_routing_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    tag = settings.MAILFLOW["TICKET_TAG"]
    if tag.count("{number}") != 1 or len(tag.replace("{number}", "").strip()) < 2:
        errors.append(
            checks.Error(
                f"MAILFLOW_TICKET_TAG is {tag!r}.",
                hint="Set it to a tag holding {number} once, with at least two other "
                "characters, e.g. '[#TB-{number}]' or '[Ticket#{number}]'.",
                id="mailflow.E101",
            )
        )
    default_from = settings.MAILFLOW["DEFAULT_FROM"]
    if default_from and not is_address(default_from):
        errors.append(
            checks.Error(
                f"MAILFLOW_DEFAULT_FROM is {default_from!r}, not an email address.",
                hint="Set it to the address automatic mail comes from, e.g. help@example.com.",
                id="mailflow.E102",
            )
        )
    if settings.MAILFLOW["AUTO_REPLY_WINDOW_MINUTES"] < 1:
        errors.append(
            checks.Error(
                "MAILFLOW_AUTO_REPLY_WINDOW_MINUTES must be at least 1.",
                hint="It is how long a sender waits before another automatic reply (60 is usual).",
                id="mailflow.E103",
            )
        )
    return errors


def register() -> None:
    checks.register(check_routing_settings)
