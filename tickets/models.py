"""Ticketboxes, tickets and what they hold: messages, attachments, notes, history.

Standard responses and agent preferences live in ``tickets/library.py`` and
``tickets/agents.py``; they are imported at the bottom so Django registers them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

User = settings.AUTH_USER_MODEL


class Ticketbox(models.Model):
    """A queue of tickets ("Sales", "Support"); built-in Unassigned takes what no rule files."""

    UNASSIGNED = "unassigned"

    class AutoReply(models.TextChoices):
        OFF = "off", "Off"
        ALWAYS = "always", "On every new ticket"
        BACKLOG = "backlog", "Only when the open backlog is above the threshold"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    system_key = models.CharField(
        max_length=30,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Set on built-in ticketboxes, which cannot be deleted.",
    )
    from_name = models.CharField(
        max_length=200, blank=True, help_text="Display name on outbound mail, e.g. 'Acme Support'."
    )
    from_address = models.EmailField(
        blank=True, help_text="From address of replies sent from this ticketbox."
    )
    header = models.TextField(blank=True, help_text="Text added above every outbound message.")
    footer = models.TextField(blank=True, help_text="Text added below every outbound message.")
    require_get_oldest = models.BooleanField(
        default=False,
        help_text="Agents without manage rights must use Get Oldest instead of picking tickets.",
    )
    age_alert_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Alert when a customer message waits unanswered this many minutes (empty: off).",
    )
    low_watermark = models.PositiveIntegerField(
        null=True, blank=True, help_text="Alert when open tickets fall to this many (empty: off)."
    )
    high_watermark = models.PositiveIntegerField(
        null=True, blank=True, help_text="Alert when open tickets reach this many (empty: off)."
    )

    class ClosedReply(models.TextChoices):
        REOPEN = "reopen", "Reopen the ticket"
        NEW_TICKET = "new_ticket", "Start a new ticket linked to the closed one"

    closed_reply = models.CharField(
        max_length=10,
        choices=ClosedReply.choices,
        default=ClosedReply.REOPEN,
        verbose_name="customer reply to a closed ticket",
    )
    reopen_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="With 'reopen': only within this many days of closing; later replies start "
        "a new linked ticket (empty: always reopen).",
    )
    auto_reply = models.CharField(max_length=10, choices=AutoReply.choices, default=AutoReply.OFF)
    auto_reply_threshold = models.PositiveIntegerField(
        default=0, help_text="For backlog auto-replies: open tickets above which replies are sent."
    )
    auto_reply_response = models.ForeignKey(
        "tickets.StandardResponse",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The standard response sent as the auto-reply.",
    )
    smtp_destination = models.ForeignKey(
        "conduit.SmtpDestination",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticketboxes",
        help_text="SMTP server for this ticketbox's mail (empty: the default destination).",
    )
    track_delivery = models.BooleanField(
        default=False,
        help_text="Record when replies are opened and their links followed (an image and "
        "redirected links in the mail). Off by default for the customers' privacy.",
    )
    supervisor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_ticketboxes",
        help_text="Receives escalations from this ticketbox's escalation rules.",
    )
    expected_response_time = models.CharField(
        max_length=100,
        blank=True,
        help_text="Told to customers in auto-replies ({{ ticketbox.expected_response_time }}), "
        "e.g. 'within one working day'.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "ticketboxes"

    def __str__(self) -> str:
        return self.name

    @property
    def is_builtin(self) -> bool:
        return bool(self.system_key)

    @property
    def hands_out_with_get_oldest(self) -> bool:
        """Agents without manage rights take its tickets only through Get Oldest (this
        ticketbox's setting, or MAILFLOW_REQUIRE_GET_OLDEST for every ticketbox)."""
        return self.require_get_oldest or settings.MAILFLOW["REQUIRE_GET_OLDEST"]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.auto_reply != self.AutoReply.OFF and self.auto_reply_response_id is None:
            errors["auto_reply_response"] = (
                "Choose the standard response to send as the auto-reply."
            )
        if (
            self.low_watermark is not None
            and self.high_watermark is not None
            and self.low_watermark >= self.high_watermark
        ):
            errors["high_watermark"] = "The high watermark must be above the low watermark."
        if errors:
            raise ValidationError(errors)


class TicketboxAddress(models.Model):
    """An address whose mail belongs to a ticketbox (support@example.com → Support)."""

    ticketbox = models.ForeignKey(Ticketbox, on_delete=models.CASCADE, related_name="addresses")
    address = models.EmailField()

    class Meta:
        ordering = ["address"]
        verbose_name = "inbound address"
        verbose_name_plural = "inbound addresses"
        constraints = [
            models.UniqueConstraint(
                Lower("address"),
                name="ticketboxaddress_unique_ci",
                violation_error_message="This address already belongs to a ticketbox.",
            )
        ]

    def __str__(self) -> str:
        return self.address


class TicketboxAccess(models.Model):
    """A right of a group or of one agent on a ticketbox. Levels include the ones below them."""

    class Level(models.IntegerChoices):
        READ = 1, "Read"
        REPLY = 2, "Read and reply"
        MANAGE = 3, "Manage"

    ticketbox = models.ForeignKey(Ticketbox, on_delete=models.CASCADE, related_name="access")
    group = models.ForeignKey(
        "auth.Group",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="ticketbox_access",
    )
    agent = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="ticketbox_access"
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.REPLY)

    class Meta:
        verbose_name = "ticketbox access"
        verbose_name_plural = "ticketbox access"
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False, agent__isnull=True)
                | Q(group__isnull=True, agent__isnull=False),
                name="ticketboxaccess_group_xor_agent",
                violation_error_message="Grant access to either a group or an agent, not both.",
            ),
            models.UniqueConstraint(
                fields=["ticketbox", "group"],
                condition=Q(group__isnull=False),
                name="ticketboxaccess_unique_group",
                violation_error_message="This group already has access to this ticketbox.",
            ),
            models.UniqueConstraint(
                fields=["ticketbox", "agent"],
                condition=Q(agent__isnull=False),
                name="ticketboxaccess_unique_agent",
                violation_error_message="This agent already has access to this ticketbox.",
            ),
        ]

    def __str__(self) -> str:
        who = self.group or self.agent
        return f"{who} → {self.ticketbox}: {self.get_level_display()}"


