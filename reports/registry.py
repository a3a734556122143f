"""Every report, defined once: its name, title, the filters it takes and its chart.

The views, the Excel export, ``manage.py export_report`` and the Celery task all look
reports up here, so a report means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from reports import delivery, detail, history, response_times, trends, workload
from reports.table import Filters, Table

Build = Callable[[Any, Filters, int | None], Table]
DATES, TICKETBOX, AGENT, GROUPING, BY, OLDER_THAN = (
    "dates",
    "ticketbox",
    "agent",
    "grouping",
    "by",
    "older_than",
)
SCOPE = frozenset({TICKETBOX, AGENT})
RANGE = SCOPE | {DATES}
TREND = RANGE | {GROUPING}


@dataclass(frozen=True)
class Chart:
    kind: Literal["line", "bar"]
    x: str
    series: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    build: Build
    accepts: frozenset[str]
    chart: Chart | None
    by_choices: dict[str, str] = field(default_factory=dict)
    screen_rows: int | None = None  # row-per-ticket or per-contact: the screen shows these

    @property
    def trend(self) -> bool:
        """Over periods (a line chart): a native line chart in Excel too."""
        return self.chart is not None and self.chart.kind == "line"

    @property
    def default_by(self) -> str:
        """The grouping a report with a choice of groupings takes when none is chosen."""
        return next(iter(self.by_choices), "")

    def run(self, agent: Any, filters: Filters, *, full: bool = False) -> Table:
        return self.build(agent, filters, None if full else self.screen_rows)


REPORTS: dict[str, Report] = {
    r.name: r
    for r in [
        Report(
            "message_trend",
            "Inbound and outbound mail",
            "Customer mail received and replies written, per period.",
            trends.message_trend,
            TREND,
            Chart("line", "period", ("inbound", "outbound")),
        ),
        Report(
            "messages_per_ticket",
            "Messages per ticket",
            "Tickets opened per period, their messages, and the average per ticket.",
            trends.messages_per_ticket,
            TREND,
            Chart("line", "period", ("average",)),
        ),
        Report(
            "history_ticketbox",
            "History by ticketbox",
            "Mail in and out, tickets opened and closed in the range, per ticketbox.",
            history.by_ticketbox,
            RANGE,
            Chart("bar", "name", ("inbound", "outbound")),
        ),
        Report(
            "history_agent",
            "History by agent",
            "Mail in and out, tickets opened and closed, per ticket owner.",
            history.by_agent,
            RANGE,
            Chart("bar", "name", ("inbound", "outbound")),
        ),
        Report(
            "history_contact",
            "History by contact",
            "Mail in and out, tickets opened and closed, per contact (busiest first).",
            history.by_contact,
            RANGE,
            Chart("bar", "name", ("inbound", "outbound")),
            screen_rows=50,
        ),
        Report(
            "open_tickets",
            "Open tickets",
            "Tickets not closed now, by ticketbox, owner, age or priority.",
            workload.open_tickets,
            SCOPE | {BY},
            Chart("bar", "group", ("tickets",)),
            by_choices=workload.OPEN_BY,
        ),
        Report(
            "response_times",
            "Response times",
            "First response and resolution of tickets opened in the range: median and "
            "90th percentile.",
            response_times.response_times,
            RANGE | {BY},
            Chart("bar", "name", ("first_median", "resolution_median")),
            by_choices=response_times.RESPONSE_BY,
        ),
        Report(
            "unanswered",
            "Unanswered mail",
            "Open tickets whose customer has waited longer than the chosen age, longest "
            "wait first.",
            detail.unanswered,
            SCOPE | {OLDER_THAN},
            Chart("bar", "number", ("waited_hours",)),
            screen_rows=200,
        ),
        Report(
            "delivery",
            "Delivery",
            "Outbound mail queued per period, by what became of it.",
            delivery.delivery,
            TREND,
            Chart("line", "period", ("sent", "deferred", "failed", "bounced")),
        ),
        Report(
            "bounces",
            "Bounces by category",
            "Outbound mail of the range that bounced, by what the bounce said.",
            delivery.bounces,
            RANGE,
            Chart("bar", "category", ("bounced", "hard")),
        ),
        Report(
            "escalations",
            "Escalations and alerts",
            "Tickets escalated and alerts raised, per period.",
            trends.escalations_and_alerts,
            TREND,
            Chart("line", "period", ("escalations", "alerts")),
        ),
        Report(
            "ticket_list",
            "Tickets",
            "Every ticket opened in the range, one row each (for spreadsheets).",
            detail.ticket_list,
            RANGE,
            None,
            screen_rows=200,
        ),
    ]
}


class UnknownReport(LookupError):
    pass


def report_named(name: str) -> Report:
    try:
        return REPORTS[name]
    except KeyError:
        raise UnknownReport(f"No report named {name!r}.") from None
