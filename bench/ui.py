"""UI benchmark: server time of the ticket list, the ticket view and search at 1M tickets.

    python bench/ui.py [--requests 50] [--seed] [--explain MS] [--tickets 1000000]
                       [--messages-per-ticket 3]
                       [--database-url postgres://postgres@127.0.0.1:5432/mailflow_bench_ui]

Runs against the database bench/seed_ui.py fills (seeded first when it does not exist, or
again with --seed), with production settings (DEBUG off), through Django's test Client:
the whole server side of each request (middleware, session, queries, template), without
the network. Logged in as "bench.agent" (not an administrator; may read most ticketboxes)
and as "bench.admin", it times N requests per page and prints p50 / p95 / max against the
targets: p95 under 100 ms for lists and the ticket view, under 300 ms for search. Then
one request's queries and their time, and the median CPU time the web process spent per
request (Python: middleware, views, templates). Timings are wall-clock: on a busy machine
they include waiting for a CPU, which "cpu ms" does not; the load average is printed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import seed_ui  # noqa: E402

LIST_TARGET_MS = 100
SEARCH_TARGET_MS = 300


@dataclass
class Page:
    name: str
    target_ms: int
    paths: Callable[[int], str]  # the request's path, by request number


def database_exists(url: str) -> bool:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if found is None:
        return False
    with psycopg.connect(url) as conn:
        seeded = conn.execute("SELECT to_regclass('tickets_ticket') IS NOT NULL").fetchone()
        return bool(seeded and seeded[0]) and bool(
            conn.execute("SELECT 1 FROM auth_user WHERE username = %s", [seed_ui.AGENT]).fetchone()
        )


def pages(agent: Any) -> list[Page]:
    """What is timed, with paths chosen from the seeded data."""
    from django.db.models import Count
    from django.urls import reverse

    from contacts.models import ContactEmail
    from tickets import listing
    from tickets.models import Ticket
    from tickets.selectors import visible_tickets
    from tickets.views.common import profile_of

    visible = visible_tickets(agent)
    biggest = (
        visible.values("ticketbox").annotate(n=Count("id")).order_by("-n").first() or {}
    ).get("ticketbox")
    box_url = reverse("desk:ticketbox", args=[biggest])
    active = visible.filter(ticketbox=biggest).exclude(status=Ticket.Status.CLOSED).count()
    # The deepest page the list offers (it counts up to listing.COUNT_UP_TO tickets).
    deep = max(1, min(active, listing.COUNT_UP_TO) // profile_of(agent).rows_per_page)
    every = max(1, visible.count() // 1000)
    numbers = list(visible.order_by("number").values_list("number", flat=True)[::every][:1000])
    addresses = list(
        ContactEmail.objects.filter(contact__tickets__in=visible.filter(ticketbox=biggest))
        .order_by("contact_id")
        .values_list("address", flat=True)[:200]
    )
    search = reverse("desk:search")
    return [
        Page("list: ticketbox, page 1", LIST_TARGET_MS, lambda n: box_url),
        Page(f"list: ticketbox, page {deep}", LIST_TARGET_MS, lambda n: f"{box_url}?page={deep}"),
        Page("list: my tickets", LIST_TARGET_MS, lambda n: reverse("desk:mine")),
        Page("list: ticketbox, all statuses", LIST_TARGET_MS, lambda n: f"{box_url}?status=all"),
        Page(
            "list: filtered + sorted",
            LIST_TARGET_MS,
            lambda n: f"{box_url}?status=all&priority=3&owner=none&sort=-created",
        ),
        Page(
            "ticket view",
            LIST_TARGET_MS,
            lambda n: reverse("desk:ticket", args=[numbers[(n * 37) % len(numbers)]]),
        ),
        Page(
            f"search: common word ({seed_ui.COMMON_WORD})",
            SEARCH_TARGET_MS,
            lambda n: f"{search}?q={seed_ui.COMMON_WORD}",
        ),
        Page(
            f"search: 2nd page of {seed_ui.COMMON_WORD}",
            SEARCH_TARGET_MS,
            lambda n: f"{search}?q={seed_ui.COMMON_WORD}&page=2",
        ),
        Page(
            f"search: medium word ({seed_ui.MEDIUM_WORD})",
            SEARCH_TARGET_MS,
            lambda n: f"{search}?q={seed_ui.MEDIUM_WORD}",
        ),
        Page(
            f"search: rare word ({seed_ui.RARE_WORD})",
            SEARCH_TARGET_MS,
            lambda n: f"{search}?q={seed_ui.RARE_WORD}",
        ),
        Page(
            "search: two words",
            SEARCH_TARGET_MS,
            lambda n: f"{search}?q={seed_ui.MEDIUM_WORD}+{seed_ui.COMMON_WORD}",
        ),
        Page(
            "search: contact address",
            SEARCH_TARGET_MS,
            lambda n: f"{search}?q={addresses[(n * 7) % len(addresses)]}",
        ),
        Page(
            "search: ticket number",
            SEARCH_TARGET_MS,
            lambda n: f"{search}?q=%23{numbers[(n * 53) % len(numbers)]}",
        ),
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(
    client: Any, page: Page, requests: int, explain_ms: float | None = None
) -> tuple[list[float], int, float, float]:
    """Timings of ``requests`` requests, the queries of one and their time, and the
    median CPU time of this (the web) process per request."""
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for n in range(2):  # warm: connection, caches, the first page of the data
        client.get(page.paths(n), secure=True)
    request_started.disconnect(reset_queries)  # would empty the capture mid-request
    try:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.paths(0), secure=True)
    finally:
        request_started.connect(reset_queries)
    if response.status_code != 200:
        raise SystemExit(f"{page.name}: {page.paths(0)} answered {response.status_code}")
    captured = list(queries.captured_queries)
    sql_ms = sum(float(query["time"]) for query in captured) * 1000
    if explain_ms is not None:
        explain_slow(captured, explain_ms)
    timings, cpu = [], []
    for n in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(page.paths(n), secure=True)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (page.paths(n), response.status_code)
    return timings, len(captured), sql_ms, statistics.median(cpu)


def explain_slow(captured: list[dict[str, Any]], slower_than_ms: float) -> None:
    """EXPLAIN ANALYZE of each captured query slower than the threshold."""
    from django.db import connection

    for query in captured:
        if float(query["time"]) * 1000 < slower_than_ms:
            continue
        print(f"\n  -- {float(query['time']) * 1000:.0f} ms: {query['sql'][:2000]}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            for (line,) in cursor.fetchall():
                print(f"  {line}")
    print()


def run(requests: int, *, explain_ms: float | None = None) -> bool:
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model().objects
    met = True
    print(
        f"{'page':40} {'user':12} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'queries':>7} "
        f"{'sql ms':>7} {'cpu ms':>7}"
    )
    for username in (seed_ui.AGENT, seed_ui.ADMIN):
        user = users.get(username=username)
        client = Client()
        client.force_login(user)
        for page in pages(user):
            timings, queries, sql_ms, cpu_ms = measure(client, page, requests, explain_ms)
            p50, p95 = statistics.median(timings), percentile(timings, 0.95)
            verdict = "ok" if p95 < page.target_ms else f"MISSED (target {page.target_ms})"
            met = met and p95 < page.target_ms
            print(
                f"{page.name:40} {username:12} {p50:7.1f} {p95:7.1f} {max(timings):7.1f} "
                f"{queries:7} {sql_ms:7.1f} {cpu_ms:7.1f}  {verdict}",
                flush=True,
            )
    return met


def main() -> None:
    parser = seed_ui.parser()
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument(
        "--seed", action="store_true", help="seed the database again even when it exists"
    )
    parser.add_argument(
        "--explain",
        type=float,
        metavar="MS",
        help="print EXPLAIN ANALYZE of every query slower than this",
    )
    args = parser.parse_args()
    # Production static files (hashed names from a manifest), as DEBUG off requires.
    os.environ["STATIC_ROOT"] = tempfile.mkdtemp(prefix="mf-bench-static-")
    if args.seed or not database_exists(args.database_url):
        seed_ui.seed(args)
    else:
        seed_ui.setup_django(args.database_url)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"UI benchmark on {args.database_url}, {args.requests} requests per page, DEBUG off")
    print(f"load average before: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    met = run(args.requests, explain_ms=args.explain)
    print(f"load average after: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    print("all targets met" if met else "some targets missed")


if __name__ == "__main__":
    main()
