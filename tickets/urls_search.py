"""Workspace URLs: search (namespace "desk")."""

from __future__ import annotations

from django.urls import path

from tickets.views import search

urlpatterns = [
    path("search/", search.search, name="search"),
]
