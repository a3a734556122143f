"""Django admin for ticketboxes, tickets, the response library, agents and groups."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from mailflow.admin import EvidenceAdmin
from tickets import services
from tickets.agents import BUILTIN_GROUPS, AgentProfile, Signature
from tickets.library import StandardResponse, StandardResponseCategory, StandardResponseUsage
from tickets.models import (
    Attachment,
    Message,
    Note,
    Ticket,
    Ticketbox,
    TicketboxAccess,
    TicketboxAddress,
    TicketEvent,
)

User = get_user_model()


class TicketboxAddressInline(admin.TabularInline):
    model = TicketboxAddress
    extra = 0


class TicketboxAccessInline(admin.TabularInline):
    model = TicketboxAccess
    extra = 0
    autocomplete_fields = ["agent"]
    fields = ["group", "agent", "level"]


@admin.register(Ticketbox)
class TicketboxAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "from_address",
        "open_tickets",
        "require_get_oldest",
        "auto_reply",
        "low_watermark",
        "high_watermark",
        "builtin",
    ]
    list_filter = ["require_get_oldest", "auto_reply"]
    search_fields = ["name", "description", "from_address", "addresses__address"]
    ordering = ["name"]
    inlines = [TicketboxAddressInline, TicketboxAccessInline]
    readonly_fields = ["created_at", "updated_at"]
    autocomplete_fields = ["auto_reply_response"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (
            "Outbound mail",
            {
                "fields": [
                    "from_name",
                    "from_address",
                    "header",
                    "footer",
                    "smtp_destination",
                    "track_delivery",
                ]
            },
        ),
        ("Agents", {"fields": ["require_get_oldest", "supervisor"]}),
        (
            "Alerts",
            {"fields": ["age_alert_minutes", "low_watermark", "high_watermark"]},
        ),
        (
            "Auto-reply",
            {
                "fields": [
                    "auto_reply",
                    "auto_reply_threshold",
                    "auto_reply_response",
                    "expected_response_time",
                ]
            },
        ),
        ("Audit", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticketbox]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_count=Count(
                    "tickets",
                    filter=Q(tickets__deleted_at__isnull=True)
                    & ~Q(tickets__status=Ticket.Status.CLOSED),
                )
            )
        )

    @admin.display(description="Open tickets", ordering="open_count")
    def open_tickets(self, obj: Any) -> int:
        return obj.open_count

    @admin.display(description="Built-in", boolean=True)
    def builtin(self, obj: Ticketbox) -> bool:
        return obj.is_builtin

    def has_delete_permission(self, request: HttpRequest, obj: Ticketbox | None = None) -> bool:
        if obj is not None and obj.is_builtin:
            return False
        return super().has_delete_permission(request, obj)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["direction", "date", "from_address", "subject", "size"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoteInline(admin.StackedInline):
    model = Note
    extra = 0
    fields = ["body", "private", "author", "created_at"]
    readonly_fields = ["author", "created_at"]


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "actor", "kind", "detail"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TrashFilter(admin.SimpleListFilter):
    title = "trash"
    parameter_name = "trash"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Not in trash"), ("trash", "In trash")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "active":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "trash":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "subject",
        "ticketbox",
        "status",
        "priority",
        "owner",
        "contact",
        "created_at",
        "last_customer_message_at",
        "in_trash",
    ]
    list_display_links = ["number", "subject"]
    list_filter = ["status", "priority", "ticketbox", TrashFilter, "owner", "created_at"]
    list_select_related = ["ticketbox", "owner", "contact"]
    search_fields = ["=number", "subject", "contact__name", "contact__emails__address"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    autocomplete_fields = ["contact", "owner", "escalated_to"]
    readonly_fields = [
        "number",
        "updated_at",
        "first_response_at",
        "last_customer_message_at",
        "last_agent_message_at",
        "closed_at",
        "deleted_at",
        "deleted_by",
    ]
    fieldsets = [
        (None, {"fields": ["number", "subject", "ticketbox", "status", "priority"]}),
        ("People", {"fields": ["contact", "owner", "escalated_to", "escalated_at"]}),
        (
            "Timeline",
            {
                "fields": [
                    "created_at",
                    "updated_at",
                    "first_response_at",
                    "last_customer_message_at",
                    "last_agent_message_at",
                    "closed_at",
                    "deleted_at",
                    "deleted_by",
                ]
            },
        ),
    ]
    inlines = [MessageInline, NoteInline, TicketEventInline]
    actions = ["trash_tickets", "restore_tickets"]
    list_per_page = 50

    @admin.display(description="In trash", boolean=True, ordering="deleted_at")
    def in_trash(self, obj: Ticket) -> bool:
        return obj.in_trash

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        if not change:
            obj.number = services.next_ticket_number()
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for note in formset.save(commit=False):
            if isinstance(note, Note) and note.author_id is None:
                note.author = request.user
            note.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()

    @admin.action(description="Move selected tickets to the trash")
    def trash_tickets(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        tickets = list(queryset.filter(deleted_at__isnull=True))
        for ticket in tickets:
            services.move_to_trash(ticket, actor=request.user)
        self.message_user(request, f"{len(tickets)} ticket(s) moved to the trash.")

    @admin.action(description="Restore selected tickets from the trash")
    def restore_tickets(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        tickets = list(queryset.filter(deleted_at__isnull=False))
        for ticket in tickets:
            services.restore_from_trash(ticket, actor=request.user)
        self.message_user(request, f"{len(tickets)} ticket(s) restored.", messages.SUCCESS)


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["filename", "content_type", "size", "inline", "content_id", "sha256"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "direction", "from_address", "date", "ticket", "size"]
    list_filter = ["direction", "priority", "date"]
    list_select_related = ["ticket"]
    search_fields = ["subject", "from_address", "from_name", "message_id", "=ticket__number"]
    date_hierarchy = "date"
    raw_id_fields = ["ticket", "inbound"]
    autocomplete_fields = ["author"]
    readonly_fields = ["created_at", "size", "message_id", "in_reply_to", "references"]
    inlines = [AttachmentInline]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "content_type", "size", "inline", "message"]
    list_filter = ["inline", "content_type"]
    search_fields = ["filename", "sha256", "content_id"]
    raw_id_fields = ["message"]
    readonly_fields = ["sha256", "size"]


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["ticket", "author", "private", "created_at"]
    list_filter = ["private", "created_at"]
    search_fields = ["body", "=ticket__number"]
    raw_id_fields = ["ticket"]
    readonly_fields = ["author", "created_at"]

    def save_model(self, request: HttpRequest, obj: Note, form: Any, change: bool) -> None:
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(TicketEvent)
class TicketEventAdmin(EvidenceAdmin):
    """History is evidence: it can be read, never written, changed or deleted by hand."""

    list_display = ["created_at", "ticket", "kind", "actor"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["ticket", "actor"]
    search_fields = ["=ticket__number"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StandardResponseCategory)
class StandardResponseCategoryAdmin(admin.ModelAdmin):
    list_display = ["__str__", "position", "response_count"]
    search_fields = ["name"]
    ordering = ["position", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StandardResponseCategory]:
        return super().get_queryset(request).annotate(n=Count("responses"))

    @admin.display(description="Responses", ordering="n")
    def response_count(self, obj: Any) -> int:
        return obj.n


@admin.register(StandardResponse)
class StandardResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "shortcut", "is_active", "times_used", "updated_at"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["title", "shortcut", "body"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StandardResponse]:
        return super().get_queryset(request).annotate(used=Coalesce(Sum("usage__count"), 0))

    @admin.display(description="Times used", ordering="used")
    def times_used(self, obj: Any) -> int:
        return obj.used

    def save_model(
        self, request: HttpRequest, obj: StandardResponse, form: Any, change: bool
    ) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(StandardResponseUsage)
class StandardResponseUsageAdmin(admin.ModelAdmin):
    list_display = ["response", "agent", "count", "last_used_at"]
    list_filter = ["agent"]
    list_select_related = ["response", "agent"]
    search_fields = ["response__title", "agent__username"]
    readonly_fields = ["response", "agent", "count", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = False
    verbose_name_plural = "preferences"
    filter_horizontal = ["shortcut_ticketboxes", "shortcut_agents"]
    fk_name = "agent"


class SignatureInline(admin.StackedInline):
    model = Signature
    extra = 0


admin.site.unregister(User)


@admin.register(User)
class AgentAdmin(UserAdmin):
    """Agents are Django users, with their preferences and signatures on the same page."""

    inlines = [AgentProfileInline, SignatureInline]
    list_display = ["username", "email", "first_name", "last_name", "is_active", "groups_list"]
    list_filter = ["is_active", "is_staff", "groups"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Groups")
    def groups_list(self, obj: Any) -> str:
        return ", ".join(sorted(g.name for g in obj.groups.all()))

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The profile is made when the agent is saved; show inlines only when editing.
        return super().get_inline_instances(request, obj) if obj else []


admin.site.unregister(Group)


@admin.register(Group)
class AgentGroupAdmin(GroupAdmin):
    """Groups of agents; Everyone and Administrators are built in and cannot be removed."""

    list_display = ["name", "member_count", "builtin"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return super().get_queryset(request).annotate(members=Count("user"))

    @admin.display(description="Members", ordering="members")
    def member_count(self, obj: Any) -> int:
        return obj.members

    @admin.display(description="Built-in", boolean=True)
    def builtin(self, obj: Group) -> bool:
        return obj.name in BUILTIN_GROUPS

    def get_readonly_fields(self, request: HttpRequest, obj: Group | None = None) -> Any:
        if obj is not None and obj.name in BUILTIN_GROUPS:
            return ["name"]
        return super().get_readonly_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Group | None = None) -> bool:
        if obj is not None and obj.name in BUILTIN_GROUPS:
            return False
        return super().has_delete_permission(request, obj)
