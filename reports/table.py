"""The values every report shares: the filters it was asked with and the table it answers.

A report is a plain function ``(agent, filters, limit) -> Table``; the screen, the Excel
writer, the management command and the Celery task all read the same Table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from django.utils import timezone

Kind = Literal["text", "int", "float", "date", "datetime", "duration"]
GROUPINGS = ("day", "week", "month", "year")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "int"


@dataclass
class Table:
    """Columns with their types, and rows of plain Python values in column order.

    ``rows`` is a list for aggregated reports and a lazy iterator for row-per-ticket
    reports that are exported in full; ``total`` is their row count when known up front.
    """

    columns: list[Column]
    rows: Iterable[tuple[Any, ...]]
    total: int | None = None
    note: str = ""

    def column(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)


@dataclass(frozen=True)
class Filters:
    """What a report was asked for. Dates are whole days in the site's time zone, both
    included; ``now`` fixes "today" for snapshot reports (open tickets, unanswered mail)."""

    date_from: date
    date_to: date
    ticketbox: int | None = None
    agent: int | None = None
    grouping: str = "day"
    by: str = ""
    older_than_hours: int = 24
    now: datetime = field(default_factory=timezone.now)

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date_from, time.min))

    @property
    def end(self) -> datetime:
        """The first moment after the range (exclusive)."""
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("date_from", "date_to", "now"):
            data[key] = data[key].isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Filters:
        values = dict(data)
        values["date_from"] = date.fromisoformat(values["date_from"])
        values["date_to"] = date.fromisoformat(values["date_to"])
        values["now"] = datetime.fromisoformat(values["now"])
        return cls(**values)


def periods(start: date, end: date, grouping: str) -> list[date]:
    """Every period's first day from ``start`` to ``end`` (both included), the way the
    database truncates: weeks start on Monday, months on the 1st, years on 1 January."""
    first = truncate(start, grouping)
    found: list[date] = []
    current = first
    while current <= end:
        found.append(current)
        current = next_period(current, grouping)
    return found


def truncate(day: date, grouping: str) -> date:
    if grouping == "week":
        return day - timedelta(days=day.weekday())
    if grouping == "month":
        return day.replace(day=1)
    if grouping == "year":
        return day.replace(month=1, day=1)
    return day


def next_period(day: date, grouping: str) -> date:
    if grouping == "week":
        return day + timedelta(days=7)
    if grouping == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    if grouping == "year":
        return day.replace(year=day.year + 1)
    return day + timedelta(days=1)
