"""A rule change reaches every worker: two real Celery workers, each with its own compiled
rule set, route mail before and after rules change in the database."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db import transaction

from conduit.models import InboundMessage
from conduit.store import store_raw
from routing.models import RoutingRule, RuleCondition
from tests.integration.workers import two_workers, worker_env
from tickets.models import Message, Ticket, Ticketbox
from tickets.services import unassigned_ticketbox

pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(
    redis_url: str, database_url: str, settings: Any, tmp_path: Path
) -> Iterator[tuple[Celery, list[str], list[Path]]]:
    env = worker_env(redis_url, database_url, settings, tmp_path / "var")
    with two_workers(env, "route", tmp_path) as running:
        yield running


def _route_on(client: Celery, queue: str, logs: list[Path], subject: str) -> Ticket:
    raw = (
        f"From: Carla <carla@example.net>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@example.net>\r\n\r\nHello\r\n"
    ).encode()
    with transaction.atomic():
        inbound = store_raw(raw, origin="test").inbound
    client.send_task("routing.route_batch", args=[[inbound.pk]], queue=queue)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        inbound.refresh_from_db()
        if inbound.state == InboundMessage.State.ROUTED:
            return Message.objects.select_related("ticket__ticketbox").get(inbound=inbound).ticket
        time.sleep(0.1)
    for log in logs:
        print(log.read_text(errors="replace")[-4000:])
    raise AssertionError(f"{queue} did not route {subject!r} (state {inbound.state})")


def test_a_rule_change_reaches_every_worker(workers: tuple[Celery, list[str], list[Path]]) -> None:
    client, queues, logs = workers
    box_a = Ticketbox.objects.create(name="Accounts")
    box_b = Ticketbox.objects.create(name="Billing")
    unassigned = unassigned_ticketbox()
    rule = RoutingRule.objects.create(name="Invoices", file_into=box_a)
    condition = RuleCondition.objects.create(
        rule=rule, field="subject", operator="contains", value="invoice"
    )

    # Each worker compiles the rule set once and keeps it.
    for queue in queues:
        assert _route_on(client, queue, logs, "Your invoice 1").ticketbox == box_a

    rule.file_into = box_b
    rule.save()
    for queue in queues:
        assert _route_on(client, queue, logs, "Invoice 2").ticketbox == box_b

    condition.value = "receipt"
    condition.save()
    for queue in queues:
        assert _route_on(client, queue, logs, "Invoice 3").ticketbox == unassigned
        assert _route_on(client, queue, logs, "A receipt").ticketbox == box_b

    rule.enabled = False
    rule.save()
    for queue in queues:
        assert _route_on(client, queue, logs, "A receipt again").ticketbox == unassigned

    # Both workers really did keep a cache: each compiled once per change, not per mail.
    for log in logs:
        compiles = log.read_text(errors="replace").count("Compiled ")
        assert 4 <= compiles <= 5, compiles
