"""The outbound spool: every mail we send waits here, as the exact bytes to hand to SMTP.

A row is written in the same transaction as the ticket change that causes it (a reply, an
auto-reply, a forwarded copy), so a mail is never sent for a change that rolled back, and
never lost for one that committed. The spooler (``conduit.spool``) delivers queued rows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "outbound message"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbound_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {', '.join(self.recipients)}: {self.subject}"
