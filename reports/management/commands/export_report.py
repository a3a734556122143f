"""Write a report to an Excel file from the command line (for ops and cron).

    python manage.py export_report NAME --from DATE --to DATE [--ticketbox X] [--agent Y]
        [--by B] [--grouping G] [--older-than HOURS] [--as USERNAME] --out FILE.xlsx

Shows a progress bar on a terminal; quiet otherwise. Without --as the report covers every
ticket (the command line already has the whole database).
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.exports import write_export
from reports.registry import REPORTS, UnknownReport, report_named
from reports.scope import Operator
from reports.table import GROUPINGS, Filters
from tickets.models import Ticketbox


class Command(BaseCommand):
    help = "Write a report to an .xlsx file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="one of: " + ", ".join(REPORTS))
        parser.add_argument("--from", dest="date_from", type=date.fromisoformat, required=True)
        parser.add_argument("--to", dest="date_to", type=date.fromisoformat, required=True)
        parser.add_argument("--ticketbox", help="ticketbox name or id")
        parser.add_argument("--agent", help="ticket owner: user name or id")
        parser.add_argument("--grouping", choices=GROUPINGS, default="day")
        parser.add_argument("--by", default="", help="grouping of open_tickets / response_times")
        parser.add_argument("--older-than", type=int, default=24, help="hours (unanswered)")
        parser.add_argument("--as", dest="as_agent", help="compute with this agent's rights")
        parser.add_argument("--out", required=True, help="the .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = report_named(options["name"])
        except UnknownReport as error:
            raise CommandError(f"{error} Reports: {', '.join(REPORTS)}") from None
        if options["by"] and options["by"] not in report.by_choices:
            raise CommandError(f"--by is one of: {', '.join(report.by_choices) or 'nothing'}")
        filters = Filters(
            date_from=options["date_from"],
            date_to=options["date_to"],
            ticketbox=_ticketbox(options["ticketbox"]),
            agent=_agent(options["agent"]).pk if options["agent"] else None,
            grouping=options["grouping"],
            by=options["by"] or next(iter(report.by_choices), ""),
            older_than_hours=options["older_than"],
        )
        agent = _agent(options["as_agent"]) if options["as_agent"] else Operator()
        terminal = sys.stdout.isatty() and self.stdout._out is sys.stdout
        rows = write_export(
            report, agent, filters, options["out"], progress=_bar if terminal else None
        )
        if terminal:
            sys.stdout.write("\n")
        if options["verbosity"] >= 1:
            self.stdout.write(f"{rows} rows written to {options['out']}")


def _bar(done: int, total: int | None) -> None:
    if total:
        filled = 40 * done // max(total, 1)
        line = (
            f"[{'#' * filled}{'.' * (40 - filled)}] {done * 100 // max(total, 1):3d}% {done} rows"
        )
    else:
        line = f"{done} rows"
    sys.stdout.write("\r" + line)
    sys.stdout.flush()


def _ticketbox(value: str | None) -> int | None:
    if not value:
        return None
    box = Ticketbox.objects.filter(pk=int(value)) if value.isdigit() else None
    found = box.first() if box is not None else Ticketbox.objects.filter(name=value).first()
    if found is None:
        raise CommandError(f"No ticketbox {value!r}.")
    return found.pk


def _agent(value: str) -> Any:
    users = get_user_model().objects
    found = users.filter(pk=int(value)).first() if value.isdigit() else None
    found = found or users.filter(username=value).first()
    if found is None:
        raise CommandError(f"No agent {value!r}.")
    return found
