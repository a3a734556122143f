"""Spool benchmark: 10,000 queued replies sent to a local SMTP sink.

    python bench/spool.py [--messages 10000] [--concurrency 16] [--batch 500]

Seeds the replies (files and one bulk insert) in PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/mailflow_bench_spool, recreated each run), starts an
aiosmtpd sink in a process of its own on loopback, then runs ``send_due`` rounds, as the beat
tick does, until nothing is due. Prints messages/second (the target is at least 500), and
checks that the sink got every message once and every row says sent.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import prepare_database  # noqa: E402


def start_sink(port: int) -> subprocess.Popen[str]:
    sink = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.smtp", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sink.stdout is not None
    if sink.stdout.readline().strip() != "ready":
        raise SystemExit("the SMTP sink did not start")
    return sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16, help="connections in flight")
    parser.add_argument("--batch", type=int, default=500, help="messages per round")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailflow_bench_spool")
    media = tempfile.mkdtemp(prefix="mf-bench-spool-")
    # Production settings (DEBUG off): what is measured is what runs in production.
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mailflow.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 50),
        DATABASE_URL=url,
        MEDIA_ROOT=media,
        LOG_LEVEL="WARNING",
        MAILFLOW_SPOOL_BATCH=str(args.batch),
    )
    prepare_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    from conduit.models import OutboundMessage
    from conduit.spool import SpoolRound, send_due
    from tests.integration.smtp import SmtpServer, bulk_spool, destination_for, free_port

    call_command("migrate", verbosity=0)
    port = free_port()
    sink = start_sink(port)
    try:
        destination_for(SmtpServer(port=port), concurrency=args.concurrency)
        begin = time.perf_counter()
        bulk_spool(args.messages, tag="bench")
        seed_s = time.perf_counter() - begin

        total, rounds = SpoolRound(), 0
        cpu = time.process_time()
        begin = time.perf_counter()
        while True:
            spool_round = send_due()
            if not spool_round.claimed:
                break
            total.add(spool_round)
            rounds += 1
        send_s = time.perf_counter() - begin
        cpu = time.process_time() - cpu
    finally:
        sink.send_signal(signal.SIGTERM)
        received, _ = sink.communicate(timeout=60)
        sink_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        shutil.rmtree(media, ignore_errors=True)

    sent = OutboundMessage.objects.filter(state=OutboundMessage.State.SENT).count()
    print(
        f"spool: {args.messages} replies to an SMTP sink on loopback, PostgreSQL, "
        f"{args.concurrency} connections, rounds of {args.batch}"
    )
    print(f"  seeded in {seed_s:.1f} s")
    print(
        f"  sent: {args.messages / send_s:,.0f} messages/second ({send_s:.1f} s, {rounds} "
        f"rounds; {total})"
    )
    print(
        f"  CPU: this process {cpu:.1f} s, the sink {sink_cpu.ru_utime + sink_cpu.ru_stime:.1f} s "
        f"(on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})"
    )
    print(f"  sink: {received.strip()}; {sent} rows marked sent")
    if sent != args.messages:
        raise SystemExit("not every message was sent")


if __name__ == "__main__":
    main()
