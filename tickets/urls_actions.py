"""Workspace URLs: ticket actions, Get Oldest, bulk actions (namespace "desk")."""

from __future__ import annotations

from django.urls import path

from tickets.views import actions

urlpatterns = [
    path("t/<int:number>/take", actions.take, name="take"),
    path("t/<int:number>/assign", actions.assign, name="assign"),
    path("t/<int:number>/status", actions.set_status, name="set_status"),
    path("t/<int:number>/priority", actions.set_priority, name="set_priority"),
    path("t/<int:number>/move", actions.move, name="move"),
    path("t/<int:number>/escalate", actions.escalate, name="escalate"),
    path("t/<int:number>/trash", actions.trash_ticket, name="trash_ticket"),
    path("t/<int:number>/restore", actions.restore, name="restore"),
    path("t/<int:number>/merge", actions.merge, name="merge"),
    path("t/<int:number>/note", actions.add_note, name="note"),
    path("messages/<int:pk>/move", actions.move_message, name="move_message"),
    path("tickets/box/<int:box_id>/get-oldest", actions.get_oldest, name="get_oldest"),
    path("tickets/bulk", actions.bulk, name="bulk"),
    path("tickets/trash/empty", actions.empty_trash, name="empty_trash"),
]
