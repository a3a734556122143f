"""python manage.py conduit_import PATH...: import .eml, mbox and Maildir mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conduit.imports import import_paths
from routing.services import route_batch
from routing.tasks import BATCH as ROUTE_BATCH
from routing.tasks import enqueue_routes


class Command(BaseCommand):
    help = (
        "Import mail from .eml files, mbox files and Maildir folders through the same store "
        "and route path as fetched mail. Importing the same mail again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument(
            "--enqueue", action="store_true", help="Leave routing to the Celery workers."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = import_paths(options["paths"])
        routed = failed = 0
        if options["enqueue"]:
            enqueue_routes(report.stored_ids)
        else:
            for start in range(0, len(report.stored_ids), ROUTE_BATCH):
                chunk = report.stored_ids[start : start + ROUTE_BATCH]
                done = len(route_batch(chunk))
                routed += done
                failed += len(chunk) - done
            if failed:
                self.stderr.write(
                    f"{failed} stored message(s) could not be routed; the reason is on each "
                    "(admin: Inbound messages), they are retried."
                )
        for problem in report.unreadable:
            self.stderr.write(problem)
        self.stdout.write(
            f"Read {report.read} message(s): {len(report.stored_ids)} new, "
            f"{report.duplicates} already stored, {routed} routed, {failed} routing failed, "
            f"{len(report.unreadable)} path(s) unreadable."
        )
        if report.unreadable or failed:
            raise CommandError("Some mail could not be imported; see above.")
