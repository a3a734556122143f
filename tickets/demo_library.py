"""The demo's standard response library: categories, responses, how often agents used them,
and Support's acknowledgement (part of ``manage.py seed_demo``, see tickets/demo.py)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tickets import demo_data as data
from tickets.demo_people import SUPERVISOR
from tickets.library import StandardResponse, StandardResponseCategory, StandardResponseUsage
from tickets.models import Ticketbox

# (agent, response shortcut, times used)
USAGE = (
    ("alice", "tracking", 23),
    ("alice", "return", 11),
    ("alice", "invoice", 9),
    ("bob", "quote", 17),
    ("bob", "club-discount", 6),
    ("bob", "tracking", 4),
    ("carol", "refund", 5),
    ("carol", "warranty", 3),
)


def create_library(
    rng: random.Random, boxes: dict[str, Ticketbox], agents: dict[str, Any], now: datetime
) -> None:
    """The responses, written by the supervisor before the demo's history began."""
    categories: dict[tuple[str, ...], StandardResponseCategory] = {}
    for position, path in enumerate(data.RESPONSE_CATEGORIES):
        categories[path] = StandardResponseCategory.objects.create(
            name=path[-1], parent=categories.get(path[:-1]), position=position
        )
    responses = {}
    for path, title, shortcut, body, active in data.STANDARD_RESPONSES:
        responses[shortcut] = StandardResponse.objects.create(
            category=categories[path],
            title=title,
            shortcut=shortcut,
            body=body,
            is_active=active,
            created_by=agents[SUPERVISOR],
        )
    written = now - timedelta(days=data.HISTORY_DAYS + 20)
    StandardResponse.objects.filter(pk__in=[r.pk for r in responses.values()]).update(
        created_at=written, updated_at=written
    )
    StandardResponseUsage.objects.bulk_create(
        StandardResponseUsage(
            response=responses[shortcut],
            agent=agents[username],
            count=count,
            last_used_at=now - timedelta(minutes=rng.randint(30, 10 * 24 * 60)),
        )
        for username, shortcut, count in USAGE
    )
    # Support acknowledges new tickets when its backlog runs high.
    support = boxes["Support"]
    support.auto_reply = Ticketbox.AutoReply.BACKLOG
    support.auto_reply_threshold = 50
    support.auto_reply_response = responses["ack"]
    support.full_clean()
    support.save()
