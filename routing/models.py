"""Routing rules, their conditions, blocked senders and the auto-reply ledger.

A rule is a list of conditions (match all or any) and a set of actions. Rules are tried in
order (``position``, then id); the first whose conditions match processes the message and
the rest are skipped. Validation of patterns and lists lives in ``routing.conditions`` so
the admin form, the model and the compiled rule set agree.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from routing import conditions


class RoutingRule(models.Model):
    class Match(models.TextChoices):
        ALL = "all", "All conditions"
        ANY = "any", "Any condition"

    class Delete(models.TextChoices):
        KEEP = "", "Do not delete"
        TRASH = "trash", "Move the ticket to the trash"
        DISCARD = "discard", "Discard the message (kept as raw mail, logged)"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(
        default=0, db_index=True, help_text="Rules are tried from the lowest position up."
    )
    enabled = models.BooleanField(default=True)
    match = models.CharField(max_length=3, choices=Match.choices, default=Match.ALL)

    # Actions: any combination, applied when the rule takes the message.
    file_into = models.ForeignKey(
        "tickets.Ticketbox",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_rules",
        help_text="Ticketbox for the new ticket.",
    )
    assign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Owner agent of the new ticket.",
    )
    set_priority = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(1, "Low"), (2, "Normal"), (3, "High"), (4, "Urgent")]
    )
    set_status = models.CharField(
        max_length=10,
        blank=True,
        choices=[
            ("open", "Open"),
            ("on_hold", "On hold"),
            ("waiting", "Waiting on customer"),
            ("closed", "Closed"),
        ],
    )
    auto_reply = models.ForeignKey(
        "tickets.StandardResponse",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Send this standard response to the sender (loop-safe, at most once per "
        "sender per window).",
    )
    forward_to = models.TextField(
        blank=True,
        help_text="Forward a copy, with the original attached, to these addresses (one per "
        "line or comma-separated).",
    )
    add_note = models.TextField(blank=True, help_text="Add this internal note to the ticket.")
    delete_action = models.CharField(
        "delete", max_length=7, choices=Delete.choices, default="", blank=True
    )

    hit_count = models.PositiveBigIntegerField(default=0, editable=False)
    last_hit_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "routing rule"

    def __str__(self) -> str:
        return self.name

    def forward_addresses(self) -> list[str]:
        return conditions.split_list(self.forward_to)

    def has_action(self) -> bool:
        return bool(
            self.file_into_id
            or self.assign_to_id
            or self.set_priority
            or self.set_status
            or self.auto_reply_id
            or self.forward_to.strip()
            or self.add_note.strip()
            or self.delete_action
        )

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not self.has_action():
            errors["file_into"] = "Choose at least one action for this rule."
        bad = [a for a in self.forward_addresses() if not conditions.is_address(a)]
        if bad:
            errors["forward_to"] = f"Not an email address: {', '.join(bad)}."
        if self.delete_action == self.Delete.DISCARD and (
            self.file_into_id or self.assign_to_id or self.add_note.strip() or self.auto_reply_id
        ):
            errors["delete_action"] = (
                "A discarded message opens no ticket: remove the ticketbox, owner, note and "
                "auto-reply actions, or move the ticket to the trash instead."
            )
        if errors:
            raise ValidationError(errors)


class RuleCondition(models.Model):
    Field = conditions.Field
    Operator = conditions.Operator

    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="conditions")
    field = models.CharField(max_length=12, choices=conditions.Field.choices)
    header_name = models.CharField(
        max_length=100, blank=True, help_text="For 'named header': the header, e.g. X-Spam-Flag."
    )
    operator = models.CharField(max_length=12, choices=conditions.Operator.choices)
    value = models.TextField(
        blank=True,
        help_text="Text, a regular expression (RE2 syntax), or for 'is in list' addresses and "
        "domains, one per line.",
    )
    case_sensitive = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "condition"

    def __str__(self) -> str:
        return conditions.describe(
            self.field, self.header_name, self.operator, self.value, self.case_sensitive
        )

    def clean(self) -> None:
        errors = conditions.validate(self.field, self.header_name, self.operator, self.value)
        if errors:
            raise ValidationError(errors)


class BlockedSender(models.Model):
    """An address or a whole domain whose mail is trashed or discarded, with a log entry."""

    class Action(models.TextChoices):
        TRASH = "trash", "Open the ticket in the trash"
        DISCARD = "discard", "Discard (kept as raw mail, logged)"

    pattern = models.CharField(
        max_length=254,
        help_text="An address (spam@example.com) or a domain (example.com, which also "
        "blocks its subdomains).",
    )
    action = models.CharField(max_length=7, choices=Action.choices, default=Action.TRASH)
    reason = models.CharField(max_length=200, blank=True)
    hit_count = models.PositiveBigIntegerField(default=0, editable=False)
    last_hit_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pattern"]
        constraints = [
            models.UniqueConstraint(
                Lower("pattern"),
                name="blockedsender_unique_ci",
                violation_error_message="This sender is already blocked.",
            )
        ]

    def __str__(self) -> str:
        return self.pattern

    def clean(self) -> None:
        pattern = conditions.normalize_list_entry(self.pattern)
        if not (conditions.is_address(pattern) or conditions.is_domain(pattern)):
            raise ValidationError(
                {"pattern": "Enter an address (name@example.com) or a domain (example.com)."}
            )
        self.pattern = pattern


class AutoReplyLog(models.Model):
    """When each sender last got an automatic reply: at most one per sender per window."""

    address = models.CharField(max_length=254, primary_key=True, help_text="Lower-cased.")
    last_sent_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "auto-reply log entry"
        verbose_name_plural = "auto-reply log"

    def __str__(self) -> str:
        return f"{self.address} at {self.last_sent_at:%Y-%m-%d %H:%M}"
