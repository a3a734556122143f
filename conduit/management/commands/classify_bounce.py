"""python manage.py classify_bounce FILE... [--json]: what each delivery report says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conduit.bounces import classify

# A --json line for ordinary mail (no report, no automatic answer, not to our return path).
EMPTY = {
    "category": None,
    "hard": False,
    "recipient": None,
    "status": None,
    "diagnostic": "",
    "original_message_id": None,
}


class Command(BaseCommand):
    help = (
        "Classify raw mail files as delivery reports (bounces, delays), auto-replies, "
        "challenge-response checks or replies to our return path. With --json one line per "
        "file with the keys file, category, hard, recipient, status, diagnostic and "
        "original_message_id; category is null for ordinary mail, and user_reply for a "
        "person's mail to one of our return paths. Exits 1 when a file could not be read "
        "(after the others)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="raw mail (.eml) files")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def handle(self, *args: Any, **options: Any) -> None:
        unreadable = 0
        rows = []
        for path in options["files"]:
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                unreadable += 1
                self.stderr.write(f"{path}: cannot read: {exc.strerror or exc}")
                continue
            report = classify(raw)
            row = report.as_json(file=path) if report else {"file": path, **EMPTY}
            if options["json"]:
                self.stdout.write(json.dumps(row))
            else:
                rows.append(row)
        if rows:
            self.stdout.write(table(rows))
        if unreadable:
            raise CommandError(f"{unreadable} file(s) could not be read", returncode=1)


def table(rows: list[dict[str, Any]]) -> str:
    """A readable table: file, category, hard/soft, status, recipient, then the diagnostic."""
    heads = ("FILE", "CATEGORY", "HARD", "STATUS", "RECIPIENT")
    cells = [
        (
            str(row["file"]),
            row["category"] or "(not a report)",
            ("hard" if row["hard"] else "soft") if row["category"] else "",
            row["status"] or "",
            row["recipient"] or "",
        )
        for row in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    for row, line in zip(rows, cells, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if row["diagnostic"]:
            lines.append(f"    {row['diagnostic'][:200]}")
    return "\n".join(lines)
