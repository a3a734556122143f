"""Admin forms for contacts: custom fields edited as real form fields, not raw JSON."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from contacts.models import Contact, ContactField

PREFIX = "custom__"


def _form_field(definition: ContactField) -> forms.Field:
    common = {"label": definition.label, "required": False}
    if definition.kind == ContactField.Kind.NUMBER:
        return forms.DecimalField(**common)
    if definition.kind == ContactField.Kind.DATE:
        return forms.DateField(**common, widget=forms.DateInput(attrs={"type": "date"}))
    if definition.kind == ContactField.Kind.CHOICE:
        options = [("", "—")] + [(c, c) for c in definition.choice_list()]
        return forms.ChoiceField(**common, choices=options)
    return forms.CharField(**common, max_length=500)


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if value is None or value == "":
        return None
    if hasattr(value, "as_tuple"):  # Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class ContactAdminForm(forms.ModelForm):
    """Contact form; ``with_custom_fields`` adds one declared field per ContactField."""

    custom_definitions: list[ContactField] = []

    class Meta:
        model = Contact
        fields = ["name", "company", "notes", "owner", "route_to_owner"]

    @classmethod
    def with_custom_fields(cls) -> type[ContactAdminForm]:
        definitions = list(ContactField.objects.all())
        attrs: dict[str, Any] = {PREFIX + d.key: _form_field(d) for d in definitions}
        attrs["custom_definitions"] = definitions
        return type("ContactAdminFormWithCustom", (cls,), attrs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.custom or {}
        for definition in self.custom_definitions:
            self.fields[PREFIX + definition.key].initial = stored.get(definition.key)

    def save(self, commit: bool = True) -> Contact:
        custom = dict(self.instance.custom or {})
        for definition in self.custom_definitions:
            value = _to_json(self.cleaned_data.get(PREFIX + definition.key))
            if value is None:
                custom.pop(definition.key, None)
            else:
                custom[definition.key] = value
        self.instance.custom = custom
        return super().save(commit=commit)


class ContactEmailFormSet(forms.BaseInlineFormSet):
    """Refuse the same address twice in one save, whatever its case."""

    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        primaries = 0
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            address = (form.cleaned_data.get("address") or "").lower()
            if address in seen:
                raise ValidationError(f"{address} is listed twice.")
            seen.add(address)
            primaries += bool(form.cleaned_data.get("is_primary"))
        if primaries > 1:
            raise ValidationError("Mark at most one address as primary.")
