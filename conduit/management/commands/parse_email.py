"""Parse .eml files with the conduit's MIME parser and show what it made of them."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conduit.mime import ParsedMessage, parse_file


class Command(BaseCommand):
    help = (
        "Parse raw mail files and print a summary per file, or with --json one JSON object per "
        "line. Exits non-zero only when a file could not be read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="raw message (.eml) files")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args: Any, **options: Any) -> None:
        unreadable = 0
        for path in options["files"]:
            message, readable = parse_file(path)
            unreadable += not readable
            if options["json"]:
                self.stdout.write(json.dumps(message.as_json(file=path)))
            else:
                self.stdout.write(summary(path, message))
        if unreadable:
            raise CommandError(f"{unreadable} file(s) could not be read", returncode=1)


def summary(path: str, message: ParsedMessage) -> str:
    """A few human-readable lines about one parsed message."""
    sender = message.from_
    flags = [
        name
        for name, on in (
            ("auto-submitted", message.auto_submitted),
            ("delivery report", message.delivery_report),
        )
        if on
    ]
    lines = [
        f"{path}",
        f"  From:     {f'{sender.name} <{sender.address}>' if sender else '(none)'}",
        f"  Subject:  {message.subject or '(none)'}",
        f"  Date:     {message.date.isoformat() if message.date else '(none)'}",
        f"  Body:     {len(message.text)} characters of text"
        + (", HTML" if message.html is not None else ""),
        f"  Priority: {message.priority}" + (f" ({', '.join(flags)})" if flags else ""),
    ]
    lines += [
        f"  Attached: {item.filename} ({item.content_type}, {item.size} bytes"
        + (", inline" if item.inline else "")
        + ")"
        for item in message.attachments
    ]
    lines += [f"  Defect:   {defect}" for defect in message.defects]
    return "\n".join(lines)
