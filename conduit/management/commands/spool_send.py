"""python manage.py spool_send [--until-empty]: send the outbound spool's due mail now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from conduit.spool import SpoolRound, send_due


class Command(BaseCommand):
    help = (
        "Send the outbound mail that is due (queued, or deferred and due for a retry): one "
        "round of at most MAILFLOW_SPOOL_BATCH messages, or rounds until nothing is due."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until-empty", action="store_true", help="Keep sending until nothing is due."
        )
        parser.add_argument("--limit", type=int, default=None, help="Messages per round.")

    def handle(self, *args: Any, **options: Any) -> None:
        total = SpoolRound()
        while True:
            spool_round = send_due(limit=options["limit"])
            total.add(spool_round)
            if not options["until_empty"] or not spool_round.claimed:
                break
            if spool_round.claimed == spool_round.no_destination:
                break  # nothing can be sent until a destination is configured
        self.stdout.write(str(total))
