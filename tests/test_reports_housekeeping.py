"""Report exports over time: the agent's own list on the Reports page, old exports deleted
with their files, exports no worker finished failed with the reason, and the keep-days
setting checked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reports import checks, exports
from reports.models import ReportExport
from reports.tasks import tidy_exports
from tests.test_reports_queries import seed_desk, week

pytestmark = pytest.mark.django_db


def made(agent: Any, age: timedelta, state: str = "done", name: str = "") -> ReportExport:
    export = ReportExport.objects.create(
        requested_by=agent, report="ticket_list", filters=week().to_json(), state=state
    )
    if name:
        export.file.save(name, ContentFile(b"PK fake workbook"), save=True)
    ReportExport.objects.filter(pk=export.pk).update(created_at=timezone.now() - age)
    return export


def test_old_exports_go_with_their_files_and_recent_ones_stay(
    django_capture_on_commit_callbacks: Any,
) -> None:
    desk = seed_desk()
    old = made(desk.supervisor, timedelta(days=8), name="old.xlsx")
    recent = made(desk.supervisor, timedelta(days=6), name="recent.xlsx")
    assert default_storage.exists(old.file.name) and default_storage.exists(recent.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        assert exports.tidy_exports(timezone.now()) == (1, 0)
    assert list(ReportExport.objects.all()) == [recent]
    assert not default_storage.exists(old.file.name)
    assert default_storage.exists(recent.file.name)


def test_keep_days_zero_keeps_every_export(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "REPORT_EXPORT_KEEP_DAYS": 0}
    desk = seed_desk()
    made(desk.supervisor, timedelta(days=400))
    assert exports.tidy_exports(timezone.now()) == (0, 0)
    assert ReportExport.objects.count() == 1


def test_exports_no_worker_finished_fail_with_the_reason() -> None:
    desk = seed_desk()
    stuck = made(desk.supervisor, timedelta(hours=7), state="running")
    waiting = made(desk.supervisor, timedelta(hours=7), state="queued")
    busy = made(desk.supervisor, timedelta(minutes=5), state="running")
    assert tidy_exports.run() == (0, 2)  # the beat task
    for export in (stuck, waiting):
        export.refresh_from_db()
        assert export.state == "failed" and "No worker finished" in export.error
        assert export.finished_at is not None
    busy.refresh_from_db()
    assert busy.state == "running" and not busy.error
    status = Client()
    status.force_login(desk.supervisor)
    shown = status.get(reverse("desk:report_export_status", args=[stuck.pk])).json()
    assert shown["state"] == "failed" and "Export the report again" in shown["error"]


def test_reports_page_lists_the_agents_own_exports() -> None:
    desk = seed_desk()
    done = made(desk.supervisor, timedelta(hours=1), name="mine.xlsx")
    running = made(desk.supervisor, timedelta(minutes=1), state="running")
    theirs = made(desk.sales_supervisor, timedelta(minutes=2), name="theirs.xlsx")
    client = Client()
    client.force_login(desk.supervisor)
    html = client.get(reverse("desk:reports")).content.decode()
    assert "Your exports" in html and "Exports are deleted after 7 days." in html
    assert reverse("desk:report_download", args=[done.pk]) in html
    assert reverse("desk:report_export_page", args=[running.pk]) in html
    assert f'data-export="{theirs.pk}"' not in html
    assert html.index(f'data-export="{running.pk}"') < html.index(f'data-export="{done.pk}"')
    client.force_login(desk.admin)
    assert "Your exports" not in client.get(reverse("desk:reports")).content.decode()


def test_a_negative_keep_days_setting_is_refused(settings: Any) -> None:
    assert checks.check_report_settings() == []
    settings.MAILFLOW = {**settings.MAILFLOW, "REPORT_EXPORT_KEEP_DAYS": -1}
    (error,) = checks.check_report_settings()
    assert error.id == "mailflow.E301" and "MAILFLOW_REPORT_EXPORT_KEEP_DAYS" in error.msg
