"""Kill the sending worker with SIGKILL at random moments: afterwards every message has been
delivered, none lost, and each crash doubled at most one message.

500 replies wait in the spool. `manage.py spool_send --until-empty` runs against the test
database with a one-second lease (so a killed run's messages are claimed again by the next
one) and one connection, to an SMTP sink on loopback that takes each message, then waits a
moment before answering: the window in which a crash leaves a message delivered but not
recorded. Runs are killed at random moments of their start-up and sending until 50 were
killed while running; then runs are let finish until nothing is left. The sink's
Message-IDs must cover all 500 messages, each duplicate must be owed to a crash (at most
one per kill), and every row must say sent.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from conduit.models import OutboundMessage
from tests.integration.smtp import SmtpServer, bulk_spool, destination_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 500
KILLS = 50
LEASE_SECONDS = 1


def _send_process(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sender_killed_at_random_points_loses_nothing_and_doubles_one_per_crash(
    database_url: str,
) -> None:
    rng = random.Random(int(os.environ.get("MAILFLOW_CRASH_SEED", "20261124")))
    sink = SmtpServer(delay=0.01, answer_delay=0.03).start()
    try:
        destination_for(sink, concurrency=1)
        expected = bulk_spool(MESSAGES, tag="crash")
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "MAILFLOW_ENCRYPTION_KEYS": ",".join(settings.MAILFLOW_ENCRYPTION_KEYS),
            "MAILFLOW_SPOOL_LEASE_SECONDS": str(LEASE_SECONDS),
            "MAILFLOW_SPOOL_BATCH": "20",
            "LOG_LEVEL": "WARNING",
        }
        started = time.monotonic()
        _send_process(env, "check").wait(timeout=120)
        startup = time.monotonic() - started

        killed = finished = 0
        while killed < KILLS:
            assert killed + finished < KILLS * 4, "runs keep finishing before they can be killed"
            process = _send_process(env, "spool_send", "--until-empty")
            time.sleep(rng.uniform(startup * 0.8, startup + 0.8))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed += 1
            else:
                finished += 1
            process.wait(timeout=60)

        # What the kills left leased is claimed again once the leases run out.
        for _ in range(10):
            if not OutboundMessage.objects.exclude(state=OutboundMessage.State.SENT).exists():
                break
            time.sleep(LEASE_SECONDS + 0.2)
            last = _send_process(env, "spool_send", "--until-empty")
            _, stderr = last.communicate(timeout=300)
            assert last.returncode == 0, stderr.decode(errors="replace")
    finally:
        sink.stop()

    copies = Counter(sink.message_ids)
    duplicates = sum(copies.values()) - len(copies)
    print(
        f"start-up {startup:.2f} s; {killed} runs killed while running, {finished} finished "
        f"first; {len(sink.message_ids)} deliveries of {len(copies)} messages: {duplicates} "
        f"duplicate(s) for {killed} crash(es)"
    )
    assert set(copies) == set(expected)  # every message delivered, none lost
    assert duplicates <= killed  # one connection: at most one message in flight per crash
    states = Counter(OutboundMessage.objects.values_list("state", flat=True))
    assert states == {OutboundMessage.State.SENT: MESSAGES}
