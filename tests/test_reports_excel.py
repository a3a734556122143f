"""The .xlsx files: opened again with openpyxl to check types, header, filters sheet,
chart, frozen panes, autofilter and that customer text never becomes a formula."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from reports.excel import as_text
from reports.exports import write_export
from reports.registry import REPORTS
from tests.test_reports_queries import EVIL, seed_desk, week
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def export(name: str, agent: Any, **filters: Any) -> Any:
    out = io.BytesIO()
    write_export(REPORTS[name], agent, week(**filters), out)
    out.seek(0)
    return load_workbook(out)


def test_trend_workbook_has_typed_cells_styled_frozen_filtered_header_and_a_line_chart() -> None:
    desk = seed_desk()
    book = export("message_trend", desk.supervisor)
    sheet = book["Inbound and outbound mail"]
    header = [c.value for c in sheet[1]]
    assert header == ["Period", "Inbound", "Outbound"]
    assert sheet["A1"].font.bold and sheet["A1"].fill.fgColor.rgb.endswith("2F6FDE")
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C8"
    assert sheet.column_dimensions["A"].width >= 10
    first = [c.value for c in sheet[2]]
    assert first == [datetime(2025, 3, 1), 3, 2]  # a date cell (Excel has no date-only type)
    assert sheet["A2"].is_date and sheet["A2"].number_format == "yyyy-mm-dd"
    assert isinstance(sheet["B2"].value, int)
    charts = sheet._charts
    assert len(charts) == 1 and charts[0].tagname == "lineChart"
    assert len(charts[0].series) == 2


def test_filters_sheet_describes_what_was_asked() -> None:
    desk = seed_desk()
    book = export("message_trend", desk.supervisor, ticketbox=desk.boxes["Sales"].pk)
    described = {row[0]: row[1] for row in book["Filters"].iter_rows(min_row=2, values_only=True)}
    assert described["Report"] == "Inbound and outbound mail"
    assert described["From"] == datetime(2025, 3, 1) and described["To"] == datetime(2025, 3, 7)
    assert described["Ticketbox"] == "Sales"
    assert described["Ticket owner"] == "Anyone"
    assert described["Grouped by"] == "day"
    assert described["Rows"] == 7


def test_durations_are_durations_and_numbers_are_numbers() -> None:
    desk = seed_desk()
    sheet = export("response_times", desk.supervisor, by="agent").active
    ann = [c for c in sheet[2]]
    assert ann[0].value == "Ann Agent" and ann[1].value == 3
    assert ann[3].value == timedelta(hours=1)
    assert ann[3].number_format == "[h]:mm:ss"
    assert sheet._charts and sheet._charts[0].tagname == "barChart"


def test_customer_text_that_looks_like_a_formula_is_written_as_text() -> None:
    desk = seed_desk()
    sheet = export("ticket_list", desk.supervisor).active
    by_number = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    subject, contact = by_number[1004][2], by_number[1004][3]
    for cell in (subject, contact):
        assert cell.value == EVIL
        assert cell.data_type == "s"  # not "f": Excel shows it, never runs it
        assert cell.quotePrefix
    assert by_number[1002][2].value == "-1 refund" and by_number[1002][2].data_type == "s"
    assert by_number[1005][2].value == "+49 call me" and by_number[1005][2].data_type == "s"
    assert by_number[1006][2].value == "@team quote" and by_number[1006][2].quotePrefix
    assert by_number[1001][1].value == datetime(2025, 3, 1, 9, 0)  # local time, a real date
    assert by_number[1001][8].value == timedelta(hours=1)
    assert not sheet._charts  # a list, not a trend


def test_tab_and_carriage_return_starts_are_text_too() -> None:
    from openpyxl import Workbook

    sheet = Workbook(write_only=True).create_sheet()
    for value in ("\t=1+1", "\r=1+1", "=1+1", "-2"):
        cell = as_text(sheet, value)
        assert cell.data_type == "s" and cell.quotePrefix
    assert as_text(sheet, "plain") == "plain"


def test_export_report_command_writes_the_workbook(tmp_path: Path) -> None:
    desk = seed_desk()
    out = tmp_path / "trend.xlsx"
    stdout = io.StringIO()
    call_command(
        "export_report", "message_trend", "--from", "2025-03-01", "--to", "2025-03-07",
        "--ticketbox", "Support", "--agent", "ann", "--out", str(out), stdout=stdout,
    )  # fmt: skip
    assert "7 rows written" in stdout.getvalue()
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    # Ann's Support tickets: t1 and t2 on 1 March (in 2, out 2) plus t9 (in 1), t1 on 2 March.
    assert rows[0] == (datetime(2025, 3, 1), 3, 2) and rows[1] == (datetime(2025, 3, 2), 1, 0)
    assert len(rows) == 7 and desk.ann.username == "ann"


def test_export_report_command_as_an_agent_uses_their_rights(tmp_path: Path) -> None:
    seed_desk()
    out = tmp_path / "boxes.xlsx"
    call_command(
        "export_report", "history_ticketbox", "--from", "2025-03-01", "--to", "2025-03-07",
        "--as", "sam", "--out", str(out), stdout=io.StringIO(),
    )  # fmt: skip
    rows = list(load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert rows == [("Sales", 2, 2, 2, 1)]


def test_export_report_command_refuses_an_unknown_report(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No report named"):
        call_command(
            "export_report", "nope", "--from", "2025-03-01", "--to", "2025-03-07",
            "--out", str(tmp_path / "x.xlsx"),
        )  # fmt: skip


def test_a_subject_with_control_characters_is_exported_not_refused() -> None:
    # Mail carries whatever bytes a sender wrote; the export shows them as U+FFFD.
    desk = seed_desk()
    Ticket.objects.filter(number=1003).update(subject="Broken\x1b[31m red\x07")
    sheet = export("ticket_list", desk.supervisor).active
    by_number = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert by_number[1003][2].value == "Broken\ufffd[31m red\ufffd"


def test_rows_past_excels_sheet_limit_go_on_in_a_next_sheet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("reports.excel.SHEET_ROWS", 4)  # Excel's is 1,048,575 rows
    desk = seed_desk()
    book = export("ticket_list", desk.supervisor)
    assert book.sheetnames == ["Tickets", "Tickets (2)", "Filters"]
    first, second = book["Tickets"], book["Tickets (2)"]
    assert [c.value for c in first[1]] == [c.value for c in second[1]]  # the header again
    assert second.freeze_panes == "A2" and second.auto_filter.ref == "A1:J3"
    assert first.auto_filter.ref == "A1:J5"
    split = [r for s in (first, second) for r in s.iter_rows(min_row=2, values_only=True)]
    monkeypatch.undo()
    whole = export("ticket_list", desk.supervisor)["Tickets"]
    assert split == list(whole.iter_rows(min_row=2, values_only=True))  # the same rows, in order
    assert len(split) == 6
    described = {r[0]: r[1] for r in book["Filters"].iter_rows(min_row=2, values_only=True)}
    assert described["Rows"] == 6 and described["Sheets"].startswith("2 (4 rows at most")
