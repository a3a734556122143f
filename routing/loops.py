"""Loop and auto-reply safety: when we must not answer a mail automatically, and the
per-sender window that keeps even a misbehaving peer down to one reply.

The rules of RFC 3834 section 2, plus what help desks learn the hard way: never answer a
machine (Auto-Submitted, Precedence, auto-reply headers, bounces, null return path), a
mailing list, a no-reply address, ourselves, or our own mail coming back.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from conduit.compose import LOOP_HEADER, carries_our_loop_header
from routing.facts import MailFacts
from routing.models import AutoReplyLog

_NO_REPLY = re.compile(
    r"^(?:no-?reply|do-?not-?reply|donotreply|mailer-daemon|postmaster|bounces?"
    r"|notifications?-?noreply)(?:[+\-._].*)?$",
    re.IGNORECASE,
)


def reply_address(facts: MailFacts) -> str:
    """Where an automatic reply would go: the first Reply-To address, else From."""
    for address in facts.parsed.reply_to:
        if address.address:
            return address.address.strip()
    return facts.sender


def is_our_loop(facts: MailFacts) -> bool:
    return carries_our_loop_header(facts.header_values.get(LOOP_HEADER.lower(), []))


def auto_reply_refusal(facts: MailFacts, recipient: str, *, ours: frozenset[str]) -> str:
    """Why this mail must get no automatic reply, or '' when one may be sent."""
    parsed = facts.parsed
    headers = facts.header_values
    if parsed.delivery_report:
        return "it is a bounce (delivery status report)"
    if is_our_loop(facts):
        return "it carries our own loop header: our mail came back"
    if parsed.auto_submitted:
        return "it was sent automatically (Auto-Submitted, Precedence or auto-reply headers)"
    if any(value.strip() in ("<>", "") for value in headers.get("return-path", ["x"])):
        return "its return path is empty (a bounce or another machine's mail)"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "it came through a mailing list"
    if not recipient:
        return "it has no sender address to reply to"
    if recipient.lower() in ours or facts.sender.lower() in ours:
        return "it comes from one of our own addresses"
    if _NO_REPLY.match(recipient.partition("@")[0]):
        return f"{recipient} does not take replies"
    return ""


def recently_replied(addresses: set[str], *, since: datetime) -> set[str]:
    """Which of these (lower-cased) addresses got an automatic reply after ``since``."""
    if not addresses:
        return set()
    return set(
        AutoReplyLog.objects.filter(address__in=addresses, last_sent_at__gt=since).values_list(
            "address", flat=True
        )
    )


def claim_auto_reply_slots(addresses: list[str], *, now: datetime, window: timedelta) -> set[str]:
    """Record an automatic reply to each address whose window is free; return those.

    One upsert for all addresses. Two workers racing for the same sender both reach the
    row; the second one's conditional update sees the first one's new time and claims
    nothing, so the sender gets one reply.
    """
    wanted = sorted({address.lower() for address in addresses if address})
    if not wanted:
        return set()
    table = AutoReplyLog._meta.db_table
    rows = ", ".join(["(%s, %s, 1)"] * len(wanted))
    # As the ORM writes them (naive UTC text on SQLite, where datetimes compare as text).
    stamp = connection.ops.adapt_datetimefield_value(now)
    cutoff = connection.ops.adapt_datetimefield_value(now - window)
    params: list[Any] = []
    for address in wanted:
        params += [address, stamp]
    sql = (
        f"INSERT INTO {table} (address, last_sent_at, count) VALUES {rows} "  # noqa: S608
        f"ON CONFLICT (address) DO UPDATE SET last_sent_at = excluded.last_sent_at, "
        f"count = {table}.count + 1 WHERE {table}.last_sent_at <= %s RETURNING address"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cutoff])
        return {row[0] for row in cursor.fetchall()}
