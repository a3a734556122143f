"""Contacts: the customers who write in, each with one or more email addresses."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class ContactField(models.Model):
    """An admin-defined extra field on every contact (account number, plan, phone…)."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"

    key = models.SlugField(
        max_length=50, unique=True, help_text="Name used in data and exports, e.g. account_no."
    )
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.TextField(blank=True, help_text="For choice fields: one option per line.")
    position = models.PositiveIntegerField(default=0, help_text="Order on the contact panel.")

    class Meta:
        ordering = ["position", "label"]
        verbose_name = "custom contact field"

    def __str__(self) -> str:
        return self.label

    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class Contact(models.Model):
    """A customer. Every inbound message is tied to one, created on first contact."""

    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True, help_text="Private notes, never shown to the customer.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
        help_text="The agent who looks after this customer.",
    )
    route_to_owner = models.BooleanField(
        default=False, help_text="Assign this contact's new tickets to the owner agent."
    )
    custom = models.JSONField(
        default=dict, blank=True, help_text="Values of the custom contact fields, by key."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(Lower("name"), name="contact_name_lower")]

    def __str__(self) -> str:
        return self.name or f"Contact {self.pk}"

    @property
    def primary_email(self) -> str:
        emails = list(self.emails.all())
        primary = next((e for e in emails if e.is_primary), emails[0] if emails else None)
        return primary.address if primary else ""


class ContactEmail(models.Model):
    """One address of a contact. An address belongs to exactly one contact, whatever its case."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(max_length=254)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bounces of our mail to this address (a hard bounce counts towards refusing to send).
    # Database defaults too: bulk loaders (COPY) that predate these columns keep working.
    hard_bounces = models.PositiveIntegerField(default=0, db_default=0)
    soft_bounces = models.PositiveIntegerField(default=0, db_default=0)
    last_bounce_at = models.DateTimeField(null=True, blank=True)
    last_bounce_category = models.CharField(max_length=20, blank=True, db_default="")
    last_bounce_diagnostic = models.TextField(blank=True, db_default="")

    class Meta:
        ordering = ["-is_primary", "address"]
        verbose_name = "email address"
        verbose_name_plural = "email addresses"
        constraints = [
            models.UniqueConstraint(
                Lower("address"),
                name="contactemail_address_unique_ci",
                violation_error_message="This address already belongs to a contact.",
            ),
        ]

    def __str__(self) -> str:
        return self.address
