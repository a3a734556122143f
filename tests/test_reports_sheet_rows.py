"""Rows rendered straight to worksheet XML (reports/sheet_rows.py) read back exactly as
openpyxl's own cell writer would have written them: same values, types and formats."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.safestring import mark_safe
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from reports.excel import FORMATS, as_text
from reports.sheet_rows import (
    FORMULA_STARTS,
    NOT_XML,
    TEXT_LIMIT,
    Rendered,
    SheetRows,
    StreamedSheet,
)

ZONE = ZoneInfo("Europe/Berlin")


def streamed(kinds: Sequence[str], rows: Sequence[Sequence[Any]], batch: int = 2) -> Any:
    """The rows written through SheetRows in batches, after a header; read back."""
    wb = Workbook(write_only=True)
    ws = StreamedSheet(wb, "Rows")
    wb._add_sheet(ws)
    ws.append([f"col{n}" for n in range(len(kinds))])
    render = SheetRows(ws, kinds, FORMATS, ZONE)
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        xml = "".join(render.row(start + n + 2, row) for n, row in enumerate(chunk))
        ws.append_rendered(Rendered(xml, len(chunk)))
    ws.append(["after"])  # openpyxl's own rows still follow on
    out = io.BytesIO()
    wb.save(out)
    return load_workbook(io.BytesIO(out.getvalue()))["Rows"]


def by_openpyxl(kinds: Sequence[str], rows: Sequence[Sequence[Any]]) -> Any:
    """The same rows written cell by cell the way openpyxl does it (the reference)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Rows")
    ws.append([f"col{n}" for n in range(len(kinds))])
    for row in rows:
        cells = []
        for kind, value in zip(kinds, row, strict=True):
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(ZONE).replace(tzinfo=None)
            if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                cells.append(as_text(ws, value))
                continue
            cell = WriteOnlyCell(ws, value=value)
            if kind in FORMATS and value is not None:
                cell.number_format = FORMATS[kind]
            cells.append(cell)
        ws.append(cells)
    ws.append(["after"])
    out = io.BytesIO()
    wb.save(out)
    return load_workbook(io.BytesIO(out.getvalue()))["Rows"]


def cells(sheet: Any) -> list[list[tuple[str, Any, str, str, bool]]]:
    return [
        [
            (c.coordinate, c.value, c.data_type, c.number_format, c.quotePrefix)
            for c in row
            if c.value is not None
        ]
        for row in sheet.iter_rows()
    ]


def near(a: Any, b: Any) -> bool:
    """Equal, but for the last bit of a float (openpyxl writes 16 digits, we write 17)
    and a millisecond of a date or duration (a serial is a float of days either way, read
    back rounded to the millisecond: a value on a half millisecond may round either way)."""
    if isinstance(a, float) or isinstance(b, float):
        # openpyxl's 16 digits can even turn 1000000000000000.5 into the whole number
        # "1000000000000000", read back as an int; the exact values are checked against
        # what was written, in the property test below.
        numbers = (int, float)
        if not (isinstance(a, numbers) and isinstance(b, numbers)):
            return False
        return math.isclose(a, b, rel_tol=1e-15, abs_tol=1e-300)
    if isinstance(a, datetime | timedelta) and type(a) is type(b):
        return abs(a - b) <= timedelta(milliseconds=1)
    return bool(a == b)


def same_cells(ours: Any, theirs: Any) -> None:
    mine, ref = cells(ours), cells(theirs)
    assert [[c[0] for c in row] for row in mine] == [[c[0] for c in row] for row in ref]
    for row, ref_row in zip(mine, ref, strict=True):
        for (where, value, *rest), (_, ref_value, *ref_rest) in zip(row, ref_row, strict=True):
            assert rest == ref_rest, (where, value, ref_value)
            assert near(value, ref_value), (where, value, ref_value)


