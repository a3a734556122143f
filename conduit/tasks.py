"""Celery tasks of the conduit (thin wrappers around conduit.fetch and conduit.spool)."""

from __future__ import annotations

from celery import shared_task

from conduit import fetch, spool
from conduit.models import MailSource
from routing.tasks import enqueue_routes


@shared_task(name="conduit.fetch_due_sources", ignore_result=True)
def fetch_due_sources() -> int:
    """Beat tick: one fetch_source task per source whose check is due."""
    ids = fetch.claim_due_sources()
    for pk in ids:
        fetch_source.delay(pk)
    return len(ids)


@shared_task(name="conduit.fetch_source", ignore_result=True)
def fetch_source(source_id: int) -> str:
    source = MailSource.objects.filter(pk=source_id).first()
    if source is None:
        return f"mail source {source_id} no longer exists"
    return fetch.fetch_source(source, after_store=enqueue_routes).summary()


@shared_task(name="conduit.spool_send", ignore_result=True)
def spool_send() -> str:
    """Beat tick: send the spool's due mail (one query when nothing is due)."""
    return str(spool.send_due())
