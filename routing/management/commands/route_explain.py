"""Show what routing would do with a raw message, and why, without changing anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conduit.models import InboundMessage, MailSource
from conduit.store import read_raw
from routing.explain import as_text, explain


class Command(BaseCommand):
    help = (
        "Dry-run routing for a raw message (.eml, or - for standard input): the blocked-sender "
        "check, the thread decision, each rule in order with which conditions matched, and the "
        "final actions. Nothing is stored, sent or counted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file", metavar="FILE", nargs="?", help="raw message file, or - for stdin"
        )
        parser.add_argument(
            "--inbound", type=int, metavar="ID", help="a stored inbound message instead of a file"
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--source",
            metavar="NAME",
            help="as if fetched from this mail source (its default ticketbox applies)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw, source = self._message(options)
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

    def _message(self, options: dict[str, Any]) -> tuple[bytes, MailSource | None]:
        path, inbound_id = options["file"], options["inbound"]
        if (path is None) == (inbound_id is None):
            raise CommandError("Give a FILE (or - for standard input), or --inbound ID.")
        if inbound_id is not None:
            inbound = InboundMessage.objects.select_related("source").filter(pk=inbound_id).first()
            if inbound is None:
                raise CommandError(f"There is no inbound message {inbound_id}.")
            return read_raw(inbound), inbound.source
        try:
            return (sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()), None
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
