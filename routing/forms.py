"""Forms of the routing admin: the explain page and the condition formset."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet

from conduit.models import InboundMessage, MailSource

MAX_UPLOAD = 50 * 1024 * 1024


class ExplainForm(forms.Form):
    """A message to test: an uploaded .eml, pasted source, or a stored inbound message."""

    upload = forms.FileField(required=False, label="Message file (.eml)")
    pasted = forms.CharField(
        required=False,
        label="…or paste the raw message",
        widget=forms.Textarea(attrs={"rows": 12, "cols": 100, "spellcheck": "false"}),
    )
    inbound = forms.IntegerField(
        required=False, min_value=1, label="…or the id of a stored inbound message"
    )
    source = forms.ModelChoiceField(
        MailSource.objects.all(),
        required=False,
        label="As if fetched from",
        help_text="Its default ticketbox applies when no rule or address decides.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        given = [name for name in ("upload", "pasted", "inbound") if data.get(name)]
        if len(given) != 1:
            raise forms.ValidationError(
                "Give one message: upload a file, paste its source, or enter an inbound id."
            )
        upload = data.get("upload")
        if upload is not None and upload.size > MAX_UPLOAD:
            raise forms.ValidationError("That file is over 50 MB; test a smaller message.")
        if data.get("inbound"):
            inbound = InboundMessage.objects.filter(pk=data["inbound"]).first()
            if inbound is None:
                raise forms.ValidationError(f"There is no inbound message {data['inbound']}.")
            data["inbound_row"] = inbound
        return data

    def raw(self) -> bytes:
        data = self.cleaned_data
        if data.get("upload"):
            return data["upload"].read()
        if data.get("inbound_row"):
            from conduit.store import read_raw

            return read_raw(data["inbound_row"])
        text: str = data["pasted"]
        return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


class ConditionFormSet(BaseInlineFormSet):
    """A rule needs at least one condition: a rule without any would never match."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE", False)
        ]
        if not kept:
            raise forms.ValidationError(
                "Add at least one condition: a rule without conditions never matches."
            )
