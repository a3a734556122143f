"""The outbound spool: every mail we send waits here, as the exact bytes to hand to SMTP.

A row is written in the same transaction as the ticket change that causes it (a reply, an
auto-reply, a forwarded copy), so a mail is never sent for a change that rolled back, and
never lost for one that committed. The spooler (``conduit.spool``) delivers queued rows.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class BounceCategory(models.TextChoices):
    """What a delivery report or an automatic answer to our mail says happened."""

    USER_UNKNOWN = "user_unknown", "No such user"
    HOST_UNKNOWN = "host_unknown", "No such domain or host"
    MAILBOX_FULL = "mailbox_full", "Mailbox full"
    MESSAGE_TOO_LARGE = "message_too_large", "Message too large"
    REJECTED_POLICY = "rejected_policy", "Rejected (spam, blocked, policy, virus)"
    MAILBOX_DISABLED = "mailbox_disabled", "Mailbox disabled"
    TRANSIENT = "transient", "Temporary problem (delayed, network)"
    AUTO_REPLY = "auto_reply", "Automatic reply (vacation, out of office)"
    CHALLENGE_RESPONSE = "challenge_response", "Challenge-response check"
    USER_REPLY = "user_reply", "A person wrote back"
    UNKNOWN = "unknown", "Unknown"


def spool_path(instance: OutboundMessage, filename: str) -> str:
    return f"spool/{timezone.now():%Y/%m/%d}/{filename}"


class OutboundMessage(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", "Agent reply"
        AUTO_REPLY = "auto_reply", "Auto-reply"
        FORWARD = "forward", "Forwarded copy"
        NOTIFICATION = "notification", "Notification"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DEFERRED = "deferred", "Deferred, will retry"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbound",
    )
    ticket_message = models.ForeignKey(
        "tickets.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        help_text="The message on the ticket this mail delivers (none for forwarded copies).",
    )
    message_id = models.CharField(max_length=998, db_index=True)
    envelope_from = models.CharField(max_length=254)
    recipients = models.JSONField(help_text="Envelope recipients: a list of addresses.")
    subject = models.CharField(max_length=998, blank=True)
    raw = models.FileField(upload_to=spool_path, max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    destination = models.ForeignKey(
        "conduit.SmtpDestination",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where it goes (empty: the ticketbox's destination, else the default).",
    )
    # While a worker sends it (state sending): until when it holds the message. A worker
    # that dies leaves the lease to expire, and the message is sent again (at most once more).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # The last SMTP reply (every attempt's is kept in DeliveryAttempt).
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_status = models.CharField(max_length=16, blank=True, help_text="Enhanced status code.")
    smtp_text = models.TextField(blank=True)
    # What a bounce said, when one came back.
    bounce_category = models.CharField(max_length=20, choices=BounceCategory.choices, blank=True)
    bounce_hard = models.BooleanField(null=True, blank=True)
    bounce_recipient = models.CharField(max_length=254, blank=True)
    bounce_status = models.CharField(max_length=16, blank=True)
    bounce_diagnostic = models.TextField(blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_report = models.ForeignKey(
        "conduit.InboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The delivery report that named this message.",
    )
    # Delivery tracking (only when the ticketbox turns it on).
    tracking_token = models.CharField(max_length=32, unique=True, null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    click_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outbound message"
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbound_due"),
            models.Index(fields=["state", "lease_expires_at"], name="outbound_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {', '.join(self.recipients)}: {self.subject}"

    @property
    def author(self) -> Any:
        """The agent who wrote the reply this mail delivers (None for automatic mail)."""
        return self.ticket_message.author if self.ticket_message is not None else None


class DeliveryAttempt(models.Model):
    """One try at handing an outbound message to an SMTP server, and what the server said."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Accepted"
        DEFERRED = "deferred", "Deferred (will retry)"
        FAILED = "failed", "Failed"

    outbound = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="tries")
    destination = models.CharField(max_length=300, help_text="Destination name and host:port.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_status = models.CharField(max_length=16, blank=True)
    smtp_text = models.TextField(blank=True)
    refused_recipients = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["outbound", "started_at", "id"]
        verbose_name = "delivery attempt"

    def __str__(self) -> str:
        return f"{self.outbound_id} {self.outcome} {self.smtp_code or ''}".strip()


class TrackingEvent(models.Model):
    """An open (the pixel was fetched) or a click (a tracked link was followed)."""

    class Kind(models.TextChoices):
        OPEN = "open", "Opened"
        CLICK = "click", "Link followed"

    outbound = models.ForeignKey(
        OutboundMessage, on_delete=models.CASCADE, related_name="tracking_events"
    )
    kind = models.CharField(max_length=5, choices=Kind.choices)
    url = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["outbound", "at", "id"]
        verbose_name = "tracking event"

    def __str__(self) -> str:
        return f"{self.outbound_id} {self.kind}"
