"""End-to-end ingest benchmark: N mails in a real Dovecot → fetched, stored, routed into tickets.

    python bench/ingest.py [--messages 10000] [--protocol imap|pop3] [--workers 2]

Uses PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mailflow_bench,
recreated for each run) and a throwaway Dovecot on loopback. With --workers 0 one process
fetches and routes inline (the `conduit_fetch` path); with --workers N the fetch hands
routing to N Celery worker processes over Redis (the production shape). Prints
messages/second end to end and the peak resident memory of every process.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBJECTS = [
    "Order {n} has not arrived",
    "Invoice question for account {n}",
    "Cannot log in since yesterday",
    "Refund request #{n}",
    "Feature request: export to CSV",
]


def bench_mail(index: int, rng: random.Random) -> bytes:
    """A realistic customer mail of 2–40 KB: two in three carry an HTML alternative (as most
    mail clients send), one in ten a small attachment."""
    sender = rng.randrange(2000)
    lines = [
        f"Line {i} of my message about the problem, with some detail to read."
        for i in range(rng.choice([20, 60, 200, 500]))
    ]
    text = "\r\n".join(lines)
    subject = rng.choice(SUBJECTS).format(n=index)
    head = (
        f"From: Customer {sender} <customer{sender}@example.net>\r\n"
        "To: support@example.com\r\n"
        f"Subject: {subject}\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <bench-{index}@example.net>\r\nMIME-Version: 1.0\r\n"
    )
    body = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
    if index % 3:
        html = (
            '<div dir="ltr"><p style="margin:0">Hello,</p>'
            + "".join(
                f'<p>{line} <b>Order</b> <a href="https://shop.example.com/o/{index}">'
                f"details</a></p>"
                for line in lines[:80]
            )
            + '<img src="https://tracker.example.net/p.gif" width="1" height="1">'
            + "<div>-- <br>Sent from my phone</div></div>"
        )
        body = (
            'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n--alt\r\n'
            + body
            + "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            + html
            + "\r\n--alt--\r\n"
        )
    if index % 10:
        return (head + body).encode()
    payload = "QmVuY2ggYXR0YWNobWVudA==\r\n" * 100
    return (
        head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n' + body + "--b\r\n"
        'Content-Type: application/octet-stream; name="log.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + payload + "--b--\r\n"
    ).encode()


def prepare_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--protocol", choices=["imap", "pop3"], default="imap")
    parser.add_argument(
        "--workers", type=int, default=2, help="Celery routing workers (0: route inline)"
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailflow_bench")
    media = tempfile.mkdtemp(prefix="mf-bench-media-")
    broker = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    from cryptography.fernet import Fernet

    # Production settings (DEBUG off): what is measured is what runs in production.
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mailflow.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 50),
        MAILFLOW_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL=url,
        MEDIA_ROOT=media,
        LOG_LEVEL="WARNING",
        CELERY_BROKER_URL=broker,
        CELERY_RESULT_BACKEND=broker,
    )
    prepare_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    from conduit.fetch import fetch_source
    from conduit.models import InboundMessage, MailSource
    from routing.services import route_batch
    from tests.integration.dovecot import PASSWORD, USER, Dovecot
    from tests.integration.workers import start_worker
    from tickets.models import Message, Ticket

    call_command("migrate", verbosity=0)
    dovecot = Dovecot()
    dovecot.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        rng = random.Random(7)
        total_bytes = 0
        for index in range(args.messages):
            raw = bench_mail(index, rng)
            total_bytes += len(raw)
            dovecot.deliver(raw)
        source = MailSource(
            name="bench",
            protocol=args.protocol,
            host="127.0.0.1",
            port=dovecot.ports[args.protocol],
            security="none",
            username=USER,
        )
        source.password = PASSWORD
        source.save()

        if args.workers:
            import redis

            redis.Redis.from_url(broker).flushdb()
            for n in range(args.workers):
                workers.append(
                    start_worker(
                        dict(os.environ),
                        None,
                        Path(media) / f"worker-{n}.log",
                        loglevel=os.environ.get("BENCH_WORKER_LOGLEVEL", "WARNING"),
                    )
                )
            time.sleep(3)  # let the workers connect before the clock starts

        started = time.perf_counter()
        if os.environ.get("BENCH_DEBUG"):
            from mailflow.celery import app

            print("client broker:", app.conf.broker_url, flush=True)
        if args.workers:
            from routing.tasks import enqueue_routes

            report = fetch_source(source, after_store=enqueue_routes)
            fetched_at = time.perf_counter()
            while InboundMessage.objects.filter(state="stored").exists():
                time.sleep(0.2)
        else:
            report = fetch_source(source, after_store=route_batch)
            fetched_at = time.perf_counter()
        elapsed = time.perf_counter() - started

        assert report.ok, report.error
        routed = InboundMessage.objects.filter(state="routed").count()
        assert routed == args.messages, f"{routed} of {args.messages} routed"
        assert Message.objects.count() == args.messages
        peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"ingest: {args.messages} messages ({total_bytes / 1e6:.1f} MB) over {args.protocol}, "
            f"{'inline routing' if not args.workers else f'{args.workers} routing workers'}, "
            f"PostgreSQL"
        )
        print(f"  fetched+stored in {fetched_at - started:.1f} s, all routed in {elapsed:.1f} s")
        print(f"  {args.messages / elapsed:.0f} messages/second end to end")
        print(f"  {Ticket.objects.count()} tickets")
        print(
            f"  peak RSS: fetcher {peak_self:.0f} MB, largest worker/child {peak_children:.0f} MB"
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        dovecot.destroy()
        import shutil

        if os.environ.get("BENCH_DEBUG"):
            for log in Path(media).glob("worker-*.log"):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
