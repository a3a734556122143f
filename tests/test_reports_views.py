"""Reports over HTTP: who may see them (others get 404), the page with its chart and
table, small exports downloaded at once, large ones by a worker with progress, and the
download kept to whoever asked."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from reports import exports
from reports.exports import run_export
from reports.models import ReportExport
from reports.table import Filters
from tests.test_reports_queries import seed_desk, week

pytestmark = pytest.mark.django_db
WEEK = {"date_from": "2025-03-01", "date_to": "2025-03-07"}


def client_for(agent: Any) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_only_supervisors_see_reports_and_the_link_to_them() -> None:
    desk = seed_desk()
    agent = client_for(desk.agent)
    assert agent.get(reverse("desk:reports")).status_code == 404
    assert agent.get(reverse("desk:report", args=["message_trend"])).status_code == 404
    url = reverse("desk:report_export", args=["message_trend"])
    assert agent.post(url, WEEK).status_code == 404
    assert b">Reports</a>" not in agent.get(reverse("desk:mine")).content
    supervisor = client_for(desk.supervisor)
    assert b">Reports</a>" in supervisor.get(reverse("desk:mine")).content
    page = supervisor.get(reverse("desk:reports"))
    assert page.status_code == 200 and b"Response times" in page.content
    assert client_for(desk.admin).get(reverse("desk:reports")).status_code == 200
    assert supervisor.get(reverse("desk:report", args=["nope"])).status_code == 404


def test_report_page_shows_a_chart_and_the_table() -> None:
    desk = seed_desk()
    page = client_for(desk.supervisor).get(reverse("desk:report", args=["message_trend"]), WEEK)
    html = page.content.decode()
    assert page.status_code == 200
    assert '<figure class="chart" data-chart="line"><svg' in html
    assert "<polyline" in html and "Inbound" in html
    assert '<td class="kind-date">2025-03-01</td>' in html


@pytest.mark.parametrize("name", ["history_ticketbox", "open_tickets", "response_times",
                                  "unanswered", "delivery", "bounces", "escalations",
                                  "messages_per_ticket", "history_agent", "history_contact",
                                  "ticket_list"])  # fmt: skip
def test_every_report_page_renders(name: str) -> None:
    desk = seed_desk()
    page = client_for(desk.supervisor).get(reverse("desk:report", args=[name]), WEEK)
    assert page.status_code == 200
    assert b'class="tickets report-table"' in page.content


def test_ticket_numbers_in_a_report_open_the_ticket() -> None:
    desk = seed_desk()
    page = client_for(desk.supervisor).get(reverse("desk:report", args=["ticket_list"]), WEEK)
    html = page.content.decode()
    link = reverse("desk:ticket", args=[1001])
    assert f'<td class="kind-int"><a href="{link}">1001</a></td>' in html  # no "1,001"
    assert client_for(desk.supervisor).get(link).status_code == 200


def test_report_page_never_shows_a_ticketbox_outside_the_agents_rights() -> None:
    desk = seed_desk()
    client = client_for(desk.sales_supervisor)
    page = client.get(reverse("desk:report", args=["history_ticketbox"]), WEEK)
    assert (
        b"Sales" in page.content and b"Support" not in page.content and b"Legal" not in page.content
    )
    # Legal is not a choice; asking for it anyway is a form error, not Legal's numbers.
    asked = client.get(
        reverse("desk:report", args=["history_ticketbox"]),
        WEEK | {"ticketbox": desk.boxes["Legal"].pk},
    )
    assert asked.status_code == 200 and b"Select a valid choice" in asked.content


def test_a_bad_range_is_a_form_error() -> None:
    desk = seed_desk()
    page = client_for(desk.supervisor).get(
        reverse("desk:report", args=["message_trend"]),
        {"date_from": "2025-03-07", "date_to": "2025-03-01"},
    )
    assert b"The range ends before it starts" in page.content


def test_small_export_downloads_at_once() -> None:
    desk = seed_desk()
    response = client_for(desk.supervisor).post(
        reverse("desk:report_export", args=["history_agent"]), WEEK
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert "history_agent-20250301-20250307.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [c.value for c in book.active[2]] == ["Ann Agent", 5, 3, 3, 3]


def test_large_export_runs_as_a_task_with_progress_and_a_private_download(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    desk = seed_desk()
    monkeypatch.setattr(exports, "DIRECT_LIMIT", 2)
    monkeypatch.setattr("reports.excel.PROGRESS_EVERY", 1)
    queued: list[int] = []
    monkeypatch.setattr("reports.tasks.run_report_export.delay", queued.append)
    client = client_for(desk.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("desk:report_export", args=["ticket_list"]), WEEK)
    export = ReportExport.objects.get()
    assert queued == [export.pk]
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:report_export_page", args=[export.pk])
    page = client.get(response["Location"])
    assert b"data-export-status=" in page.content and b"<progress" in page.content
    status = client.get(reverse("desk:report_export_status", args=[export.pk])).json()
    assert status == {"state": "queued", "progress": 0, "rows": 0, "error": "", "download": ""}

    seen: list[int] = []
    original = ReportExport.objects.filter

    def spy(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        update = found.update

        def recorded(**values: Any) -> int:
            if "progress" in values:
                seen.append(values["progress"])
            return update(**values)

        found.update = recorded  # type: ignore[method-assign]
        return found

    monkeypatch.setattr(ReportExport.objects, "filter", spy)
    from reports.tasks import run_report_export

    assert run_report_export.run(export.pk) == "done"
    monkeypatch.undo()
    assert seen and seen == sorted(seen) and 0 < seen[-1] <= 99
    status = client.get(reverse("desk:report_export_status", args=[export.pk])).json()
    assert status["state"] == "done" and status["progress"] == 100 and status["rows"] == 6
    download = client.get(status["download"])
    assert download["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert sheet.max_row == 7
    # Only the agent who asked may see it or download it.
    other = client_for(desk.sales_supervisor)
    assert other.get(status["download"]).status_code == 404
    assert other.get(reverse("desk:report_export_status", args=[export.pk])).status_code == 404
    # Running the task again (a retry) changes nothing.
    assert run_export(export.pk).state == "done"


def test_a_failed_export_says_why() -> None:
    desk = seed_desk()
    filters = Filters.from_json(week().to_json())
    export = ReportExport.objects.create(
        requested_by=desk.supervisor, report="no_such_report", filters=filters.to_json()
    )
    assert run_export(export.pk).state == "failed"
    status = client_for(desk.supervisor).get(reverse("desk:report_export_status", args=[export.pk]))
    assert "No report named" in status.json()["error"]
