"""The conduit's Celery tasks are thin: the beat tick queues one fetch per due source."""

from __future__ import annotations

from typing import Any

import pytest

from conduit import tasks
from conduit.models import MailSource

pytestmark = pytest.mark.django_db


def _source(name: str, **fields: object) -> MailSource:
    source = MailSource(name=name, host="mail.example.com", username="u", **fields)
    source.password = "pw"
    source.save()
    return source


def test_beat_tick_queues_one_fetch_per_due_source(monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr(tasks.fetch_source, "delay", queued.append)
    due = _source("due")
    _source("disabled", enabled=False)
    assert tasks.fetch_due_sources() == 1
    assert queued == [due.pk]
    assert tasks.fetch_due_sources() == 0  # not due again until its interval has passed
    assert queued == [due.pk]


def test_fetch_task_for_a_deleted_source_says_so() -> None:
    assert tasks.fetch_source(987654) == "mail source 987654 no longer exists"


def test_route_tasks_go_in_batches_after_commit(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from routing import tasks as routing_tasks

    sent: list[list[int]] = []
    monkeypatch.setattr(routing_tasks.route_batch, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        routing_tasks.enqueue_routes(range(1, 121))
    assert sent == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert [len(chunk) for chunk in sent] == [50, 50, 20]
    assert sent[0][0] == 1 and sent[-1][-1] == 120
