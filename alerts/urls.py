"""URLs of the Alerts shortcut, inside the workspace's "desk" namespace."""

from __future__ import annotations

from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/mark", views.alert_mark, name="alerts_mark"),
]
