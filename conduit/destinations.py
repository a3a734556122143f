"""Where outbound mail goes: SMTP servers (any number; each ticketbox picks one)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from conduit import secretbox


class SmtpDestination(secretbox.EncryptedPassword, models.Model):
    """An SMTP server the spooler hands mail to (a smarthost, the provider's relay)."""

    class Security(models.TextChoices):
        NONE = "none", "None (plain text)"
        STARTTLS = "starttls", "STARTTLS"
        TLS = "tls", "TLS (implicit, e.g. 465)"

    class Auth(models.TextChoices):
        NONE = "none", "None"
        PLAIN = "plain", "PLAIN"
        LOGIN = "login", "LOGIN"
        CRAM_MD5 = "cram-md5", "CRAM-MD5"

    name = models.CharField(max_length=100, unique=True)
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(
        default=False, help_text="Used by ticketboxes that do not choose a destination."
    )
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text="Empty: 25 without security, 587 with STARTTLS, 465 with TLS.",
    )
    security = models.CharField(max_length=8, choices=Security.choices, default=Security.STARTTLS)
    verify_certificate = models.BooleanField(
        default=True, help_text="Check the server's TLS certificate (turn off only for testing)."
    )
    auth = models.CharField(max_length=8, choices=Auth.choices, default=Auth.NONE)
    username = models.CharField(max_length=255, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    timeout_seconds = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="Connection and command timeout.",
    )
    max_message_bytes = models.PositiveBigIntegerField(
        default=25 * 1024 * 1024,
        help_text="Larger mail is not sent: it fails with a clear reason. The server's own "
        "SIZE limit applies as well.",
    )
    concurrency = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(64)],
        help_text="Connections to this server in flight at once (per worker).",
    )
    helo_name = models.CharField(
        max_length=255, blank=True, help_text="Name to greet the server with (empty: this host)."
    )

    # Status, written by the spooler.
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_count = models.PositiveBigIntegerField(default=0, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = "SMTP destination"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="smtpdestination_one_default",
                violation_error_message="Only one SMTP destination can be the default.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.auth != self.Auth.NONE and not self.username:
            errors["username"] = "Authentication needs a user name (or choose 'None')."
        if self.is_default and not self.enabled:
            errors["enabled"] = "The default destination must be enabled."
        if errors:
            raise ValidationError(errors)

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return {self.Security.NONE: 25, self.Security.STARTTLS: 587, self.Security.TLS: 465}[
            self.Security(self.security)
        ]
