"""Template filters of the agent workspace."""

from __future__ import annotations

from django import template

from tickets.agents import agent_name

register = template.Library()


register.filter("agent_name", agent_name)
