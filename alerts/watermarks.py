"""Low and high open-ticket watermarks per ticketbox: one alert on crossing a mark, one on
coming back, with a band (a tenth of the mark, at least one ticket) so a count wobbling
around the mark does not alert on every tick."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q

from alerts.models import Alert, AlertKind
from alerts.services import Severity, raise_alert
from alerts.watch import current_states, move
from tickets.models import Ticket, Ticketbox

HIGH, LOW, NORMAL = "high", "low", "normal"


def band(mark: int) -> int:
    return max(1, mark // 10)


def watermark_state(count: int, *, low: int | None, high: int | None, old: str) -> str:
    """The state for ``count`` open tickets, given the state before (the hysteresis)."""
    if high is not None and count >= high:
        return HIGH
    if low is not None and count <= low:
        return LOW
    if old == HIGH and high is not None and count > high - band(high):
        return HIGH
    if old == LOW and low is not None and count < low + band(low):
        return LOW
    return NORMAL


def check_watermarks(now: datetime) -> list[Alert]:
    """Compare each ticketbox's open count with its marks; alert on changes of state.

    Three queries plus one conditional update per ticketbox that changed state.
    """
    boxes = list(
        Ticketbox.objects.filter(Q(low_watermark__isnull=False) | Q(high_watermark__isnull=False))
    )
    if not boxes:
        return []
    counts = dict(
        Ticket.objects.open()  # not closed, not in the trash: the ticket_open_box index
        .filter(ticketbox__in=boxes)
        .values_list("ticketbox")
        .annotate(n=Count("id"))
        .values_list("ticketbox", "n")
    )
    raised = []
    with transaction.atomic():
        states = current_states([f"watermark:{box.pk}" for box in boxes], now=now)
        for box in boxes:
            key = f"watermark:{box.pk}"
            count = counts.get(box.pk, 0)
            old = states[key]
            new = watermark_state(count, low=box.low_watermark, high=box.high_watermark, old=old)
            if not move(key, old=old, new=new, now=now):
                continue
            raised += _announce(box, count, old=old, new=new, now=now)
    return raised


def _announce(box: Ticketbox, count: int, *, old: str, new: str, now: datetime) -> list[Alert]:
    """Leaving a mark, then reaching one (high → low in one tick says both)."""
    changes = [(old, False)] if old in (HIGH, LOW) else []
    changes += [(new, True)] if new in (HIGH, LOW) else []
    alerts = []
    for level, reached in changes:
        mark = box.high_watermark if level == HIGH else box.low_watermark
        side = ("above" if level == HIGH else "below") if reached else "back from"
        alert = raise_alert(
            AlertKind.WATERMARK_HIGH if level == HIGH else AlertKind.WATERMARK_LOW,
            title=f"{box}: {count} open tickets, {side} the {level} watermark of {mark}",
            severity=Severity.WARNING if reached else Severity.INFO,
            ticketbox=box,
            now=now,
        )
        if alert is not None:
            alerts.append(alert)
    return alerts
