"""The Reports page's overview: the last 30 days against the 30 days before, in figures.

Mail in and out, tickets opened and closed, and the median first response, for each of
the two windows, plus what is waiting now (open tickets, mail unanswered for a day). A
few aggregate queries, each within the agent's rights (``reports.scope``); every figure
links to the report it summarises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from reports.aggregates import Percentile, SecondsBetween, as_duration
from reports.scope import tickets_in_scope
from reports.table import Filters
from reports.trends import MAIL_COUNTS
from tickets.models import Ticket

DAYS = 30
WAITING_HOURS = 24


@dataclass(frozen=True)
class Figure:
    label: str
    value: int | timedelta | None
    previous: int | timedelta | None = None
    link: str = ""
    lower_is_better: bool = False
    compared: bool = True  # False: a figure of now, with nothing to compare

    @property
    def change(self) -> int | None:
        """Percent up (+) or down (-) from the previous window; None when either is
        missing or the previous one was zero."""
        if not self.compared or self.value is None or not self.previous:
            return None
        now, before = _number(self.value), _number(self.previous)
        return round((now - before) * 100 / before)

    @property
    def is_duration(self) -> bool:
        return isinstance(self.value, timedelta) or isinstance(self.previous, timedelta)

    @property
    def better(self) -> bool | None:
        """Whether the change is good news (fewer minutes to answer, more mail handled)."""
        change = self.change
        if not change:
            return None
        return (change < 0) if self.lower_is_better else (change > 0)


def _number(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def windows(now: datetime) -> tuple[Filters, Filters]:
    """The last DAYS days (today included) and the DAYS days before them."""
    today = timezone.localdate(now)
    recent = Filters(today - timedelta(days=DAYS - 1), today, now=now)
    before = Filters(today - timedelta(days=2 * DAYS - 1), today - timedelta(days=DAYS), now=now)
    return recent, before


def _counts(agent: Any, filters: Filters) -> dict[str, Any]:
    tickets = tickets_in_scope(agent, filters)
    start, end = filters.start, filters.end
    mail = tickets.filter(messages__date__gte=start, messages__date__lt=end).aggregate(
        **MAIL_COUNTS
    )
    opened = tickets.filter(created_at__gte=start, created_at__lt=end).aggregate(
        opened=Count("id"),
        first_median=Percentile(SecondsBetween(F("first_response_at"), F("created_at")), 0.5),
    )
    closed = tickets.filter(closed_at__gte=start, closed_at__lt=end).count()
    return {**mail, **opened, "closed": closed, "first_median": as_duration(opened["first_median"])}


def _link(name: str, filters: Filters | None = None, **query: Any) -> str:
    if filters is not None:
        query = {"date_from": filters.date_from, "date_to": filters.date_to, **query}
    url = reverse("desk:report", args=[name])
    return f"{url}?{urlencode(query)}" if query else url


def overview(agent: Any, now: datetime | None = None) -> list[Figure]:
    recent, before = windows(now or timezone.now())
    current, earlier = _counts(agent, recent), _counts(agent, before)
    waiting_since = recent.now - timedelta(hours=WAITING_HOURS)
    open_now = tickets_in_scope(agent, recent).exclude(status=Ticket.Status.CLOSED)
    unanswered = open_now.filter(awaiting_reply_since__lte=waiting_since).count()

    def compared(label: str, key: str, report: str, **query: Any) -> Figure:
        link = _link(report, recent, **query)
        lower = key == "first_median"
        return Figure(label, current[key], earlier[key], link, lower_is_better=lower)

    return [
        compared("Customer mail received", "inbound", "message_trend"),
        compared("Replies sent", "outbound", "message_trend"),
        compared("Tickets opened", "opened", "history_ticketbox"),
        compared("Tickets closed", "closed", "history_ticketbox"),
        compared("First response, median", "first_median", "response_times", by="ticketbox"),
        Figure("Open now", open_now.count(), link=_link("open_tickets"), compared=False),
        Figure(
            f"Waiting over {WAITING_HOURS} h",
            unanswered,
            link=_link("unanswered", older_than=WAITING_HOURS),
            lower_is_better=True,
            compared=False,
        ),
    ]
