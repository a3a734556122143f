"""Reports benchmark: each report's page at 1M tickets / 3M messages, and a ~1M-row
Excel export's time and peak memory.

    python bench/reports.py [--runs 20] [--days 365] [--skip-export]
                            [--database-url postgres://postgres@127.0.0.1:5432/mailflow_bench_ui]

Runs against the database bench/seed_ui.py fills (seed it first: about 12 minutes). The
seeder makes no outbound mail, alerts or escalations, so the first run adds them here
in bulk with INSERT … SELECT (one outbound mail per reply, in a spread of states and
bounce categories; an escalation and an alert per fifty tickets), then ANALYZE.

Pages are fetched through Django's test Client with production settings (DEBUG off): the
whole server side of a request (session, form, queries, SVG chart, template). Logged in
as "bench.admin" (every ticket) and "bench.agent" (a supervisor through a group here,
reading most ticketboxes), it prints p50 / p95 / max for the Reports page (its overview
of the last 30 days) and per report for a one-year range against the target (p95 under
1 s). Then the export of every ticket (three years, about a million rows) runs in a
child process, to report its wall time and the child's peak RSS (targets: under 90 s and
under 300 MB).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is bench/reports.py: keep its folder off the path, or "import reports" (the
# Django app) would find this script instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import seed_ui  # noqa: E402

PAGE_TARGET_MS = 1000
EXPORT_TARGET_S = 90
EXPORT_TARGET_MB = 300

EXTRA_ROWS = [
    # One outbound mail per reply: mostly sent; some deferred, failed, bounced.
    """
    INSERT INTO conduit_outboundmessage
        (kind, ticket_id, ticket_message_id, message_id, envelope_from, recipients, subject,
         raw, size, state, attempts, next_attempt_at, last_error, created_at, sent_at,
         smtp_status, smtp_text, bounce_category, bounce_hard, bounce_recipient,
         bounce_status, bounce_diagnostic, open_count, click_count)
    SELECT 'reply', m.ticket_id, m.id, m.message_id, 'support@example.com', '[]', '',
           'spool/bench.eml', m.size,
           CASE WHEN m.id % 100 < 90 THEN 'sent' WHEN m.id % 100 < 93 THEN 'deferred'
                WHEN m.id % 100 < 96 THEN 'failed' ELSE 'bounced' END,
           1, m.date, '', m.date,
           CASE WHEN m.id % 100 < 90 THEN m.date + interval '5 seconds' END,
           '', '',
           CASE WHEN m.id % 100 >= 96 THEN (ARRAY['user_unknown', 'mailbox_full',
                'host_unknown', 'rejected_policy'])[1 + m.id % 4] ELSE '' END,
           CASE WHEN m.id % 100 >= 96 THEN m.id % 4 <> 1 END,
           '', '', '', 0, 0
    FROM tickets_message m WHERE m.direction = 'out'
    """,
    """
    INSERT INTO tickets_ticketevent (kind, detail, created_at, actor_id, ticket_id)
    SELECT 'escalated', '{}', t.created_at + interval '8 hours', NULL, t.id
    FROM tickets_ticket t WHERE t.id % 50 = 0
    """,
    """
    INSERT INTO alerts_alert (kind, severity, title, body, ticket_id, ticketbox_id,
                              created_at, emailed_to)
    SELECT 'escalation', 'warning', 'Ticket escalated', '', t.id, t.ticketbox_id,
           t.created_at + interval '8 hours', ''
    FROM tickets_ticket t WHERE t.id % 50 = 0
    """,
]


def add_delivery_and_alerts(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT EXISTS (SELECT 1 FROM conduit_outboundmessage)").fetchone()
        if found and found[0]:
            return
        started = time.monotonic()
        for statement in EXTRA_ROWS:
            conn.execute(statement)
        conn.commit()
        conn.autocommit = True
        for table in ("conduit_outboundmessage", "tickets_ticketevent", "alerts_alert"):
            conn.execute(f"ANALYZE {table}")
        print(f"outbound mail, escalations and alerts added: {time.monotonic() - started:.0f} s")


def make_supervisor() -> None:
    """bench.agent reports through a Supervisors group (its ticketbox rights stay)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="Supervisors")
    group.permissions.add(Permission.objects.get(codename="view_reports"))
    get_user_model().objects.get(username=seed_ui.AGENT).groups.add(group)