class Counter(models.Model):
    """A named counter handed out under a row lock (ticket numbers)."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class TicketQuerySet(models.QuerySet["Ticket"]):
    def active(self) -> TicketQuerySet:
        """Tickets not in the trash."""
        return self.filter(deleted_at__isnull=True)

    def in_trash(self) -> TicketQuerySet:
        return self.filter(deleted_at__isnull=False)

    def open(self) -> TicketQuerySet:
        return self.active().exclude(status=Ticket.Status.CLOSED)


class Ticket(models.Model):
    """A thread of correspondence with a customer about one matter."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ON_HOLD = "on_hold", "On hold"
        WAITING = "waiting", "Waiting on customer"
        CLOSED = "closed", "Closed"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"
        URGENT = 4, "Urgent"

    number = models.BigIntegerField(unique=True, editable=False)
    subject = models.CharField(max_length=998, blank=True)
    ticketbox = models.ForeignKey(Ticketbox, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_tickets"
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    escalated_to = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="escalated_tickets"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_warned_at = models.DateTimeField(null=True, blank=True)
    awaiting_reply_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the oldest customer message no agent has answered yet arrived.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(
        null=True, blank=True, help_text="When an agent first replied."
    )
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the ticket is in the trash."
    )
    deleted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follow_up_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        help_text="The closed ticket whose customer reply started this one.",
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged_from",
        help_text="Set when this ticket was merged into another: mail for it goes there.",
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["ticketbox", "status", "created_at"], name="ticket_box_status"),
            models.Index(fields=["owner", "status"], name="ticket_owner_status"),
            models.Index(fields=["contact", "created_at"], name="ticket_contact"),
            models.Index(fields=["deleted_at"], name="ticket_trash"),
            # The periodic ticket-age and escalation checks (alerts.age, alerts.escalation).
            models.Index(
                fields=["ticketbox", "awaiting_reply_since"],
                condition=Q(awaiting_reply_since__isnull=False, deleted_at__isnull=True)
                & ~Q(status="closed"),
                name="ticket_awaiting_reply",
            ),
            # Reports count tickets closed in a range (history, the overview).
            models.Index(
                fields=["closed_at"], condition=Q(closed_at__isnull=False), name="ticket_closed"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None


class Message(models.Model):
    """One mail of a ticket, received from the customer or sent by an agent."""

    class Direction(models.TextChoices):
        IN = "in", "Inbound"
        OUT = "out", "Outbound"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True, help_text="Message-IDs, one per line.")
    from_name = models.CharField(max_length=200, blank=True)
    from_address = models.CharField(max_length=254, blank=True, db_index=True)
    to = models.JSONField(default=list, blank=True, help_text='[{"name": …, "address": …}]')
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    date = models.DateTimeField(db_index=True, help_text="Date the mail says it was written.")
    text = models.TextField(blank=True)
    html = models.TextField(blank=True, help_text="Sanitized HTML body, empty when there is none.")
    priority = models.PositiveSmallIntegerField(
        choices=Ticket.Priority.choices, default=Ticket.Priority.NORMAL
    )
    size = models.PositiveBigIntegerField(default=0)
    inbound = models.OneToOneField(
        "conduit.InboundMessage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="message",
        help_text="The stored raw mail this message was parsed from.",
    )
    author = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="authored_messages",
        help_text="The agent who wrote an outbound message.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]
        indexes = [models.Index(fields=["ticket", "date"], name="message_ticket_date")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()}: {self.subject}"

    def reference_list(self) -> list[str]:
        return [ref for ref in self.references.split() if ref]


