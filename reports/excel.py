"""Reports as real spreadsheets (openpyxl, write-only: rows stream, memory stays flat).

Dates are dates, times are times, durations are durations and counts are numbers; the
header is styled, frozen and filterable; trend and group reports get a native chart; a
Filters sheet says what was asked. Text that a spreadsheet would run as a formula
(beginning with = + - @, tab or carriage return) is written as text, quote-prefixed.
The rows themselves go through ``sheet_rows`` (a million of them in well under a minute).
"""

from __future__ import annotations

from collections.abc import Callable
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
from reports.sheet_rows import FORMULA_STARTS, Rendered, SheetRows, StreamedSheet
from reports.table import Table

PROGRESS_EVERY = 5000
BATCH = 1000  # rows rendered, parsed and written at a time
SHEET_ROWS = 1_048_575  # Excel's rows per sheet, less the header: more go on a next sheet
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


def _data_sheet(wb: Workbook, report: Report, table: Table, number: int) -> StreamedSheet:
    """A sheet for the rows, with widths, the frozen header row and its filter buttons.
    Past Excel's row limit the rows go on in "Title (2)", "Title (3)"…"""
    title = report.title[:31] if number == 1 else f"{report.title[:25]} ({number})"
    ws = StreamedSheet(wb, title)
    wb._add_sheet(ws)
    for n, column in enumerate(table.columns, start=1):
        width = 50 if column.key == "subject" else WIDTHS[column.kind]
        ws.column_dimensions[get_column_letter(n)].width = max(width, len(column.label) * 0.9)
    ws.freeze_panes = "A2"
    ws.append(_header(ws, [c.label for c in table.columns]))
    return ws


def _filter_buttons(ws: StreamedSheet, table: Table, rows: int) -> None:
    ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{rows + 1}"


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
    sheets = [_data_sheet(wb, report, table, 1)]
    kinds = [c.kind for c in table.columns]
    render = SheetRows(sheets[0], kinds, FORMATS, timezone.get_current_timezone())
    rows = on_sheet = 0
    batch: list[str] = []

    def flush() -> None:
        if batch:
            sheets[-1].append_rendered(Rendered("".join(batch), len(batch)))
            batch.clear()

    for row in table.rows:
        if on_sheet == SHEET_ROWS:
            flush()
            _filter_buttons(sheets[-1], table, on_sheet)
            sheets.append(_data_sheet(wb, report, table, len(sheets) + 1))
            on_sheet = 0
        rows += 1
        on_sheet += 1
        batch.append(render.row(on_sheet + 1, row))
        if len(batch) == BATCH:
            flush()
        if progress is not None and rows % PROGRESS_EVERY == 0:
            progress(rows)
    flush()
    _filter_buttons(sheets[-1], table, on_sheet)
    _chart(sheets[0], report, table, min(rows, SHEET_ROWS))
    if len(sheets) > 1:
        described = [*described, ("Sheets", f"{len(sheets)} ({SHEET_ROWS:,} rows at most each)")]
    _filters_sheet(wb, described, rows)
    wb.save(out)
    if progress is not None:
        progress(rows)
    return rows
