"""Celery tasks of the route step (thin wrappers around routing.services)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from celery import shared_task
from django.db import transaction

from routing import services

# Mails per route task: big enough to share the lookups, small enough to retry cheaply.
BATCH = 50


@shared_task(name="routing.route_inbound", ignore_result=True)
def route_inbound(inbound_id: int) -> None:
    services.route_inbound(inbound_id)


@shared_task(name="routing.route_batch", ignore_result=True)
def route_batch(inbound_ids: list[int]) -> int:
    return len(services.route_batch(inbound_ids))


@shared_task(name="routing.route_unrouted", ignore_result=True)
def route_unrouted() -> int:
    """Sweep: route stored mails whose task was lost (a worker died between store and enqueue)."""
    ids = services.unrouted()
    for start in range(0, len(ids), BATCH):
        route_batch.delay(ids[start : start + BATCH])
    return len(ids)


def enqueue_routes(inbound_ids: Iterable[int]) -> None:
    """Route these stored mails on a worker, in batches, once the current transaction commits."""
    ids = list(inbound_ids)
    for start in range(0, len(ids), BATCH):
        transaction.on_commit(partial(route_batch.delay, ids[start : start + BATCH]))
