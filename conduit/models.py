"""The conduit's data: mail sources, what each has handed us, and the raw store."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from conduit import secretbox


class MailSource(secretbox.EncryptedPassword, models.Model):
    """A POP3 or IMAP mailbox the conduit reads customer mail from."""

    class Protocol(models.TextChoices):
        POP3 = "pop3", "POP3"
        IMAP = "imap", "IMAP"

    class Security(models.TextChoices):
        NONE = "none", "None (plain text)"
        STARTTLS = "starttls", "STARTTLS"
        TLS = "tls", "TLS (implicit, e.g. 995 / 993)"

    class Auth(models.TextChoices):
        PASSWORD = "password", "Password (POP3 USER/PASS, IMAP LOGIN)"
        APOP = "apop", "APOP (POP3 only)"
        PLAIN = "plain", "SASL PLAIN (IMAP only)"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    protocol = models.CharField(max_length=4, choices=Protocol.choices, default=Protocol.IMAP)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text="Empty: the protocol's standard port for the chosen security.",
    )
    security = models.CharField(max_length=8, choices=Security.choices, default=Security.TLS)
    verify_certificate = models.BooleanField(
        default=True, help_text="Check the server's TLS certificate (turn off only for testing)."
    )
    auth = models.CharField(max_length=8, choices=Auth.choices, default=Auth.PASSWORD)
    username = models.CharField(max_length=255)
    password_encrypted = models.TextField(blank=True, editable=False)
    folder = models.CharField(
        max_length=255, default="INBOX", help_text="IMAP folder to read (POP3 has only one)."
    )
    leave_copies = models.BooleanField(
        default=False, help_text="Leave fetched messages on the server."
    )
    delete_copies_after_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="With copies left on the server: delete them this many days after fetching "
        "(empty: keep them).",
    )
    check_interval_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(10)], help_text="How often to check."
    )
    timeout_seconds = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="Connection and read timeout.",
    )
    max_message_bytes = models.PositiveBigIntegerField(
        default=25 * 1024 * 1024,
        help_text="Larger messages are not imported: they are recorded and reported.",
    )
    delete_oversize = models.BooleanField(
        default=False,
        help_text="Delete over-size messages from the server after recording them "
        "(otherwise they stay there).",
    )
    ticketbox_hint = models.ForeignKey(
        "tickets.Ticketbox",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Ticketbox for this source's mail when no routing rule decides otherwise.",
    )

    # Status, written by the fetcher.
    last_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    failure_count = models.PositiveIntegerField(default=0, editable=False)
    next_check_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    fetched_count = models.PositiveBigIntegerField(default=0, editable=False)
    oversize_count = models.PositiveBigIntegerField(default=0, editable=False)
    # One fetch per source at a time: the holder ("host:pid:token") and until when.
    lease_holder = models.CharField(max_length=200, blank=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "mail source"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.auth == self.Auth.APOP and self.protocol != self.Protocol.POP3:
            errors["auth"] = "APOP exists only for POP3; choose password or SASL PLAIN for IMAP."
        if self.auth == self.Auth.PLAIN and self.protocol != self.Protocol.IMAP:
            errors["auth"] = (
                "SASL PLAIN is offered here for IMAP; for POP3 choose password or APOP."
            )
        if self.delete_copies_after_days is not None and not self.leave_copies:
            errors["delete_copies_after_days"] = (
                "Only with 'leave copies on server': without it messages are deleted at once."
            )
        if self.protocol == self.Protocol.POP3 and self.folder not in ("", "INBOX"):
            errors["folder"] = "POP3 has no folders; leave INBOX or use IMAP."
        if errors:
            raise ValidationError(errors)

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        standard: dict[tuple[str, bool], int] = {
            (self.Protocol.POP3, False): 110,
            (self.Protocol.POP3, True): 995,
            (self.Protocol.IMAP, False): 143,
            (self.Protocol.IMAP, True): 993,
        }
        return standard[(self.protocol, self.security == self.Security.TLS)]


def raw_mail_path(instance: InboundMessage, filename: str) -> str:
    """Raw mail lives under media/raw/YYYY/MM/DD/<sha256>.eml."""
    stamp = instance.received_at
    return f"raw/{stamp:%Y/%m/%d}/{instance.sha256}.eml"


class InboundMessage(models.Model):
    """A mail as it arrived, stored and committed before it is routed or deleted on the server."""

    class State(models.TextChoices):
        STORED = "stored", "Stored, waiting to be routed"
        ROUTED = "routed", "Routed onto a ticket"
        FAILED = "failed", "Routing failed"
        QUARANTINED = "quarantined", "Quarantined"
        DISCARDED = "discarded", "Discarded by a rule"
        BOUNCE = "bounce", "Delivery report, recorded on its message"

    raw = models.FileField(upload_to=raw_mail_path, max_length=255)
    size = models.PositiveBigIntegerField(help_text="Size of the raw message in bytes.")
    sha256 = models.CharField(max_length=64, db_index=True)
    dedupe_key = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        help_text="Message-ID and content hash: the same mail reaching two of our "
        "addresses is stored once.",
    )
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    received_at = models.DateTimeField(db_index=True)
    origin = models.CharField(
        max_length=300, blank=True, help_text="Where it came from: a source name or an import."
    )
    source = models.ForeignKey(
        "conduit.MailSource",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The source that first handed us this mail (empty for imports).",
    )
    state = models.CharField(
        max_length=12, choices=State.choices, default=State.STORED, db_index=True
    )
    error = models.TextField(blank=True, help_text="Why routing failed, when it did.")
    route_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "inbound message"

    def __str__(self) -> str:
        return self.message_id or f"inbound {self.pk}"


class SourceMessage(models.Model):
    """One message as a source knows it (POP3 UIDL, IMAP UIDVALIDITY:UID): seen, stored, deleted."""

    class State(models.TextChoices):
        STORED = "stored", "Stored"
        OVERSIZE = "oversize", "Over the size limit, not imported"

    source = models.ForeignKey(MailSource, on_delete=models.CASCADE, related_name="seen")
    uid = models.CharField(max_length=255, help_text="POP3 UIDL or IMAP UIDVALIDITY:UID.")
    state = models.CharField(max_length=10, choices=State.choices)
    inbound = models.ForeignKey(
        InboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="seen_as"
    )
    size = models.PositiveBigIntegerField(default=0)
    from_header = models.CharField(max_length=998, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    seen_at = models.DateTimeField()
    deleted_from_server_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-seen_at"]
        verbose_name = "message seen on a source"
        verbose_name_plural = "messages seen on sources"
        constraints = [
            models.UniqueConstraint(fields=["source", "uid"], name="sourcemessage_unique_uid"),
        ]
        indexes = [
            models.Index(
                fields=["source", "deleted_from_server_at", "seen_at"], name="sourcemsg_cleanup"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}: {self.uid}"


from conduit.destinations import SmtpDestination  # noqa: E402
from conduit.outbound import DeliveryAttempt, OutboundMessage, TrackingEvent  # noqa: E402

__all__ = [
    "DeliveryAttempt",
    "InboundMessage",
    "MailSource",
    "OutboundMessage",
    "SmtpDestination",
    "SourceMessage",
    "TrackingEvent",
]
