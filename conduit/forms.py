"""Admin forms for mail servers (mail sources, SMTP destinations): the password is
write-only, stored encrypted and never shown."""

from __future__ import annotations

from typing import Any

from django import forms

from conduit.models import MailSource, SmtpDestination


class WriteOnlyPasswordForm(forms.ModelForm):
    """A model form for a server whose ``password`` property encrypts: the form shows an
    empty field and keeps the stored password when it is left empty."""

    new_password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown. Leave empty to keep the stored password.",
    )
    empty_field_hint = "Enter the password."

    def needs_password(self, cleaned: dict[str, Any]) -> bool:
        return True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        if (
            self.needs_password(cleaned)
            and not self.instance.password_encrypted
            and not cleaned.get("new_password")
        ):
            self.add_error("new_password", self.empty_field_hint)
        return cleaned

    def save(self, commit: bool = True) -> Any:
        if self.cleaned_data.get("new_password"):
            self.instance.password = self.cleaned_data["new_password"]
        return super().save(commit=commit)


class MailSourceForm(WriteOnlyPasswordForm):
    empty_field_hint = "Enter the password of this mailbox."

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


class SmtpDestinationForm(WriteOnlyPasswordForm):
    empty_field_hint = "Enter the password for the login (or choose no authentication)."

    class Meta:
        model = SmtpDestination
        fields = [
            "name",
            "enabled",
            "is_default",
            "host",
            "port",
            "security",
            "verify_certificate",
            "timeout_seconds",
            "helo_name",
            "auth",
            "username",
            "max_message_bytes",
            "concurrency",
        ]

    def needs_password(self, cleaned: dict[str, Any]) -> bool:
        return cleaned.get("auth", SmtpDestination.Auth.NONE) != SmtpDestination.Auth.NONE
