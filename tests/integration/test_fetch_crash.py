"""Kill the fetcher with SIGKILL at random moments: afterwards every message exists once.

200 distinct mails sit in a real Dovecot mailbox. One run of `manage.py conduit_fetch` over
all of them is timed; then runs (alternating POP3 and IMAP sources on the same mailbox) are
killed at random moments within that time until 50 of them were killed while running.
Whenever the mailbox runs low, already-fetched mails are delivered again (same bytes, new
server uid), so that every run has work to be killed in and the store's deduplication is
exercised too. Then one last run is let finish and stored-but-unrouted mails are routed (the
sweep a worker runs). Each of the 200 mails must exist exactly once, byte for byte, on
exactly one ticket, and the mailbox must be empty.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from conduit.models import InboundMessage, MailSource
from conduit.store import read_raw
from routing.services import route_inbound, unrouted
from tests.integration.dovecot import Dovecot, sample_mail
from tickets.models import Message

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
MAILS = 200
KILLS = 50  # runs that must actually be killed while running


def _fetch_process(source: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "conduit_fetch", "--source", source],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_fetch_killed_at_random_points_loses_and_doubles_nothing(
    dovecot: Dovecot, make_source: Callable[..., MailSource], database_url: str
) -> None:
    rng = random.Random(int(os.environ.get("MAILFLOW_CRASH_SEED", "20261124")))
    mails = [sample_mail(i, size=rng.choice([500, 3_000, 40_000])) for i in range(MAILS)]
    for mail in mails:
        dovecot.deliver(mail)
    make_source("pop3", name="crash-pop3")
    make_source("imap", name="crash-imap")
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "MAILFLOW_ENCRYPTION_KEYS": ",".join(settings.MAILFLOW_ENCRYPTION_KEYS),
        "LOG_LEVEL": "WARNING",
    }

    # How long a run takes to start, and a whole run over the full mailbox, so the kills
    # spread over all of its phases (start-up, listing, download, store, route, delete).
    started = time.monotonic()
    _fetch_process("no-such-source", env).wait(timeout=120)
    startup = time.monotonic() - started
    started = time.monotonic()
    probe = _fetch_process("crash-imap", env)
    assert probe.wait(timeout=300) == 0
    full_run = time.monotonic() - started
    killed = finished = 0
    window = full_run  # kills land in [start-up, window); it adapts to how long runs take
    while killed < KILLS:
        assert killed + finished < KILLS * 6, "runs keep finishing before they can be killed"
        if dovecot.count() < 150:
            for mail in rng.sample(mails, 150):
                dovecot.deliver(mail)
        process = _fetch_process("crash-pop3" if killed % 2 == 0 else "crash-imap", env)
        time.sleep(rng.uniform(startup * 0.3, window))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
            window = min(full_run, window * 1.05)
        else:
            finished += 1
            window = max(startup * 0.6, window * 0.85)
        process.wait(timeout=60)

    # A last run of each, let finish; then the sweep routes what a kill left unrouted.
    for name in ("crash-pop3", "crash-imap"):
        last = _fetch_process(name, env)
        _, stderr = last.communicate(timeout=300)
        assert last.returncode == 0, stderr.decode(errors="replace")
    for pk in unrouted(older_than=timedelta(0)):
        route_inbound(pk)

    print(
        f"start-up {startup:.2f} s, full run {full_run:.2f} s; {killed} runs killed mid-run, "
        f"{finished} finished before the kill came"
    )
    assert dovecot.count() == 0
    stored = list(InboundMessage.objects.all())
    assert len(stored) == MAILS
    assert sorted(hashlib.sha256(read_raw(m)).hexdigest() for m in stored) == sorted(
        hashlib.sha256(m).hexdigest() for m in mails
    )
    assert all(m.state == InboundMessage.State.ROUTED for m in stored)
    assert Message.objects.count() == MAILS
    assert Message.objects.values("inbound").distinct().count() == MAILS
    assert MailSource.objects.filter(lease_holder="").count() == 2
