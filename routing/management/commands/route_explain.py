"""Show what routing would do with a raw message, and why, without changing anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conduit.models import MailSource
from routing.explain import as_text, explain


class Command(BaseCommand):
    help = (
        "Dry-run routing for a raw message (.eml, or - for standard input): the blocked-sender "
        "check, the thread decision, each rule in order with which conditions matched, and the "
        "final actions. Nothing is stored, sent or counted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="raw message file, or - for stdin")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--source",
            metavar="NAME",
            help="as if fetched from this mail source (its default ticketbox applies)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        source = None
        if options["source"]:
            source = MailSource.objects.filter(name=options["source"]).first()
            if source is None:
                names = ", ".join(MailSource.objects.values_list("name", flat=True)) or "none"
                raise CommandError(
                    f"No mail source named {options['source']!r} (sources: {names})."
                )
        report = explain(raw, source=source)
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(as_text(report))
