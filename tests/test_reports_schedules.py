"""Scheduled reports: when they are due (days, weeks, months, summer time), which period
they cover, the mail with its workbook (numbers as the page gives them, with the rights
of the agent it runs as), one mail per period however often the job runs, failures kept
on the schedule, and the admin."""

from __future__ import annotations

import email
import io
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from conduit.models import OutboundMessage
from reports import schedules
from reports.models import ScheduledReport
from reports.schedules import next_run, period, send_due
from reports.tasks import send_scheduled
from tests.test_reports_queries import seed_desk

pytestmark = pytest.mark.django_db
APRIL_1 = datetime(2025, 4, 1, 7, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture(autouse=True)
def _sender(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": "help@example.com"}


def plan(**fields: Any) -> ScheduledReport:
    """An unsaved schedule (what next_run and period read)."""
    return ScheduledReport(**({"every": "day", "hour": 7, "weekday": 0} | fields))


def schedule(agent: Any, **fields: Any) -> ScheduledReport:
    values = {
        "name": "Monthly mail",
        "report": "message_trend",
        "run_as": agent,
        "recipients": "boss@example.com,\nteam@example.com",
        "every": "month",
    }
    made = ScheduledReport(**(values | fields))
    made.full_clean()
    made.save()
    return made


def due(made: ScheduledReport, at: datetime = APRIL_1) -> None:
    ScheduledReport.objects.filter(pk=made.pk).update(next_run_at=at)


def mails() -> list[EmailMessage]:
    found = []
    notifications = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.NOTIFICATION)
    for mail in notifications.exclude(raw="spool/x.eml"):  # seed_desk's have no file
        with mail.raw.open("rb") as raw:
            found.append(email.message_from_bytes(raw.read(), policy=default_policy))
    return found  # type: ignore[return-value]


def workbook(mail: EmailMessage) -> Any:
    (part,) = [p for p in mail.iter_attachments()]
    assert part.get_content_type().endswith("spreadsheetml.sheet")
    return load_workbook(io.BytesIO(part.get_content()))


@pytest.mark.parametrize(
    ("fields", "after", "expected"),
    [
        ({"every": "day"}, datetime(2025, 3, 5, 6, 59, tzinfo=UTC), datetime(2025, 3, 5, 7, 0)),
        ({"every": "day"}, datetime(2025, 3, 5, 7, 0, tzinfo=UTC), datetime(2025, 3, 6, 7, 0)),
        ({"every": "week", "weekday": 0}, APRIL_1, datetime(2025, 4, 7, 7, 0)),
        ({"every": "week", "weekday": 1}, APRIL_1, datetime(2025, 4, 8, 7, 0)),
        ({"every": "week", "weekday": 2}, APRIL_1, datetime(2025, 4, 2, 7, 0)),
        ({"every": "month"}, APRIL_1, datetime(2025, 5, 1, 7, 0)),
        ({"every": "month"}, datetime(2025, 12, 15, tzinfo=UTC), datetime(2026, 1, 1, 7, 0)),
        ({"every": "month", "hour": 23}, datetime(2025, 1, 1, 22, tzinfo=UTC),
         datetime(2025, 1, 1, 23)),
    ],
)  # fmt: skip
def test_next_run_is_the_next_hour_of_the_schedule(
    fields: dict[str, Any], after: datetime, expected: datetime
) -> None:
    assert next_run(plan(**fields), after) == expected.replace(tzinfo=UTC)


def test_the_hour_is_local_time_across_summer_time(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime(2025, 3, 29, 8, 0, tzinfo=berlin)  # the day before clocks go forward
    first = next_run(plan(every="day"), before)
    assert first == datetime(2025, 3, 30, 7, 0, tzinfo=berlin)
    assert first.astimezone(UTC).hour == 5  # 07:00 CEST, not 06:00 UTC as the day before


@pytest.mark.parametrize(
    ("every", "sent_on", "expected"),
    [
        ("day", date(2025, 3, 1), (date(2025, 2, 28), date(2025, 2, 28))),
        ("week", date(2025, 3, 10), (date(2025, 3, 3), date(2025, 3, 9))),  # a Monday
        ("week", date(2025, 3, 13), (date(2025, 3, 3), date(2025, 3, 9))),  # a Thursday
        ("month", date(2025, 4, 1), (date(2025, 3, 1), date(2025, 3, 31))),
        ("month", date(2025, 1, 20), (date(2024, 12, 1), date(2024, 12, 31))),
    ],
)
def test_the_period_is_the_whole_one_just_ended(every: str, sent_on: date, expected: Any) -> None:
    assert period(plan(every=every), sent_on) == expected


def test_a_due_schedule_mails_the_workbook_once_per_period() -> None:
    desk = seed_desk()
    made = schedule(desk.supervisor)
    due(made)
    assert send_due(APRIL_1) == 1
    assert send_due(APRIL_1) == 0  # claimed: the next run is a month on
    made.refresh_from_db()
    assert made.next_run_at == datetime(2025, 5, 1, 7, 0, tzinfo=UTC)
    assert made.last_run_at == APRIL_1 and made.last_rows == 31 and made.last_error == ""
    (mail,) = mails()
    assert mail["Subject"] == "Inbound and outbound mail, March 2025"
    assert mail["To"] == "boss@example.com, team@example.com"
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_body(("plain",)).get_content()
    assert "From: 2025-03-01" in body and "To: 2025-03-31" in body
    assert "/reports/message_trend/?date_from=2025-03-01&date_to=2025-03-31" in body
    sheet = workbook(mail)["Inbound and outbound mail"]
    # The first week's mail as the report page counts it (tests/test_reports_queries.py).
    by_day = {row[0].day: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert by_day[1] == (3, 2) and sum(v[0] for v in by_day.values()) > 0


def test_the_numbers_cover_only_what_the_agent_it_runs_as_may_read() -> None:
    desk = seed_desk()
    due(schedule(desk.sales_supervisor, report="ticket_list"))
    assert send_due(APRIL_1) == 1
    sheet = workbook(mails()[0]).active
    boxes = {row[4] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert boxes == {"Sales"}


def test_a_report_of_now_is_named_by_its_day_not_a_period() -> None:
    desk = seed_desk()
    due(schedule(desk.supervisor, report="open_tickets", every="week", by="ticketbox"))
    assert send_due(APRIL_1) == 1
    (mail,) = mails()
    assert mail["Subject"] == "Open tickets, as of Tue 01 Apr 2025"
    assert "As of: 2025-04-01 07:00:00" in mail.get_body(("plain",)).get_content()


def test_the_beat_task_sends_what_is_due_now() -> None:
    desk = seed_desk()
    made = schedule(desk.supervisor)
    assert made.next_run_at is not None and made.next_run_at > timezone.now()
    assert send_scheduled.run() == 0
    due(made, timezone.now())
    assert send_scheduled.run() == 1 and len(mails()) == 1


def test_a_failure_is_kept_on_the_schedule_and_nothing_is_sent() -> None:
    desk = seed_desk()
    made = schedule(desk.supervisor)
    desk.supervisor.is_active = False
    desk.supervisor.save()
    due(made)
    assert send_due(APRIL_1) == 0
    made.refresh_from_db()
    assert "no longer active" in made.last_error and made.last_run_at == APRIL_1
    assert not mails()
    assert made.next_run_at == datetime(2025, 5, 1, 7, 0, tzinfo=UTC)  # tried again next time


def test_without_a_sender_address_the_schedule_says_what_to_set(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "DEFAULT_FROM": ""}
    desk = seed_desk()
    made = schedule(desk.supervisor)
    due(made)
    assert send_due(APRIL_1) == 0
    made.refresh_from_db()
    assert "MAILFLOW_DEFAULT_FROM" in made.last_error


def test_a_workbook_too_large_to_attach_is_described_instead(monkeypatch: Any) -> None:
    monkeypatch.setattr(schedules, "ATTACH_LIMIT", 100)
    desk = seed_desk()
    due(schedule(desk.supervisor))
    assert send_due(APRIL_1) == 1
    (mail,) = mails()
    assert not list(mail.iter_attachments())
    assert "too large to attach" in mail.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"recipients": "boss@example.com; not an address"}, "recipients", ": not an address."),
        ({"recipients": " "}, "recipients", "at least one"),
        ({"report": "no_such_report"}, "report", "Choose one of"),
        ({"report": "history_ticketbox", "by": "weekday"}, "by", "One of"),
        ({"grouping": "fortnight"}, "grouping", "day, week, month, year"),
        ({"hour": 24}, "hour", "0 to 23"),
    ],
)
def test_a_schedule_that_cannot_be_sent_is_refused(
    fields: dict[str, Any], field: str, says: str
) -> None:
    desk = seed_desk()
    with pytest.raises(ValidationError) as refused:
        schedule(desk.supervisor, **fields)
    assert says in " ".join(refused.value.message_dict[field])


