"""The agent's own pages: preferences (theme, rows, quoting, signatures, shortcuts) and the
presence heartbeat behind the collision notice."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.forms import inlineformset_factory
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tickets.agents import AgentProfile, Signature
from tickets.presence import heartbeat
from tickets.selectors import ticket_for, ticketboxes_for
from tickets.views.common import profile_of, sidebar


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = AgentProfile
        fields = [
            "theme",
            "rows_per_page",
            "quote_replies",
            "quote_prefix",
            "shortcut_ticketboxes",
            "shortcut_agents",
            "notify_new_tickets",
            "notify_by_email",
        ]
        widgets = {
            "shortcut_ticketboxes": forms.CheckboxSelectMultiple,
            "shortcut_agents": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: object, agent: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["shortcut_ticketboxes"].queryset = ticketboxes_for(agent)  # type: ignore[attr-defined]
        self.fields["shortcut_agents"].queryset = (  # type: ignore[attr-defined]
            get_user_model().objects.filter(is_active=True).exclude(pk=agent.pk)  # type: ignore[attr-defined]
        )
        self.fields["rows_per_page"].widget.attrs.update(min=10, max=500)

    def clean_rows_per_page(self) -> int:
        rows = self.cleaned_data["rows_per_page"]
        if not 10 <= rows <= 500:
            raise forms.ValidationError("Choose between 10 and 500 rows per page.")
        return rows


SignatureFormSet = inlineformset_factory(
    get_user_model(),
    Signature,
    fields=["name", "body", "is_default"],
    extra=1,
    can_delete=True,
    widgets={"body": forms.Textarea(attrs={"rows": 4, "spellcheck": "true"})},
)


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    profile = profile_of(request.user)
    form = PreferencesForm(request.POST or None, instance=profile, agent=request.user)
    signatures = SignatureFormSet(request.POST or None, instance=request.user, prefix="sig")
    if request.method == "POST" and form.is_valid() and signatures.is_valid():
        defaults = [
            f
            for f in signatures.forms
            if f.cleaned_data.get("is_default") and not f.cleaned_data.get("DELETE")
        ]
        if len(defaults) > 1:
            messages.error(request, "Choose one default signature.")
        else:
            form.save()
            signatures.save()
            messages.success(request, "Preferences saved.")
            return redirect("desk:preferences")
    return render(
        request,
        "desk/preferences.html",
        {**sidebar(request), "title": "Preferences", "form": form, "signatures": signatures},
    )


@login_required
@require_POST
def presence(request: HttpRequest, number: int) -> JsonResponse:
    ticket = ticket_for(request.user, number, trash=None)
    others = heartbeat(ticket.pk, request.user, composing=request.POST.get("composing") == "1")
    return JsonResponse({"others": others})