def attachment_file_name(sha256: str) -> str:
    """Content-addressed: identical files share one path under MEDIA_ROOT."""
    return f"attachments/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return attachment_file_name(instance.sha256)


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    file = models.FileField(upload_to=attachment_path, max_length=255)
    inline = models.BooleanField(default=False)
    content_id = models.CharField(max_length=998, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class Note(models.Model):
    """An internal note on a ticket; never sent to the customer."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="notes")
    body = models.TextField()
    private = models.BooleanField(
        default=False,
        help_text="Only the author (and administrators) see a private note; others see every "
        "agent with access to the ticket.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on #{self.ticket.number} by {self.author}"


class TicketEvent(models.Model):
    """One line of a ticket's history: who did what, when."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        MESSAGE_IN = "message_in", "Customer message"
        MESSAGE_OUT = "message_out", "Reply queued"
        ASSIGNED = "assigned", "Assigned"
        STATUS = "status", "Status changed"
        PRIORITY = "priority", "Priority changed"
        MOVED = "moved", "Moved"
        ESCALATED = "escalated", "Escalated"
        NOTE = "note", "Note added"
        DELETED = "deleted", "Moved to trash"
        RESTORED = "restored", "Restored"
        MERGED = "merged", "Merged"
        ROUTED = "routed", "Routed"
        FORWARDED = "forwarded", "Forwarded"
        AUTO_REPLY = "auto_reply", "Auto-reply queued"
        DELIVERY = "delivery", "Delivery problem"
        BOUNCE = "bounce", "Bounce received"
        ESCALATION_WARNING = "escalation_warning", "Escalation warning"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the system did it.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.ticket.number} {self.get_kind_display()}"


from tickets.agents import AgentProfile, Signature  # noqa: E402
from tickets.library import (  # noqa: E402
    StandardResponse,
    StandardResponseCategory,
    StandardResponseUsage,
)
from tickets.presence import TicketViewer  # noqa: E402

__all__ = [
    "AgentProfile",
    "Attachment",
    "Counter",
    "Message",
    "Note",
    "Signature",
    "StandardResponse",
    "StandardResponseCategory",
    "StandardResponseUsage",
    "Ticket",
    "TicketEvent",
    "TicketViewer",
    "Ticketbox",
    "TicketboxAccess",
    "TicketboxAddress",
]
