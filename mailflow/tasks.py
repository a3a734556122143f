"""Project-wide tasks that belong to no single app."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="mailflow.ping")
def ping(payload: str = "") -> dict[str, str]:
    """Answer a health probe: proves a worker took a task off the broker and ran it."""
    import socket

    return {"pong": payload, "worker": socket.gethostname()}
