"""Agents' own settings: preferences, shortcuts and signatures.

Agents are Django users; every agent has one AgentProfile, made when the user is created.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

User = settings.AUTH_USER_MODEL


def agent_name(user: Any, empty: str = "—") -> str:
    """An agent's full name, else their user name; ``empty`` for nobody."""
    if user is None:
        return empty
    return str(user.get_full_name() or user.get_username())


class AgentProfile(models.Model):
    class Theme(models.TextChoices):
        SYSTEM = "system", "Follow the system"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    agent = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    theme = models.CharField(max_length=10, choices=Theme.choices, default=Theme.SYSTEM)
    rows_per_page = models.PositiveSmallIntegerField(
        default=50, help_text="Rows in ticket lists, searches and reports (10–500)."
    )
    quote_replies = models.BooleanField(
        default=True, help_text="Quote the customer's message in replies."
    )
    quote_prefix = models.CharField(max_length=10, default="> ", blank=True)
    shortcut_ticketboxes = models.ManyToManyField(
        "tickets.Ticketbox",
        blank=True,
        related_name="+",
        help_text="Ticketboxes shown under My Shortcuts.",
    )
    shortcut_agents: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        User,
        blank=True,
        related_name="+",
        help_text="Other agents whose tickets this agent can review from My Shortcuts.",
    )
    notify_new_tickets = models.BooleanField(
        default=False, help_text="Tell me about new tickets in my ticketboxes."
    )
    notify_by_email = models.BooleanField(
        default=False, help_text="Also send my notifications by email."
    )

    class Meta:
        verbose_name = "agent preferences"
        verbose_name_plural = "agent preferences"
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_per_page__gte=10, rows_per_page__lte=500),
                name="agentprofile_rows_per_page_range",
                violation_error_message="Rows per page must be between 10 and 500.",
            )
        ]

    def __str__(self) -> str:
        return f"Preferences of {self.agent}"


class Signature(models.Model):
    """A signature an agent can put under replies; at most one is the default."""

    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signatures")
    name = models.CharField(max_length=100)
    body = models.TextField()
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(is_default=True),
                name="signature_one_default_per_agent",
                violation_error_message="An agent has only one default signature.",
            ),
            models.UniqueConstraint(
                fields=["agent", "name"],
                name="signature_unique_name_per_agent",
                violation_error_message="This agent already has a signature with this name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The built-in groups, made by a data migration: every agent is in Everyone;
# members of Administrators hold every right (tickets.auth.AdministratorsBackend).
EVERYONE = "Everyone"
ADMINISTRATORS = "Administrators"
BUILTIN_GROUPS = (EVERYONE, ADMINISTRATORS)
