"""Real Celery worker processes for integration tests, started with mailflow's own app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery import Celery

ROOT = Path(__file__).resolve().parents[2]


def start_worker(
    env: dict[str, str], queue: str | None, log: Path, *, loglevel: str = "info"
) -> subprocess.Popen[bytes]:
    """A solo-pool worker (on one queue, or the default one); an empty value in ``env``
    removes that variable; DEBUG is on unless ``env`` says otherwise."""
    full_env = {**os.environ, "DEBUG": "1", **env}
    for name, value in env.items():
        if not value:
            full_env.pop(name)
    queues = ["--queues", queue] if queue else []
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mailflow",
            "worker",
            "--pool",
            "solo",
            *queues,
            "--loglevel",
            loglevel,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def worker_env(redis_url: str, database_url: str, settings: Any, var_dir: Path) -> dict[str, str]:
    """What a worker needs to share the test's broker, database and media folder."""
    return {
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": "",
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "MAILFLOW_VAR_DIR": str(var_dir),
    }


@contextmanager
def two_workers(
    env: dict[str, str], prefix: str, log_dir: Path
) -> Iterator[tuple[Celery, list[str], list[Path]]]:
    """Two workers, each on a queue of its own, and a client to send them tasks: yields
    (client, queues, log files)."""
    queues = [f"{prefix}-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    logs = [log_dir / f"worker-{n}.log" for n in range(2)]
    processes = [start_worker(env, queue, log) for queue, log in zip(queues, logs, strict=True)]
    client = Celery(broker=env["CELERY_BROKER_URL"])
    client.conf.update(task_serializer="json", accept_content=["json"])
    try:
        yield client, queues, logs
    finally:
        stop_workers(processes)
