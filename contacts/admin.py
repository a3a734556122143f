"""Django admin for contacts, their addresses and the custom contact fields."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from contacts.forms import PREFIX, ContactAdminForm, ContactEmailFormSet
from contacts.models import Contact, ContactEmail, ContactField


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    formset = ContactEmailFormSet
    extra = 1
    fields = [
        "address",
        "is_primary",
        "hard_bounces",
        "soft_bounces",
        "last_bounce_category",
        "created_at",
    ]
    readonly_fields = ["hard_bounces", "soft_bounces", "last_bounce_category", "created_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactAdminForm
    inlines = [ContactEmailInline]
    list_display = ["name", "company", "primary_address", "owner", "route_to_owner", "tickets"]
    list_filter = ["route_to_owner", "owner", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "company", "emails__address", "notes"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["name"]
    actions = ["reset_bounce_count"]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # A corrected address is a new address: its old bounces are not its own.
        for inline in formset.forms:
            if inline.instance.pk and "address" in inline.changed_data:
                for field, value in NO_BOUNCES.items():
                    setattr(inline.instance, field, value)
        super().save_formset(request, form, formset, change)

    @admin.action(description="Reset the bounce count of their addresses")
    def reset_bounce_count(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        changed = reset_bounces(ContactEmail.objects.filter(contact__in=queryset))
        self.message_user(
            request, f"Bounce count reset on {changed} address(es).", messages.SUCCESS
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return (
            super()
            .get_queryset(request)
            .annotate(ticket_count=Count("tickets", distinct=True))
            .prefetch_related("emails")
        )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = ContactAdminForm.with_custom_fields()
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        custom = [f"{PREFIX}{f.key}" for f in ContactField.objects.all()]
        fieldsets = [
            (None, {"fields": ["name", "company", "notes"]}),
            ("Owner", {"fields": ["owner", "route_to_owner"]}),
        ]
        if custom:
            fieldsets.append(("Custom fields", {"fields": custom}))
        fieldsets.append(("Audit", {"fields": ["created_at", "updated_at"]}))
        return fieldsets

    @admin.display(description="Email")
    def primary_address(self, obj: Contact) -> str:
        return obj.primary_email

    @admin.display(description="Tickets", ordering="ticket_count")
    def tickets(self, obj: Any) -> int:
        return obj.ticket_count


NO_BOUNCES: dict[str, Any] = {
    "hard_bounces": 0,
    "soft_bounces": 0,
    "last_bounce_at": None,
    "last_bounce_category": "",
    "last_bounce_diagnostic": "",
}


def reset_bounces(addresses: QuerySet[ContactEmail]) -> int:
    """Forget an address's bounces (the customer fixed their mailbox): mail to it is no
    longer refused. Returns how many addresses changed."""
    return addresses.update(**NO_BOUNCES)


@admin.register(ContactEmail)
class ContactEmailAdmin(admin.ModelAdmin):
    list_display = [
        "address",
        "contact",
        "is_primary",
        "hard_bounces",
        "soft_bounces",
        "last_bounce_at",
        "created_at",
    ]
    list_filter = ["last_bounce_category"]
    search_fields = ["address", "contact__name"]
    list_select_related = ["contact"]
    autocomplete_fields = ["contact"]
    readonly_fields = ["last_bounce_at", "last_bounce_category", "last_bounce_diagnostic"]
    actions = ["reset_bounce_count"]

    @admin.action(description="Reset the bounce count (send to these addresses again)")
    def reset_bounce_count(self, request: HttpRequest, queryset: QuerySet[ContactEmail]) -> None:
        changed = reset_bounces(queryset)
        self.message_user(
            request, f"Bounce count reset on {changed} address(es).", messages.SUCCESS
        )


@admin.register(ContactField)
class ContactFieldAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "kind", "position"]
    list_editable = ["position"]
    ordering = ["position", "label"]
