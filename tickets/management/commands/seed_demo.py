"""``manage.py seed_demo``: load the demo help desk into a fresh database (see tickets/demo.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets import demo


class Command(BaseCommand):
    help = (
        "Load demo data (ticketboxes, agents, contacts, standard responses and tickets) into "
        "a fresh database and print the admin login. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tickets",
            type=int,
            default=demo.DEFAULT_TICKETS,
            help=f"Number of tickets to create (default {demo.DEFAULT_TICKETS}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help="Seed for the random generator; the same seed gives the same demo.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tickets"] < 0:
            raise CommandError("--tickets cannot be negative.")
        result = demo.seed_demo(tickets=options["tickets"], seed=options["seed"])
        if result.outcome is demo.Outcome.SKIPPED:
            self.stderr.write(
                self.style.WARNING(
                    "This database already has users or tickets but no demo data; "
                    "seed_demo only fills a fresh database. Nothing changed."
                )
            )
            return
        if result.outcome is demo.Outcome.CREATED:
            self._summary(result)
        else:
            self.stdout.write("Demo data is already loaded; nothing changed.")
        if result.login:
            username, password = result.login
            self.stdout.write(f"Demo login: {username} / {password}")
            self.stdout.write(
                "The agents alice, bob and carol (a supervisor: she sees Reports) share "
                "that password."
            )
        else:
            self.stderr.write(
                self.style.WARNING(
                    f"The demo login file {result.login_file} is missing; set a new password "
                    f"with: python manage.py changepassword {demo.ADMIN_USERNAME}"
                )
            )

    def _summary(self, result: demo.SeedResult) -> None:
        c = result.counts
        rows = [
            ("ticketboxes", f"{c['ticketboxes']} ({c['inbound_addresses']} inbound addresses)"),
            ("agents", f"{c['agents']} in {c['groups']} groups"),
            (
                "contacts",
                f"{c['contacts']} ({c['contact_addresses']} addresses, "
                f"{c['contact_fields']} custom fields)",
            ),
            (
                "standard responses",
                f"{c['responses']} in {c['response_categories']} categories",
            ),
            (
                "tickets",
                f"{c['tickets']} (#{c['first_number']}-#{c['last_number']}): "
                f"{c['status_open']} open, {c['status_on_hold']} on hold, "
                f"{c['status_waiting']} waiting, {c['status_closed']} closed, "
                f"{c['trash']} in the trash"
                if c["tickets"]
                else "0",
            ),
            (
                "messages",
                f"{c['messages']}, with {c['notes']} notes and {c['events']} history entries",
            ),
        ]
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {result.seconds:.1f}s:"))
        for label, value in rows:
            self.stdout.write(f"  {label:<19} {value}")
        self.stdout.write(f"Login saved in {result.login_file}")