def time_pages(runs: int, days: int) -> list[tuple[str, str, float, float, float]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from reports.registry import REPORTS

    today = timezone.localdate()
    query = {
        "date_from": (today - timedelta(days=days - 1)).isoformat(),
        "date_to": today.isoformat(),
    }
    results = []
    for who in (seed_ui.ADMIN, seed_ui.AGENT):
        client = Client()
        client.force_login(get_user_model().objects.get(username=who))
        # The Reports page itself (its overview: the last 30 days against the 30 before),
        # then every report for the range.
        pages = [("reports (overview)", reverse("desk:reports"), {})]
        pages += [(name, reverse("desk:report", args=[name]), query) for name in REPORTS]
        for name, url, asked in pages:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.get(url, asked, secure=True)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (name, response.status_code)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            results.append((who, name, statistics.median(times), p95, times[-1]))
            print(f"  {who:12} {name:20} p50 {results[-1][2]:6.0f} ms  p95 {p95:6.0f} ms"
                  f"  max {times[-1]:6.0f} ms", flush=True)  # fmt: skip
    return results


def export_everything(out: str) -> None:
    """The child process: every ticket of three years and more, as the admin sees them."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from reports.exports import write_export
    from reports.registry import REPORTS
    from reports.table import Filters

    admin = get_user_model().objects.get(username=seed_ui.ADMIN)
    today = timezone.localdate()
    filters = Filters(date_from=today - timedelta(days=4 * 366), date_to=today)
    started = time.monotonic()
    rows = write_export(REPORTS["ticket_list"], admin, filters, out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"EXPORT {rows} {time.monotonic() - started:.1f} {peak:.0f}")


def time_export(url: str) -> tuple[int, float, float]:
    out = str(ROOT / "var" / "bench-export.xlsx")
    command = [sys.executable, __file__, "--database-url", url, "--export-child", out]
    started = time.monotonic()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.monotonic() - started
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("EXPORT ")][-1]
    _, rows, seconds, peak = line.split()
    size = os.path.getsize(out) / 1e6
    print(f"  export: {int(rows):,} rows in {float(seconds):.1f} s "
          f"(process {wall:.1f} s), peak RSS {float(peak):.0f} MB, file {size:.0f} MB")  # fmt: skip
    return int(rows), float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=seed_ui.DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--export-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Production static files (hashed names from a manifest), as DEBUG off requires.
    os.environ["STATIC_ROOT"] = tempfile.mkdtemp(prefix="mf-bench-static-")
    seed_ui.setup_django(args.database_url)
    if args.export_child:
        export_everything(args.export_child)
        return
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)

    call_command("migrate", "reports", verbosity=0)
    add_delivery_and_alerts(args.database_url)
    make_supervisor()
    print(f"report pages, {args.days}-day range, {args.runs} runs each "
          f"(load average {os.getloadavg()[0]:.1f}):")  # fmt: skip
    pages = time_pages(args.runs, args.days)
    slow = [(who, name, p95) for who, name, _, p95, _ in pages if p95 > PAGE_TARGET_MS]
    print(f"worst p95: {max(p[3] for p in pages):.0f} ms (target {PAGE_TARGET_MS} ms); "
          f"over target: {slow or 'none'}")  # fmt: skip
    if not args.skip_export:
        _, seconds, peak = time_export(args.database_url)
        ok = seconds < EXPORT_TARGET_S and peak < EXPORT_TARGET_MB
        print(f"export targets (< {EXPORT_TARGET_S} s, < {EXPORT_TARGET_MB} MB): "
              f"{'met' if ok else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
