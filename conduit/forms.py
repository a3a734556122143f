"""Admin form for mail sources: the password is write-only."""

from __future__ import annotations

from typing import Any

from django import forms

from conduit.models import MailSource


class MailSourceForm(forms.ModelForm):
    new_password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown. Leave empty to keep the stored password.",
    )

    class Meta:
        model = MailSource
        fields = [
            "name",
            "enabled",
            "ticketbox_hint",
            "protocol",
            "host",
            "port",
            "security",
            "verify_certificate",
            "timeout_seconds",
            "auth",
            "username",
            "folder",
            "check_interval_seconds",
            "leave_copies",
            "delete_copies_after_days",
            "max_message_bytes",
            "delete_oversize",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if not self.instance.password_encrypted and not cleaned.get("new_password"):
            self.add_error("new_password", "Enter the password of this mailbox.")
        return cleaned

    def save(self, commit: bool = True) -> MailSource:
        if self.cleaned_data.get("new_password"):
            self.instance.password = self.cleaned_data["new_password"]
        return super().save(commit=commit)
