"""Django admin for mail sources, the conduit's raw store, SMTP destinations and the spool."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from conduit.fetch import open_mailbox
from conduit.forms import MailSourceForm, SmtpDestinationForm
from conduit.models import (
    DeliveryAttempt,
    InboundMessage,
    MailSource,
    OutboundMessage,
    SmtpDestination,
    SourceMessage,
)
from conduit.remote import SourceError
from conduit.secretbox import SecretUnreadable
from conduit.smtp import Server, SmtpProblem, check_server, reply_line
from conduit.spool import send_now
from mailflow.admin import EvidenceAdmin

# Written by the fetcher, shown to the admin.
STATUS_FIELDS: tuple[str, ...] = (
    "last_check_at",
    "last_success_at",
    "last_error",
    "failure_count",
    "next_check_at",
    "fetched_count",
    "oversize_count",
    "lease_holder",
    "lease_expires_at",
    "created_at",
    "updated_at",
)

# Written by the spooler, shown to the admin.
DESTINATION_STATUS: tuple[str, ...] = (
    "last_success_at",
    "last_error",
    "last_error_at",
    "sent_count",
    "created_at",
    "updated_at",
)


@admin.register(MailSource)
class MailSourceAdmin(admin.ModelAdmin):
    form = MailSourceForm
    list_display = [
        "name",
        "enabled",
        "protocol",
        "host",
        "username",
        "last_check_at",
        "status",
        "fetched_count",
        "oversize_count",
    ]
    list_filter = ["enabled", "protocol", "security"]
    search_fields = ["name", "host", "username"]
    ordering = ["name"]
    actions = ["check_now", "test_connection"]
    readonly_fields = STATUS_FIELDS
    fieldsets = [
        (None, {"fields": ["name", "enabled", "ticketbox_hint"]}),
        (
            "Server",
            {
                "fields": [
                    "protocol",
                    "host",
                    "port",
                    "security",
                    "verify_certificate",
                    "timeout_seconds",
                ]
            },
        ),
        ("Login", {"fields": ["auth", "username", "new_password", "folder"]}),
        (
            "Fetching",
            {
                "fields": [
                    "check_interval_seconds",
                    "leave_copies",
                    "delete_copies_after_days",
                    "max_message_bytes",
                    "delete_oversize",
                ]
            },
        ),
        ("Status", {"fields": STATUS_FIELDS}),
    ]

    @admin.display(description="Status")
    def status(self, obj: MailSource) -> str:
        if obj.failure_count:
            return f"failing ({obj.failure_count}×): {obj.last_error[:120]}"
        return "ok" if obj.last_success_at else "not checked yet"

    @admin.action(description="Check now")
    def check_now(self, request: HttpRequest, queryset: QuerySet[MailSource]) -> None:
        from conduit.tasks import fetch_source

        names = []
        for source in queryset:
            MailSource.objects.filter(pk=source.pk).update(next_check_at=timezone.now())
            fetch_source.delay(source.pk)
            names.append(source.name)
        self.message_user(
            request,
            f"Queued a check of {', '.join(names)}; the status columns show the outcome.",
        )

    @admin.action(description="Test connection and login")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[MailSource]) -> None:
        for source in queryset:
            try:
                mailbox = open_mailbox(source)
                try:
                    count = len(mailbox.listing())
                finally:
                    mailbox.close()
            except SourceError as exc:
                self.message_user(request, f"{source}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{source}: connected and logged in; {count} message(s) waiting.",
                    messages.SUCCESS,
                )


@admin.register(SourceMessage)
class SourceMessageAdmin(EvidenceAdmin):
    """What each source handed us; over-size messages are listed here with sender and subject."""

    list_display = ["seen_at", "source", "state", "size", "from_header", "subject", "deleted"]
    list_filter = ["state", "source", "seen_at"]
    list_select_related = ["source"]
    search_fields = ["uid", "from_header", "subject"]
    date_hierarchy = "seen_at"

    @admin.display(description="Deleted on server", boolean=True)
    def deleted(self, obj: SourceMessage) -> bool:
        return obj.deleted_from_server_at is not None


REROUTABLE = (
    InboundMessage.State.STORED,
    InboundMessage.State.FAILED,
    InboundMessage.State.QUARANTINED,
)


@admin.register(InboundMessage)
class InboundMessageAdmin(EvidenceAdmin):
    """Raw mail is evidence: viewable, never edited; failed or quarantined mail can be routed
    again by an administrator's decision."""

    list_display = ["received_at", "message_id", "origin", "state", "size", "error_summary"]
    list_filter = ["state", "received_at"]
    actions = ["route_again"]
    search_fields = ["message_id", "sha256", "origin"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "raw",
        "size",
        "sha256",
        "dedupe_key",
        "message_id",
        "received_at",
        "origin",
        "state",
        "error",
        "route_attempts",
        "explain_routing",
    ]

    @admin.display(description="Routing")
    def explain_routing(self, obj: InboundMessage) -> str:
        from routing.admin import explain_link

        return explain_link(obj.pk) if obj.pk else ""

    @admin.display(description="Why")
    def error_summary(self, obj: InboundMessage) -> str:
        return obj.error[:120]

    @admin.action(description="Route again (failed, waiting or quarantined mail)")
    def route_again(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        from routing.services import release_and_route

        already = queryset.exclude(state__in=REROUTABLE).count()
        wanted = queryset.count() - already
        outcomes = release_and_route(
            list(queryset.filter(state__in=REROUTABLE).values_list("pk", flat=True)),
            released_by=str(request.user),
        )
        text = f"{len(outcomes)} of {wanted} message(s) routed"
        if already:
            text += f"; {already} left alone (already routed or discarded)"
        if len(outcomes) < wanted:
            text += "; the others show why in the Why column"
        self.message_user(
            request, text + ".", messages.SUCCESS if len(outcomes) == wanted else messages.WARNING
        )


ATTEMPT_FIELDS = (
    "started_at",
    "destination",
    "outcome",
    "smtp_code",
    "smtp_status",
    "smtp_text",
    "refused_recipients",
)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(EvidenceAdmin):
    """The outbound spool: what we send, to whom, and how delivery went."""

    list_display = [
        "created_at",
        "kind",
        "recipient_list",
        "subject",
        "state",
        "attempts",
        "last_reply",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["state", "kind", "created_at", "destination"]
    search_fields = ["subject", "message_id", "recipients", "envelope_from"]
    date_hierarchy = "created_at"
    raw_id_fields = ["ticket", "ticket_message"]
    inlines = [DeliveryAttemptInline]
    actions = ["send_now", "retry"]

    @admin.display(description="To")
    def recipient_list(self, obj: OutboundMessage) -> str:
        return ", ".join(obj.recipients)

    @admin.display(description="Last SMTP reply")
    def last_reply(self, obj: OutboundMessage) -> str:
        return (reply_line(obj.smtp_code, obj.smtp_text) or obj.last_error)[:160]

    @admin.action(description="Send now (queued and deferred mail)")
    def send_now(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        waiting = [OutboundMessage.State.QUEUED, OutboundMessage.State.DEFERRED]
        self._send(request, list(queryset.filter(state__in=waiting).values_list("pk", flat=True)))

    @admin.action(description="Retry (failed mail gets another attempt)")
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboundMessage]) -> None:
        failed = queryset.filter(state=OutboundMessage.State.FAILED)
        self._send(request, list(failed.values_list("pk", flat=True)))

    def _send(self, request: HttpRequest, ids: list[int]) -> None:
        if not ids:
            self.message_user(request, "None of these can be sent now.", messages.WARNING)
            return
        spool_round = send_now(ids)
        level = messages.SUCCESS if spool_round.sent == len(ids) else messages.WARNING
        self.message_user(
            request, f"{spool_round}. The State and Last SMTP reply columns say more.", level
        )


@admin.register(SmtpDestination)
class SmtpDestinationAdmin(admin.ModelAdmin):
    form = SmtpDestinationForm
    list_display = [
        "name",
        "enabled",
        "is_default",
        "host",
        "effective_port",
        "security",
        "auth",
        "concurrency",
        "status",
        "sent_count",
    ]
    list_filter = ["enabled", "security", "auth"]
    search_fields = ["name", "host", "username"]
    actions = ["test_connection"]
    readonly_fields = DESTINATION_STATUS
    fieldsets = [
        (None, {"fields": ["name", "enabled", "is_default"]}),
        (
            "Server",
            {
                "fields": [
                    "host",
                    "port",
                    "security",
                    "verify_certificate",
                    "timeout_seconds",
                    "helo_name",
                ]
            },
        ),
        ("Login", {"fields": ["auth", "username", "new_password"]}),
        ("Sending", {"fields": ["max_message_bytes", "concurrency"]}),
        ("Status", {"fields": DESTINATION_STATUS}),
    ]

    @admin.display(description="Port")
    def effective_port(self, obj: SmtpDestination) -> int:
        return obj.effective_port

    @admin.display(description="Status")
    def status(self, obj: SmtpDestination) -> str:
        if obj.last_error and (
            obj.last_success_at is None
            or (obj.last_error_at or obj.created_at) > obj.last_success_at
        ):
            return f"failing: {obj.last_error[:120]}"
        return "ok" if obj.last_success_at else "nothing sent yet"

    @admin.action(description="Test connection and login")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[SmtpDestination]) -> None:
        for destination in queryset:
            try:
                answer = check_server(Server.of(destination))
            except (SmtpProblem, SecretUnreadable) as exc:
                self.message_user(request, f"{destination}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{destination}: {answer}", messages.SUCCESS)
