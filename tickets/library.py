"""The standard response library: reusable answers, by category, with per-agent usage."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from tickets.models import Ticketbox


class StandardResponseCategory(models.Model):
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = "standard response category"
        verbose_name_plural = "standard response categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"],
                condition=Q(parent__isnull=False),
                name="responsecategory_unique_name",
                violation_error_message="A category with this name already exists here.",
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(parent__isnull=True),
                name="responsecategory_unique_top_name",
                violation_error_message="A top-level category with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent} / {self.name}" if self.parent_id else self.name


class StandardResponse(models.Model):
    category = models.ForeignKey(
        StandardResponseCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    title = models.CharField(max_length=200)
    shortcut = models.SlugField(
        max_length=50, blank=True, help_text="Optional keyword to find it quickly, e.g. 'refund'."
    )
    body = models.TextField(
        help_text="Merge fields: {{ contact.name }}, {{ ticket.number }}, {{ ticketbox.name }}, "
        "{{ agent.name }}."
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class StandardResponseUsage(models.Model):
    """How often one agent used one response; the picker lists an agent's most used first."""

    response = models.ForeignKey(StandardResponse, on_delete=models.CASCADE, related_name="usage")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="response_usage"
    )
    count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "standard response usage"
        constraints = [
            models.UniqueConstraint(fields=["response", "agent"], name="responseusage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} used {self.response} {self.count}×"


_MERGE_FIELD = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def fill_merge_fields(body: str, values: dict[str, str]) -> str:
    """Replace {{ contact.name }}-style merge fields; unknown ones are left as written, so a
    typo shows in the sent text instead of silently vanishing."""
    return _MERGE_FIELD.sub(lambda m: values.get(m[1], m[0]), body)


def framed_text(ticketbox: Ticketbox, text: str) -> str:
    """The text of an outbound mail between the ticketbox's header and footer (each part
    stripped, empty ones left out), as every mail we send from a ticketbox is framed."""
    return "\n\n".join(
        part for part in (ticketbox.header.strip(), text.strip(), ticketbox.footer.strip()) if part
    )
