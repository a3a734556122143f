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


class WatchState(models.Model):
    """The last known state of something watched for crossings ("watermark:12" is high,
    "disk:media" is low): an alert is raised only when a conditional update moves it, so a
    crossing alerts once however many workers look, and staying crossed alerts never."""

    key = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=20)
    changed_at = models.DateTimeField()

    class Meta:
        verbose_name = "watched state"

    def __str__(self) -> str:
        return f"{self.key}: {self.state}"


class EscalationRule(models.Model):
    """No agent reply within N hours: warn the owner after M hours, then escalate.

    A rule for one ticketbox wins over the rule for all ticketboxes (ticketbox empty).
    Hours count from the ticket's oldest unanswered customer message.
    """

    name = models.CharField(max_length=100)
    ticketbox = models.ForeignKey(
        "tickets.Ticketbox",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="escalation_rules",
        help_text="Empty: every ticketbox without a rule of its own.",
    )
    warn_after_hours = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Warn the ticket's owner after this many hours (empty: no warning stage).",
    )
    escalate_after_hours = models.DecimalField(max_digits=7, decimal_places=2)
    escalate_to = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the ticketbox's supervisor.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "escalation rule"
        constraints = [
            models.UniqueConstraint(
                fields=["ticketbox"],
                condition=Q(ticketbox__isnull=False),
                name="escalationrule_one_per_box",
                violation_error_message="This ticketbox already has an escalation rule.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        warn, escalate = self.warn_after_hours, self.escalate_after_hours
        if escalate is not None and escalate <= 0:
            raise ValidationError({"escalate_after_hours": "Give a positive number of hours."})
        if warn is not None and escalate is not None and not 0 < warn < escalate:
            raise ValidationError(
                {"warn_after_hours": "The warning comes before the escalation (and after 0)."}
            )


class LogType(models.TextChoices):
    INBOUND = "inbound", "Inbound messaging"
    OUTBOUND = "outbound", "Outbound messaging"
    ROUTING = "routing", "Routing"
    ALERTS = "alerts", "Alerts"
    SECURITY = "security", "Security"
    SYSTEM = "system", "System"


class LogSeverity(models.IntegerChoices):
    """Python's logging levels, so the store sorts and filters like ``logging`` does."""

    DEBUG = 10, "Debug"
    INFO = 20, "Info"
    WARNING = 30, "Warning"
    ERROR = 40, "Error"
    CRITICAL = 50, "Critical"


class LogEntry(models.Model):
    """One log record kept for administrators (Python logging feeds it)."""

    at = models.DateTimeField()
    type = models.CharField(max_length=10, choices=LogType.choices)
    severity = models.PositiveSmallIntegerField(choices=LogSeverity.choices)
    logger = models.CharField(max_length=200)
    message = models.TextField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "log entry"
        verbose_name_plural = "log entries"
        indexes = [
            models.Index(fields=["at"], name="logentry_at"),
            models.Index(fields=["type", "at"], name="logentry_type_at"),
            models.Index(fields=["severity", "at"], name="logentry_severity_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.get_severity_display()}: {self.message[:80]}"


class LogPolicy(models.Model):
    """Per log type, the lowest severity that is kept (types without a row keep info)."""

    type = models.CharField(max_length=10, choices=LogType.choices, unique=True)
    min_severity = models.PositiveSmallIntegerField(
        choices=LogSeverity.choices, default=LogSeverity.INFO
    )

    class Meta:
        ordering = ["type"]
        verbose_name = "log policy"
        verbose_name_plural = "log policies"

    def __str__(self) -> str:
        return f"{self.get_type_display()}: {self.get_min_severity_display()} and above"
