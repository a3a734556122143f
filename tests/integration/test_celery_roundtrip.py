"""A real Celery worker takes a task off a real broker, runs it and returns the result.

Two brokers: Redis (production) and kombu's filesystem transport (the embedded default
that `make run` uses). The worker is a separate process started here, with mailflow's
own Celery app.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from tests.integration.workers import start_worker, stop_workers

pytestmark = pytest.mark.integration


@pytest.fixture
def stop_worker() -> Iterator[list[subprocess.Popen[bytes]]]:
    workers: list[subprocess.Popen[bytes]] = []
    yield workers
    stop_workers(workers)


def _round_trip(client: Celery, queue: str, log: Path) -> None:
    payload = uuid.uuid4().hex
    result = client.send_task("mailflow.ping", args=[payload], queue=queue)
    try:
        answer = result.get(timeout=60)
    except Exception:
        print(log.read_text(errors="replace"))
        raise
    assert answer["pong"] == payload
    assert answer["worker"]


@pytest.mark.redis
def test_worker_runs_a_task_through_redis(
    redis_url: str, tmp_path: Path, stop_worker: list[subprocess.Popen[bytes]]
) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = {
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "MAILFLOW_VAR_DIR": str(tmp_path / "var"),
    }
    stop_worker.append(start_worker(env, queue, log))
    client = Celery(broker=redis_url, backend=redis_url)
    client.conf.update(task_serializer="json", accept_content=["json"])
    _round_trip(client, queue, log)


def test_worker_runs_a_task_through_the_embedded_filesystem_broker(
    tmp_path: Path, stop_worker: list[subprocess.Popen[bytes]]
) -> None:
    var = tmp_path / "var"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    # No broker or backend in the environment: the worker uses mailflow's embedded default.
    env = {"MAILFLOW_VAR_DIR": str(var), "CELERY_BROKER_URL": "", "CELERY_RESULT_BACKEND": ""}
    stop_worker.append(start_worker(env, queue, log))
    folders = {name: var / "celery" / name for name in ("queue", "processed", "control", "results")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    client = Celery(broker="filesystem://", backend=f"file://{folders['results']}")
    client.conf.update(
        broker_transport_options={
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]),
            "control_folder": str(folders["control"]),
        },
        task_serializer="json",
        accept_content=["json"],
    )
    _round_trip(client, queue, log)
