"""Reports in a real browser: a supervisor runs a report, sees its chart, exports it and
downloads the workbook; a large export shows its progress, then the download link."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook

from contacts.models import Contact
from reports import exports
from reports.models import ScheduledReport
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import make_agent, make_ticketbox
from tests.test_reports_queries import grant_reports
from tickets.agents import AgentProfile
from tickets.models import Message, Ticket, TicketboxAccess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _supervised_desk() -> Any:
    box = make_ticketbox("Support")
    sue = make_agent("sue", password=PASSWORD, first_name="Sue", last_name="Visor")
    TicketboxAccess.objects.create(ticketbox=box, agent=sue, level=1)
    grant_reports(sue)
    AgentProfile.objects.get_or_create(agent=sue)
    contact = Contact.objects.create(name="=cmd|' /C calc'!A0")
    now = timezone.now()
    for n in range(12):
        day = now - timedelta(days=n * 2, hours=1)
        ticket = Ticket.objects.create(
            number=5000 + n, ticketbox=box, contact=contact, created_at=day,
            subject=f"Question {n}", first_response_at=day + timedelta(hours=n + 1),
        )  # fmt: skip
        for k in range(1 + n % 3):
            direction = "in" if k % 2 == 0 else "out"
            Message.objects.create(
                ticket=ticket, direction=direction, date=day + timedelta(minutes=k)
            )
    return sue


def test_supervisor_runs_a_report_sees_the_chart_and_downloads_the_workbook(
    live_server: Any, page: Any, tmp_path: Path
) -> None:
    _supervised_desk()
    log_in(page, live_server.url, "sue")
    page.click(".shortcuts >> text=Reports")
    page.wait_for_url(f"{live_server.url}/reports/")
    page.click("text=Inbound and outbound mail")
    page.wait_for_url(f"{live_server.url}/reports/message_trend/")
    chart = page.locator("figure.chart svg")
    assert chart.is_visible()
    assert page.locator("figure.chart polyline").count() == 2
    assert page.locator("table.report-table tbody tr").count() == 30
    page.select_option("select[name=grouping]", "week")
    page.click("button:has-text('Show')")
    page.wait_for_url("**grouping=week**")
    assert page.locator("figure.chart svg").is_visible()
    screenshot(page, "reports-message-trend")
    # The dark theme: the chart's text and lines follow the theme's colours.
    page.emulate_media(color_scheme="dark")
    axis = "el => getComputedStyle(el).fill"
    assert page.eval_on_selector("figure.chart text.axis", axis) == "rgb(152, 162, 179)"
    line = "el => getComputedStyle(el).stroke"
    assert page.eval_on_selector("figure.chart polyline.s0", line) == "rgb(109, 156, 242)"
    screenshot(page, "reports-message-trend-dark")
    page.emulate_media(color_scheme="light")

    with page.expect_download() as info:
        page.click("button:has-text('Export to Excel')")
    download = info.value
    assert download.suggested_filename.startswith("message_trend-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    sheet = load_workbook(saved)["Inbound and outbound mail"]
    assert [c.value for c in sheet[1]] == ["Period", "Inbound", "Outbound"]
    assert sum(row[1] for row in sheet.iter_rows(min_row=2, values_only=True)) == 16
    assert sheet._charts

    # Subscribing: the report as filtered on the page (by week), mailed every month.
    page.select_option("form.report-subscribe select[name=every]", "month")
    page.click("button[data-subscribe]")
    page.wait_for_url(f"{live_server.url}/reports/")
    assert "will be mailed to sue@example.com" in page.inner_text(".flash")
    assert page.locator(".report-subscriptions tr[data-schedule]").count() == 1
    made = ScheduledReport.objects.get()
    assert (made.report, made.every, made.grouping) == ("message_trend", "month", "week")
    screenshot(page, "reports-subscribed")


def test_a_large_export_shows_progress_then_the_download_link(
    live_server: Any, page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _supervised_desk()
    monkeypatch.setattr(exports, "DIRECT_LIMIT", 5)

    # The worker: the same task, in a thread of the test server's process.
    def work(pk: int) -> None:
        try:
            exports.run_export(pk)
        finally:
            connection.close()

    monkeypatch.setattr(
        "reports.tasks.run_report_export.delay",
        lambda pk: threading.Thread(target=work, args=(pk,)).start(),
    )
    log_in(page, live_server.url, "sue")
    page.goto(f"{live_server.url}/reports/ticket_list/")
    page.click("button:has-text('Export to Excel')")
    page.wait_for_url("**/reports/exports/*/")
    assert page.locator("progress[data-progress]").count() == 1
    link = page.locator("a[data-download]")
    link.wait_for(state="visible")
    assert page.locator("progress[data-progress]").get_attribute("value") == "100"
    screenshot(page, "reports-export-done")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "tickets.xlsx"
    info.value.save_as(saved)
    sheet = load_workbook(saved).active
    assert sheet.max_row == 13
    contact = sheet["D2"]
    assert contact.value == "=cmd|' /C calc'!A0" and contact.data_type == "s"
    # The Reports page lists the export, with its download, for when the page was left.
    page.goto(f"{live_server.url}/reports/")
    row = page.locator(".report-exports tr[data-export]")
    assert row.count() == 1 and "Done" in row.inner_text()
    assert row.locator("a:has-text('Download')").get_attribute("href").endswith("/file")
    screenshot(page, "reports-index-exports")
    # A ticket number in the list opens the ticket.
    page.goto(f"{live_server.url}/reports/ticket_list/")
    page.click("table.report-table a:has-text('5000')")
    page.wait_for_url("**/t/5000/")
