"""Ticket numbers stay unique when many workers open tickets at the same moment."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.factories import make_ticket
from tickets.models import Ticket

THREADS = 8
PER_THREAD = 25


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ticket_numbers_unique_under_concurrent_creation() -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def open_tickets() -> None:
        try:
            start.wait()
            for _ in range(PER_THREAD):
                make_ticket()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=open_tickets) for _ in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert not errors, errors
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == THREADS * PER_THREAD
    assert numbers == list(range(numbers[0], numbers[0] + THREADS * PER_THREAD))