def test_a_report_row_reads_back_as_openpyxl_writes_it() -> None:
    kinds = ["int", "datetime", "text", "text", "duration", "duration", "float", "date"]
    rows = [
        (
            1001,
            datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
            "Refund & <urgent>",
            "Ann",
            timedelta(hours=1, seconds=5),
            None,
            2.5,
            date(2025, 3, 1),
        ),
        (
            1002,
            datetime(2025, 7, 1, 23, 30),
            "x",
            None,
            timedelta(0),
            timedelta(days=40),
            0.1,
            None,
        ),
        (1003, None, None, None, None, None, None, None),
    ]
    same_cells(streamed(kinds, rows), by_openpyxl(kinds, rows))
    sheet = streamed(kinds, rows)
    assert sheet["B2"].value == datetime(2025, 3, 1, 9, 0)  # Berlin, without the zone
    assert sheet["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["E2"].value == timedelta(hours=1, seconds=5)
    assert sheet["F3"].value == timedelta(days=40)
    assert sheet["H2"].is_date and sheet["H2"].number_format == "yyyy-mm-dd"
    assert sheet["A4"].value == 1003 and sheet["B4"].value is None
    assert sheet["A5"].value == "after"


def test_text_that_looks_like_a_formula_is_quote_prefixed_text() -> None:
    rows = [(value,) for value in ("=1+1", "+49 call", "-1 refund", "@team", "\t=x", "\r=x")]
    sheet = streamed(["text"], rows)
    for n, (value,) in enumerate(rows, start=2):
        cell = sheet.cell(n, 1)
        assert cell.value == value and cell.data_type == "s" and cell.quotePrefix, value
    assert not streamed(["text"], [("plain",)])["A2"].quotePrefix


def test_text_keeps_spaces_line_ends_and_markup_characters() -> None:
    values = ["  lead", "trail  ", "a\r\nb", "x\ry", "a \"q\" & 's' <b>", "tab\tin", "日本語 ✉"]
    sheet = streamed(["text"], [(v,) for v in values])
    assert [sheet.cell(n, 1).value for n in range(2, 2 + len(values))] == values


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    sheet = streamed(["text"], [("bell\x07 esc\x1b nul\x00 \ufffe end",)])
    assert sheet["A2"].value == "bell\ufffd esc\ufffd nul\ufffd \ufffd end"


def test_text_longer_than_a_cell_holds_is_cut_to_the_limit() -> None:
    sheet = streamed(["text"], [("x" * (TEXT_LIMIT + 500),), ("",)])
    assert sheet["A2"].value == "x" * TEXT_LIMIT
    assert sheet["A3"].value is None  # empty text is an empty cell


def test_other_value_types_take_their_own_way() -> None:
    kinds = ["int", "float", "int", "int", "text", "int", "text"]
    row = (
        Decimal("2.50"),
        float("nan"),
        True,
        datetime(2025, 1, 2, 3, 4),
        mark_safe("<safe>"),
        timedelta(minutes=90),
        date(1900, 1, 15),  # before 1 March 1900, where Excel counts a 29 February
    )
    sheet = streamed(kinds, [row])
    assert sheet["A2"].value == 2.5
    assert sheet["B2"].value is None  # NaN has no spreadsheet form
    assert sheet["C2"].value is True
    assert sheet["D2"].value == datetime(2025, 1, 2, 3, 4)
    assert sheet["D2"].number_format == "yyyy-mm-dd hh:mm"  # a date in an int column
    assert sheet["E2"].value == "<safe>"
    assert sheet["F2"].value == timedelta(minutes=90) and sheet["F2"].number_format == "[h]:mm:ss"
    assert sheet["G2"].value == datetime(1900, 1, 15)


KINDS = ["int", "float", "text", "datetime", "date", "duration"]
VALUES = {
    "int": st.integers(-(2**50), 2**50),
    # Within ±1e300: openpyxl writes 16 digits, so its own 1.797…e308 reads back as inf.
    "float": st.floats(-1e300, 1e300, allow_nan=False, width=64),
    "text": st.text(max_size=40),
    "datetime": st.datetimes(datetime(1900, 3, 1), datetime(2100, 1, 1)),
    "date": st.dates(date(1900, 3, 1), date(2100, 1, 1)),
    "duration": st.timedeltas(timedelta(0), timedelta(days=3000)),
}


@settings(max_examples=60, deadline=None)
@example([(None, 1000000000000000.5, None, None, None, None)])  # openpyxl reads back an int
@given(st.lists(st.tuples(*(st.none() | VALUES[kind] for kind in KINDS)), max_size=6))
def test_any_rows_read_back_as_openpyxl_writes_them(rows: list[tuple[Any, ...]]) -> None:
    # openpyxl refuses the characters XML cannot carry; those are tested above.
    rows = [tuple(NOT_XML.sub("?", v) if isinstance(v, str) else v for v in r) for r in rows]
    ours = streamed(KINDS, rows, batch=4)
    same_cells(ours, by_openpyxl(KINDS, rows))
    # Numbers read back exactly as given (17 digits: no float loses its last bit).
    numbers = [(r[0], r[1]) for r in rows]
    shown = ours.iter_rows(min_row=2, max_row=len(rows) + 1, values_only=True)
    assert [(row[0], row[1]) for row in shown] == numbers
