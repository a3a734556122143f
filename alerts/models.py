"""Alerts (what the help desk tells its people about itself) and the log store."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

User = settings.AUTH_USER_MODEL


class AlertKind(models.TextChoices):
    WATERMARK_LOW = "watermark_low", "Low watermark"
    WATERMARK_HIGH = "watermark_high", "High watermark"
    TICKET_AGE = "ticket_age", "Ticket age"
    ESCALATION = "escalation", "Escalation"
    ESCALATION_WARNING = "escalation_warning", "Escalation warning"
    NEW_TICKET = "new_ticket", "New ticket"
    INBOUND_DELIVERY = "inbound_delivery", "Inbound delivery problem"
    OUTBOUND_FAILURE = "outbound_failure", "Outbound delivery failure"
    VIRUS_FOUND = "virus_found", "Virus found"
    LOW_DISK = "low_disk", "Low disk space"
    CRITICAL_ERROR = "critical_error", "Critical error"


class AlertType(models.Model):
    """How one kind of alert is delivered: on or off, to whom, in the app and/or by email."""

    class Channel(models.TextChoices):
        INTERNAL = "internal", "In the app"
        EMAIL = "email", "External email address"
        BOTH = "both", "Both"

    kind = models.CharField(max_length=20, choices=AlertKind.choices, unique=True)
    enabled = models.BooleanField(default=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.INTERNAL)
    email_to = models.CharField(
        max_length=500,
        blank=True,
        help_text="External addresses (comma-separated) for the email channel.",
    )

    class Meta:
        ordering = ["kind"]
        verbose_name = "alert type"

    def __str__(self) -> str:
        return self.get_kind_display()

    def clean(self) -> None:
        if self.channel != self.Channel.INTERNAL and not self.email_to.strip():
            raise ValidationError({"email_to": "The email channel needs at least one address."})

    @property
    def internal(self) -> bool:
        return self.channel in (self.Channel.INTERNAL, self.Channel.BOTH)

    @property
    def by_email(self) -> bool:
        return self.channel in (self.Channel.EMAIL, self.Channel.BOTH)


class AlertRecipient(models.Model):
    """An agent or a group who receives one kind of alert in the app."""

    alert_type = models.ForeignKey(AlertType, on_delete=models.CASCADE, related_name="recipients")
    agent = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE)
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE)

    class Meta:
        verbose_name = "alert recipient"
        constraints = [
            models.CheckConstraint(
                condition=Q(agent__isnull=True, group__isnull=False)
                | Q(agent__isnull=False, group__isnull=True),
                name="alertrecipient_agent_xor_group",
                violation_error_message="Choose an agent or a group, not both.",
            )
        ]

    def __str__(self) -> str:
        return str(self.agent or self.group)


class Alert(models.Model):
    """Something happened that people must know about."""

    class Severity(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    kind = models.CharField(max_length=20, choices=AlertKind.choices, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    ticketbox = models.ForeignKey(
        "tickets.Ticketbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    once_key = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text="Alerts with a key are raised once (per ticket and threshold, per crossing…).",
    )
    created_at = models.DateTimeField(db_index=True)
    emailed_to = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "created_at"], name="alert_kind_time")]

    def __str__(self) -> str:
        return self.title


class AlertReceipt(models.Model):
    """One agent's copy of an alert: unread, read, or cleared from their list."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="receipts")
    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="alert_receipts")
    read_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "agent"], name="alertreceipt_once")]
        indexes = [
            models.Index(fields=["agent", "cleared_at", "read_at"], name="alertreceipt_inbox")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} → {self.agent_id}"
