"""URLs of the reports, inside the workspace's "desk" namespace."""

from __future__ import annotations

from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.report_index, name="reports"),
    path("reports/exports/<int:pk>/", views.export_page, name="report_export_page"),
    path("reports/exports/<int:pk>/status", views.export_status, name="report_export_status"),
    path("reports/exports/<int:pk>/file", views.export_download, name="report_download"),
    path("reports/<slug:name>/", views.report_page, name="report"),
    path("reports/<slug:name>/export", views.report_export, name="report_export"),
    path("reports/<slug:name>/subscribe", views.report_subscribe, name="report_subscribe"),
    path("reports/schedules/<int:pk>/stop", views.schedule_stop, name="report_schedule_stop"),
]
