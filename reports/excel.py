"""Reports as real spreadsheets (openpyxl, write-only: rows stream, memory stays flat).

Dates are dates, times are times, durations are durations and counts are numbers; the
header is styled, frozen and filterable; trend and group reports get a native chart; a
Filters sheet says what was asked. Text that a spreadsheet would run as a formula
(beginning with = + - @, tab or carriage return) is written as text, quote-prefixed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from reports.registry import Report
from reports.table import Column, Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PROGRESS_EVERY = 5000
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2F6FDE")
WIDTHS = {"text": 28, "int": 12, "float": 12, "date": 12, "datetime": 19, "duration": 14}
FORMATS = {
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "duration": "[h]:mm:ss",
    "float": "0.00",
}
Progress = Callable[[int], None]


def _header(ws: WriteOnlyWorksheet, labels: list[str]) -> list[WriteOnlyCell]:
    cells = []
    for label in labels:
        cell = WriteOnlyCell(ws, value=label)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        cells.append(cell)
    return cells


def as_text(ws: WriteOnlyWorksheet, value: str) -> Any:
    """A string as a cell; one that looks like a formula is forced to text."""
    if not value.startswith(FORMULA_STARTS):
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _converters(ws: WriteOnlyWorksheet, columns: list[Column]) -> list[Callable[[Any], Any]]:
    """Per column: the value as Excel takes it (local times without a zone, safe text)."""
    zone = timezone.get_current_timezone()

    def local(value: datetime | None) -> datetime | None:
        if value is None or timezone.is_naive(value):
            return value
        return value.astimezone(zone).replace(tzinfo=None)

    def text(value: Any) -> Any:
        return as_text(ws, value) if isinstance(value, str) else value

    def keep(value: Any) -> Any:
        return value

    def styled(fmt: str) -> Callable[[Any], Any]:
        # One styled cell per column, given each row's value: a write-only sheet writes a
        # row out as it is appended, so the cell is free again for the next row (and the
        # style is looked up once, not once per cell: a million-row export is cell-bound).
        cell = WriteOnlyCell(ws)
        cell.number_format = fmt

        def put(value: Any) -> Any:
            if value is None:
                return None
            cell.value = local(value) if isinstance(value, datetime) else value
            return cell

        return put

    found: list[Callable[[Any], Any]] = []
    for column in columns:
        if column.kind == "text":
            found.append(text)
        elif column.kind in FORMATS:
            found.append(styled(FORMATS[column.kind]))
        else:
            found.append(keep)
    return found


def _chart(ws: WriteOnlyWorksheet, report: Report, table: Table, rows: int) -> None:
    if report.chart is None or rows == 0 or report.screen_rows is not None:
        return
    chart: LineChart | BarChart
    if report.trend:
        chart = LineChart()
        chart.y_axis.title = "Count"
    else:
        chart = BarChart()
        chart.type = "bar"
    chart.title = report.title
    chart.height, chart.width = 9, 18
    for key in report.chart.series:
        col = table.column(key) + 1
        chart.add_data(
            Reference(ws, min_col=col, min_row=1, max_row=rows + 1), titles_from_data=True
        )
    x = table.column(report.chart.x) + 1
    chart.set_categories(Reference(ws, min_col=x, min_row=2, max_row=rows + 1))
    ws.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}2")


def _filters_sheet(wb: Workbook, described: list[tuple[str, Any]], rows: int) -> None:
    ws = wb.create_sheet("Filters")
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 40
    ws.append(_header(ws, ["Filter", "Value"]))
    generated = timezone.localtime().replace(tzinfo=None, microsecond=0)
    for label, value in [*described, ("Rows", rows), ("Generated", generated)]:
        ws.append([label, as_text(ws, value) if isinstance(value, str) else value])


def write_workbook(
    report: Report,
    table: Table,
    described: list[tuple[str, Any]],
    out: str | Path | IO[bytes],
    progress: Progress | None = None,
) -> int:
    """Write the report to ``out`` (a path or a binary file); returns the row count.

    ``progress`` is called with the rows written so far, every few thousand rows.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(report.title[:31])
    for n, column in enumerate(table.columns, start=1):
        width = 50 if column.key == "subject" else WIDTHS[column.kind]
        ws.column_dimensions[get_column_letter(n)].width = max(width, len(column.label) * 0.9)
    ws.freeze_panes = "A2"
    ws.append(_header(ws, [c.label for c in table.columns]))
    convert = _converters(ws, table.columns)
    pairs = list(enumerate(convert))
    rows = 0
    for row in table.rows:
        ws.append([convert_one(row[i]) for i, convert_one in pairs])
        rows += 1
        if progress is not None and rows % PROGRESS_EVERY == 0:
            progress(rows)
    last = get_column_letter(len(table.columns))
    ws.auto_filter.ref = f"A1:{last}{rows + 1}"
    _chart(ws, report, table, rows)
    _filters_sheet(wb, described, rows)
    wb.save(out)
    if progress is not None:
        progress(rows)
    return rows
