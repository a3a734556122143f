"""python manage.py conduit_fetch [--source NAME]: check mail sources now."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conduit.fetch import fetch_source
from conduit.models import MailSource
from routing.services import route_batch
from routing.tasks import enqueue_routes


class Command(BaseCommand):
    help = (
        "Fetch new mail from the enabled mail sources (or the named ones, enabled or not), "
        "store it and route it onto tickets. Exits non-zero when a source failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source", action="append", default=[], metavar="NAME", help="Only this source."
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Leave routing to the Celery workers instead of routing here.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sources = self._sources(options["source"])
        failed = []
        totals = {"fetched": 0, "duplicates": 0, "oversize": 0, "routed": 0}
        for source in sources:
            routed: list[int] = []

            def after_store(ids: list[int], routed: list[int] = routed) -> None:
                if options["enqueue"]:
                    enqueue_routes(ids)
                    return
                outcomes = route_batch(ids)
                routed.extend(o.inbound_id for o in outcomes)
                if len(outcomes) < len(ids):
                    self.stderr.write(
                        f"  {len(ids) - len(outcomes)} stored message(s) could not be routed; "
                        "the reason is on each (admin: Inbound messages), they are retried."
                    )

            report = fetch_source(
                source, on_progress=self._progress(source), after_store=after_store
            )
            self._end_progress()
            self.stdout.write(report.summary())
            if report.error or report.busy:
                failed.append(source.name)
            totals["fetched"] += report.fetched
            totals["duplicates"] += report.duplicates
            totals["oversize"] += report.oversize
            totals["routed"] += len(routed)
        self.stdout.write(
            f"Checked {len(sources)} source(s): {totals['fetched']} new message(s) stored, "
            f"{totals['routed']} routed, {totals['duplicates']} duplicate(s), "
            f"{totals['oversize']} over size, {len(failed)} failed."
        )
        if failed:
            raise CommandError(f"These sources failed: {', '.join(failed)}")

    def _sources(self, names: list[str]) -> list[MailSource]:
        if not names:
            sources = list(MailSource.objects.filter(enabled=True))
            if not sources:
                self.stdout.write("No enabled mail sources: add one in the admin (Mail sources).")
            return sources
        sources = list(MailSource.objects.filter(name__in=names))
        missing = set(names) - {s.name for s in sources}
        if missing:
            known = ", ".join(MailSource.objects.values_list("name", flat=True)) or "none"
            raise CommandError(
                f"No mail source named {', '.join(sorted(missing))} (known: {known})"
            )
        return sources

    def _progress(self, source: MailSource) -> Any:
        tty = sys.stdout.isatty()
        self._progress_shown = False

        def show(done: int, total: int) -> None:
            if tty:
                self.stdout.write(f"\r{source.name}: {done}/{total} fetched", ending="")
                self._progress_shown = True
            elif done % 100 == 0 or done == total:
                self.stdout.write(f"{source.name}: {done}/{total} fetched")

        return show

    def _end_progress(self) -> None:
        if getattr(self, "_progress_shown", False):
            self.stdout.write("")
