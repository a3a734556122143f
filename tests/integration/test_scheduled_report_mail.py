"""A scheduled report end to end: the beat job writes the workbook, the spooler delivers
the mail to a real SMTP server on loopback, and the workbook that arrives opens with the
numbers of the report."""

from __future__ import annotations

import email
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from email.policy import default as default_policy
from typing import Any

import pytest
from openpyxl import load_workbook

from conduit.spool import send_due as spool_send_due
from reports.models import ScheduledReport
from reports.schedules import send_due
from tests.integration.smtp import SmtpServer, destination_for
from tests.test_reports_queries import seed_desk

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
APRIL_1 = datetime(2025, 4, 1, 7, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def test_the_monthly_workbook_arrives_by_smtp(smtp: SmtpServer, settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "help@example.com"}
    destination_for(smtp)
    desk = seed_desk()
    schedule = ScheduledReport(
        name="March for the boss", report="history_ticketbox", run_as=desk.supervisor,
        recipients="boss@example.com", every="month",
    )  # fmt: skip
    schedule.full_clean()
    schedule.save()
    ScheduledReport.objects.filter(pk=schedule.pk).update(next_run_at=APRIL_1)

    assert send_due(APRIL_1) == 1
    assert spool_send_due().sent == 1

    (got,) = smtp.received
    assert got.rcpt_tos == ["boss@example.com"]
    mail = email.message_from_bytes(got.content, policy=default_policy)
    assert mail["Subject"] == "History by ticketbox, March 2025"
    (part,) = list(mail.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_filename() == "history_ticketbox-20250301-20250331.xlsx"
    sheet = load_workbook(io.BytesIO(part.get_content())).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"Support", "Sales"}  # Legal is outside Sue's rights
    assert sum(r[2] for r in rows.values()) == 6  # tickets opened in March, Support and Sales
