"""Django admin for contacts, their addresses and the custom contact fields."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from contacts.forms import PREFIX, ContactAdminForm, ContactEmailFormSet
from contacts.models import Contact, ContactEmail, ContactField


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    formset = ContactEmailFormSet
    extra = 1
    fields = ["address", "is_primary", "created_at"]
    readonly_fields = ["created_at"]


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


@admin.register(ContactEmail)
class ContactEmailAdmin(admin.ModelAdmin):
    list_display = ["address", "contact", "is_primary", "created_at"]
    search_fields = ["address", "contact__name"]
    list_select_related = ["contact"]
    autocomplete_fields = ["contact"]


@admin.register(ContactField)
class ContactFieldAdmin(admin.ModelAdmin):
    list_display = ["label", "key", "kind", "position"]
    list_editable = ["position"]
    ordering = ["position", "label"]
