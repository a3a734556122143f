"""Two agents pressing Get Oldest at the same moment never get the same ticket.

Each agent is a thread with its own database connection; a barrier releases both presses
together, round after round, each round on fresh tickets. On PostgreSQL the claim is a
``SELECT … FOR UPDATE SKIP LOCKED``; on SQLite the IMMEDIATE transaction serializes it.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.factories import make_agent, make_ticket, make_ticketbox
from tickets import workflow
from tickets.models import Ticket, TicketboxAccess
from tickets.selectors import REPLY

AGENTS = 2
TICKETS_PER_ROUND = 2  # one for each agent: a correct claim never comes back empty-handed


def _race(rounds: int) -> None:
    box = make_ticketbox("Queue")
    agent_ids = []
    for n in range(AGENTS):
        agent = make_agent(f"presser{n}")
        TicketboxAccess.objects.create(ticketbox=box, agent=agent, level=REPLY)
        agent_ids.append(agent.pk)
    start = threading.Barrier(AGENTS + 1, timeout=60)
    done = threading.Barrier(AGENTS + 1, timeout=60)
    handed: list[tuple[int, int, int | None]] = []  # (round, agent id, ticket id or None)
    errors: list[BaseException] = []

    def press(agent_id: int) -> None:
        try:
            agent: Any = get_user_model().objects.get(pk=agent_id)
            for round_ in range(rounds):
                start.wait()
                ticket = workflow.get_oldest(agent, box)
                handed.append((round_, agent_id, ticket.pk if ticket else None))
                done.wait()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            start.abort()
            done.abort()
        finally:
            connection.close()

    workers = [threading.Thread(target=press, args=(pk,)) for pk in agent_ids]
    for worker in workers:
        worker.start()
    try:
        for _ in range(rounds):
            for _ in range(TICKETS_PER_ROUND):
                make_ticket(ticketbox=box)
            start.wait()
            done.wait()
    except threading.BrokenBarrierError:
        pass
    for worker in workers:
        worker.join(timeout=60)

    assert not errors, errors
    assert len(handed) == rounds * AGENTS
    got = [ticket_id for _, _, ticket_id in handed if ticket_id is not None]
    duplicates = [pk for pk, times in Counter(got).items() if times > 1]
    assert not duplicates, f"tickets handed out twice: {duplicates}"
    assert len(got) == rounds * AGENTS, "an agent came back empty-handed with a ticket waiting"
    owners = dict(Ticket.objects.filter(pk__in=got).values_list("pk", "owner_id"))
    assert all(owners[ticket_id] == agent_id for _, agent_id, ticket_id in handed)
    assert not Ticket.objects.filter(ticketbox=box, owner__isnull=True).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_agents_pressing_get_oldest_at_once_200_times_never_share_a_ticket() -> None:
    _race(200)


@pytest.mark.django_db(transaction=True)
def test_two_agents_pressing_get_oldest_at_once_never_share_a_ticket_on_any_database() -> None:
    _race(25)
