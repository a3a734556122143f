"""Template filters of the agent workspace."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def agent_name(user: Any, empty: str = "—") -> str:
    """An agent's full name, else their user name; ``empty`` for nobody."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()
