"""Workspace URLs: replies, forwards, new tickets, the response picker, contact lookup."""

from __future__ import annotations

from django.urls import path

from tickets.views import compose

urlpatterns = [
    path("t/<int:number>/reply", compose.reply, name="reply"),
    path("compose/", compose.new_ticket, name="compose"),
    path("responses/", compose.response_picker, name="responses"),
    path("responses/<int:pk>/", compose.response_text, name="response_text"),
    path("contacts/lookup", compose.contact_lookup, name="contact_lookup"),
]
