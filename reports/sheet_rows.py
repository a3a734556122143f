"""A report's rows written into an openpyxl write-only sheet as XML: the long-export path.

openpyxl's write-only sheet turns every value into a cell object and writes it with five
lxml calls, about 9 µs a cell: 90 s for a million ten-column rows before any query runs.
Here each row is rendered to the sheet's XML in one pass (numbers, dates and durations
as Excel serials in their column's number format, text as inline strings), and a
thousand rows at a time are parsed by lxml, which checks they are well formed, and
written through the sheet's own stream, between what openpyxl writes above the rows
(widths, frozen panes, the header row) and below them (autofilter, chart).

Text is made safe for a spreadsheet here too: characters XML cannot carry become U+FFFD,
text longer than a cell holds (32,767 characters) is cut, and text that a spreadsheet
would run as a formula is quote-prefixed (it is an inline string, never a formula).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Generator, Sequence
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

from lxml.etree import fromstring
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_LIMIT = 32767
# What XML 1.0 cannot carry: C0 controls but tab, LF and CR; U+FFFE/U+FFFF; surrogates.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
KEEP_CR = {"\r": "&#13;"}  # a bare CR in XML text would be read back as LF
EXCEL_EPOCH = datetime(1899, 12, 30)
EXCEL_EPOCH_DATE = EXCEL_EPOCH.date()
FIRST_TRUE_DAY = datetime(1900, 3, 1)  # before it Excel counts 29 February 1900
DAY = timedelta(days=1)
TEMPORAL = {
    datetime: ("date", "datetime"),
    date: ("date", "datetime"),
    timedelta: ("duration",),
}
Encode = Callable[[str, Any], str]


class Rendered(NamedTuple):
    """Consecutive ``<row>`` elements as XML text, and how many rows they are."""

    xml: str
    row_count: int


class StreamedSheet(WriteOnlyWorksheet):
    """openpyxl's write-only worksheet that also takes rows already rendered as XML.

    ``append`` works as in openpyxl (the header row goes that way); ``append_rendered``
    writes a batch of rows from ``SheetRows`` after the rows appended so far.
    """

    _rows: Generator[None, Any, None] | None = None

    def append_rendered(self, rows: Rendered) -> None:
        self._get_writer()
        if self._rows is None:
            self._rows = self._write_rows()
            next(self._rows)
        self._rows.send(rows)

    def _write_rows(self) -> Generator[None, Any, None]:
        # openpyxl's own loop (WriteOnlyWorksheet._write_rows), taking rendered batches too.
        xf = self._writer.xf.send(True)
        with xf.element("sheetData"):
            number = 1
            try:
                while True:
                    row = yield
                    if isinstance(row, Rendered):
                        for element in fromstring(f"<rows>{row.xml}</rows>"):
                            xf.write(element)
                        number += row.row_count
                    else:
                        cells = self._values_to_row(row, number)
                        self._writer.write_row(xf, cells, number)
                        number += 1
            except GeneratorExit:
                pass
        self._writer.xf.send(None)


def _style(ws: WriteOnlyWorksheet, **style: Any) -> str:
    """The ``s`` attribute of a cell with this style (registered in the workbook)."""
    cell = WriteOnlyCell(ws)
    for name, value in style.items():
        setattr(cell, name, value)
    return f' s="{cell.style_id}"'


def serial(value: datetime | date) -> float | int:
    """A naive date or datetime as Excel's day number (openpyxl's ``to_excel``, faster)."""
    if isinstance(value, datetime):
        return (value - EXCEL_EPOCH) / DAY if value >= FIRST_TRUE_DAY else to_excel(value)
    days = (value - EXCEL_EPOCH_DATE).days
    return days if days > 60 else to_excel(value)


def text_cell(ref: str, value: str, quote: str) -> str:
    if NOT_XML.search(value):
        value = NOT_XML.sub("\ufffd", value)
    if len(value) > TEXT_LIMIT:
        value = value[:TEXT_LIMIT]
    style = quote if value.startswith(FORMULA_STARTS) else ""
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    text = escape(value, KEEP_CR)
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


class SheetRows:
    """Renders rows of values as worksheet XML, each column in its kind's number format.

    A value's type decides how it is written (text, number, date, duration, true/false);
    its column's kind decides the number format, except that a date or duration in a
    column of another kind gets its own type's format. Aware datetimes are written in
    ``zone`` without the zone (Excel has none). ``None``, empty text and numbers that are
    not finite leave the cell empty.
    """

    def __init__(
        self, ws: WriteOnlyWorksheet, kinds: Sequence[str], formats: dict[str, str], zone: tzinfo
    ) -> None:
        self.zone = zone
        self.quote = _style(ws, quotePrefix=True)
        self.styles = {kind: _style(ws, number_format=fmt) for kind, fmt in formats.items()}
        self.columns = [
            (get_column_letter(n), self._encoders(kind)) for n, kind in enumerate(kinds, 1)
        ]

    def row(self, number: int, values: Sequence[Any]) -> str:
        r = str(number)
        cells = [f'<row r="{r}">']
        for (letter, encoders), value in zip(self.columns, values, strict=True):
            if value is not None:
                encode = encoders.get(type(value)) or encoders[object]
                cells.append(encode(letter + r, value))
        cells.append("</row>")
        return "".join(cells)

    def _encoders(self, kind: str) -> dict[type, Encode]:
        own = self.styles.get(kind, "")

        def styled(value_type: type) -> str:
            return own if kind in TEMPORAL[value_type] else self.styles[TEMPORAL[value_type][-1]]

        quote, local = self.quote, self._local
        at_time, on_day, lasting = styled(datetime), styled(date), styled(timedelta)
        encoders: dict[type, Encode] = {
            str: lambda ref, v: text_cell(ref, v, quote) if v else "",
            int: lambda ref, v: f'<c r="{ref}"{own}><v>{v}</v></c>',
            float: lambda ref, v: f'<c r="{ref}"{own}><v>{v!r}</v></c>' if math.isfinite(v) else "",
            Decimal: lambda ref, v: f'<c r="{ref}"{own}><v>{v}</v></c>' if v.is_finite() else "",
            bool: lambda ref, v: f'<c r="{ref}" t="b"><v>{int(v)}</v></c>',
            datetime: lambda ref, v: f'<c r="{ref}"{at_time}><v>{serial(local(v))!r}</v></c>',
            date: lambda ref, v: f'<c r="{ref}"{on_day}><v>{serial(v)}</v></c>',
            timedelta: lambda ref, v: f'<c r="{ref}"{lasting}><v>{(v / DAY)!r}</v></c>',
        }

        def any_value(ref: str, value: Any) -> str:
            # Subclasses (a SafeString, an IntEnum) take their base type's way; else text.
            for base, encode in encoders.items():
                if isinstance(value, base) and not (base is int and isinstance(value, bool)):
                    return encode(ref, value)
            return text_cell(ref, str(value), quote)

        encoders[object] = any_value
        return encoders

    def _local(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value
        return value.astimezone(self.zone).replace(tzinfo=None)