def test_admin_adds_a_schedule_and_sends_it_now() -> None:
    desk = seed_desk()
    client = Client()
    client.force_login(desk.admin)
    add = reverse("admin:reports_scheduledreport_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "name": "Weekly Support",
            "report": "response_times",
            "enabled": "on",
            "run_as": desk.supervisor.pk,
            "recipients": "boss@example.com",
            "every": "week",
            "weekday": 0,
            "hour": 8,
            "grouping": "day",
            "by": "agent",
            "older_than_hours": 24,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    made = ScheduledReport.objects.get()
    assert made.next_run_at is not None and made.next_run_at.weekday() == 0
    changelist = reverse("admin:reports_scheduledreport_changelist")
    page = client.post(
        changelist, {"action": "send_now", "_selected_action": [made.pk]}, follow=True
    )
    assert "1 report(s) queued for sending." in page.content.decode()
    (mail,) = mails()
    assert mail["Subject"].startswith("Response times")
    assert "Weekly Support" in client.get(changelist).content.decode()


def supervisor_with(email: str) -> tuple[Any, Client]:
    desk = seed_desk()
    desk.supervisor.email = email
    desk.supervisor.save()
    client = Client()
    client.force_login(desk.supervisor)
    return desk, client


def test_a_supervisor_subscribes_on_the_report_page_and_stops_it() -> None:
    desk, client = supervisor_with("sue@example.com")
    page = client.get(reverse("desk:report", args=["response_times"]), {"by": "ticketbox"})
    assert b"data-subscribe" in page.content
    response = client.post(
        reverse("desk:report_subscribe", args=["response_times"]),
        {"by": "ticketbox", "ticketbox": desk.boxes["Sales"].pk, "every": "month"},
        follow=True,
    )
    made = ScheduledReport.objects.get()
    assert (made.name, made.report, made.every) == (
        "Response times, every month",
        "response_times",
        "month",
    )
    assert made.run_as == made.created_by == desk.supervisor
    assert made.recipients == "sue@example.com" and made.hour == 7
    assert (made.by, made.ticketbox_id) == ("ticketbox", desk.boxes["Sales"].pk)
    html = response.content.decode()
    assert "will be mailed to sue@example.com" in html
    assert f'data-schedule="{made.pk}"' in html and "Mailed to you" in html
    # Nobody else may stop it; Sue may.
    other = Client()
    other.force_login(desk.sales_supervisor)
    stop = reverse("desk:report_schedule_stop", args=[made.pk])
    assert other.post(stop).status_code == 404
    assert f'data-schedule="{made.pk}"' not in other.get(reverse("desk:reports")).content.decode()
    assert client.post(stop).status_code == 302
    assert not ScheduledReport.objects.exists()


def test_subscribing_without_an_email_address_says_what_to_do() -> None:
    desk, client = supervisor_with("")
    url = reverse("desk:report_subscribe", args=["message_trend"])
    page = client.post(url, {"grouping": "week", "every": "week"}, follow=True)
    assert "no email address" in page.content.decode()
    assert not ScheduledReport.objects.exists()
    assert client.post(url, {"every": "hourly"}, follow=True).status_code == 200
    assert not ScheduledReport.objects.exists()
    agent = Client()
    agent.force_login(desk.agent)  # no reports permission
    assert agent.post(url, {"every": "week"}).status_code == 404


class WorkerStopped(BaseException):
    """What a killed worker looks like from inside: nothing after it runs."""


def test_a_run_a_stopped_worker_left_is_sent_later_for_its_own_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desk = seed_desk()
    made = schedule(desk.supervisor)
    due(made)

    def stop(*args: Any, **kwargs: Any) -> int:
        raise WorkerStopped

    monkeypatch.setattr(schedules, "write_export", stop)
    with pytest.raises(WorkerStopped):
        send_due(APRIL_1)
    made.refresh_from_db()
    assert (made.run_for, made.claimed_at, made.last_run_at) == (APRIL_1, APRIL_1, None)
    monkeypatch.undo()
    assert send_due(APRIL_1 + timedelta(minutes=10)) == 0  # another worker may still be on it
    assert send_due(APRIL_1 + timedelta(minutes=31)) == 1
    assert send_due(APRIL_1 + timedelta(minutes=62)) == 0  # once
    (mail,) = mails()
    assert mail["Subject"] == "Inbound and outbound mail, March 2025"  # the period it was for
    made.refresh_from_db()
    assert (made.run_for, made.claimed_at, made.last_run_at) == (None, None, APRIL_1)
    assert made.next_run_at == datetime(2025, 5, 1, 7, 0, tzinfo=UTC)
