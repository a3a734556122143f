"""URLs of the agent workspace (namespace "desk"). Each area keeps its own URL module."""

from __future__ import annotations

from django.urls import include, path

from tickets.views import agent, lists, ticket

app_name = "desk"

urlpatterns = [
    path("tickets/mine/", lists.my_tickets, name="mine"),
    path("tickets/box/<int:box_id>/", lists.ticketbox_tickets, name="ticketbox"),
    path("tickets/agent/<int:agent_id>/", lists.agent_tickets, name="agent"),
    path("tickets/trash/", lists.trash, name="trash"),
    path("t/<int:number>/", ticket.ticket_view, name="ticket"),
    path("messages/<int:pk>/body", ticket.message_body, name="message_body"),
    path("messages/<int:pk>/headers", ticket.message_headers, name="message_headers"),
    path("attachments/<int:pk>/", ticket.attachment_download, name="attachment"),
    path(
        "attachments/<int:pk>/inline",
        ticket.attachment_download,
        {"inline": True},
        name="attachment_inline",
    ),
    path("preferences/", agent.preferences, name="preferences"),
    path("t/<int:number>/presence", agent.presence, name="presence"),
    path("", include("tickets.urls_actions")),
    path("", include("tickets.urls_compose")),
    path("", include("tickets.urls_search")),
    path("", include("alerts.urls")),
    path("", include("reports.urls")),
]
