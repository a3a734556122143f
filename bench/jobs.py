"""Benchmark of one round of the periodic alert jobs at 1,000,000 tickets in 50 ticketboxes.

    python bench/jobs.py [--tickets 1000000] [--ticketboxes 50] [--skip-seed]
                         [--database-url postgres://postgres@127.0.0.1:5432/mailflow_bench_jobs]

Seeds a scratch database with bench/seed_ui.py's COPY loader (its ticket shape, spread
over --ticketboxes ticketboxes, each with an age alert, watermarks and a supervisor; one
escalation rule for all), marks the tickets as the jobs would have left them had they run
all along (warned and escalated where due), then runs ``alerts.jobs.run_all`` twice: the
first round starts with no alerts and no watched states (it learns every ticketbox's
watermark state, alerts the ticketboxes above their marks and the tickets that passed
their age threshold in the last day, escalates what came due since the seed), the second
(a minute later) is the steady state. Prints the time and query count of each round.
Target: under 2 seconds a round.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import seed_ui  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mailflow_bench_jobs"
WARN_HOURS, ESCALATE_HOURS, AGE_MINUTES = 24, 48, 120


def make_people(ticketboxes: int) -> dict[str, Any]:
    """Ticketboxes with alerts configured, agents with access, one escalation rule."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from alerts.models import EscalationRule
    from tickets.models import Ticketbox, TicketboxAccess

    User = get_user_model()
    team = Group.objects.create(name="Team")
    supervisor = User.objects.create_user("bench.supervisor", "supervisor@example.com")
    agents = [supervisor]
    for n in range(1, 20):
        agent = User.objects.create_user(f"agent{n:02}", f"agent{n:02}@example.com")
        agent.groups.add(team)
        agents.append(agent)
    boxes = []
    for n in range(ticketboxes):
        box = Ticketbox.objects.create(
            name=f"Queue {n:02}",
            from_address=f"queue{n:02}@example.com",
            age_alert_minutes=AGE_MINUTES,
            low_watermark=5,
            high_watermark=400 + 20 * n,
            supervisor=supervisor,
        )
        TicketboxAccess.objects.create(ticketbox=box, group=team)
        TicketboxAccess.objects.create(ticketbox=box, agent=supervisor)
        # Zipf-like sizes: a few big queues, a long tail.
        boxes.append((box.pk, box.name, max(1, 1000 // (n + 1))))
    EscalationRule.objects.create(
        name="Two days", warn_after_hours=WARN_HOURS, escalate_after_hours=ESCALATE_HOURS
    )
    return {"boxes": boxes, "agents": [a.pk for a in agents]}


def default_new_columns(conn: Any) -> None:
    """Columns added since seed_ui.py was written (bounce counters, ...) get a database
    default, so its COPY column lists still load."""
    defaults = {"integer": "0", "bigint": "0", "smallint": "0", "boolean": "false"}
    defaults |= {"text": "''", "character varying": "''", "jsonb": "'{}'"}
    rows = conn.execute(
        """
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL
          AND column_name <> 'id'
        """,
        [seed_ui.BIG_TABLES],
    ).fetchall()
    for table, column, kind in rows:
        if kind in defaults:
            conn.execute(
                f'ALTER TABLE {table} ALTER COLUMN "{column}" SET DEFAULT {defaults[kind]}'
            )


def mark_as_watched(url: str, now: float) -> None:
    """What routing and earlier job rounds would have written: when each open ticket began
    waiting for an answer, and warnings and escalations already due before "now"."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            UPDATE tickets_ticket SET awaiting_reply_since = last_customer_message_at
            WHERE status <> 'closed' AND last_customer_message_at IS NOT NULL
              AND (last_agent_message_at IS NULL
                   OR last_agent_message_at < last_customer_message_at)
            """
        )
        conn.execute(
            """
            UPDATE tickets_ticket SET escalation_warned_at = awaiting_reply_since + %s
            WHERE awaiting_reply_since < to_timestamp(%s) - %s
            """,
            [timedelta(hours=WARN_HOURS), now, timedelta(hours=WARN_HOURS)],
        )
        conn.execute(
            """
            UPDATE tickets_ticket SET escalated_at = awaiting_reply_since + %s,
                   escalated_to_id = (SELECT id FROM auth_user
                                      WHERE username = 'bench.supervisor')
            WHERE awaiting_reply_since < to_timestamp(%s) - %s
            """,
            [timedelta(hours=ESCALATE_HOURS), now, timedelta(hours=ESCALATE_HOURS)],
        )
        # One open ticket in fifty heard from the customer in the last 26 hours: the
        # first round has age alerts and warnings to raise.
        conn.execute(
            """
            UPDATE tickets_ticket
            SET awaiting_reply_since = to_timestamp(%s) - (id %% 1560) * interval '1 minute',
                escalation_warned_at = NULL, escalated_at = NULL, escalated_to_id = NULL
            WHERE status <> 'closed' AND deleted_at IS NULL AND id %% 50 = 0
            """,
            [now],
        )
        conn.execute("VACUUM ANALYZE tickets_ticket")


def seed(args: argparse.Namespace) -> None:
    import psycopg

    url = args.database_url
    began = time.monotonic()
    seed_ui.recreate_database(url)
    seed_ui.setup_django(url)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    people = make_people(args.ticketboxes)
    seeder = seed_ui.Seeder(
        argparse.Namespace(
            random_seed=42, tickets=args.tickets, messages_per_ticket=args.messages_per_ticket
        ),
        people,
    )
    seeder.first_number = settings.MAILFLOW["TICKET_NUMBER_START"]
    with psycopg.connect(url) as conn:
        indexes = seed_ui.secondary_indexes(conn)
        with conn.transaction():
            default_new_columns(conn)
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET synchronous_commit = off")
        counts = seed_ui.load(conn, seeder)
    mark_as_watched(url, seeder.now)
    seed_ui.build_indexes(url, indexes)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    print(
        f"seeded {counts['tickets_ticket']:,} tickets in {args.ticketboxes} ticketboxes "
        f"in {time.monotonic() - began:.0f} s"
    )


def run_rounds(args: argparse.Namespace) -> None:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from alerts.jobs import run_all
    from alerts.models import Alert, WatchState

    # Each run starts as the first round ever: no alerts yet, no watched states learnt.
    Alert.objects.all().delete()
    WatchState.objects.all().delete()
    now = timezone.now()
    for label, at in (
        ("first round (catch-up)", now),
        ("second round", now + timedelta(minutes=1)),
    ):
        reset_queries()
        before = Alert.objects.count()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run_all(now=at)
            elapsed = time.perf_counter() - started
        raised = Alert.objects.count() - before
        print(f"{label}: {elapsed:.3f} s, {len(queries)} queries, {raised} alert(s) raised")
        if args.verbose:
            slow = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:5]
            for query in slow:
                print(f"  {query['time']} s  {query['sql'][:300]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--ticketboxes", type=int, default=50)
    parser.add_argument("--messages-per-ticket", type=int, default=2)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="dropped and made again")
    parser.add_argument("--skip-seed", action="store_true", help="reuse the seeded database")
    parser.add_argument("--seed-only", action="store_true", help="seed, run no jobs")
    parser.add_argument("--verbose", action="store_true", help="print the slowest queries")
    args = parser.parse_args()
    if args.skip_seed:
        seed_ui.setup_django(args.database_url)
    else:
        seed(args)
    if not args.seed_only:
        run_rounds(args)


if __name__ == "__main__":
    main()
