"""Crossings, not levels: the state machine behind the watermark, disk and mail source
checks. Each watched thing ("watermark:12", "disk:media", "source:3") has one WatchState
row; a check moves it with a conditional UPDATE (``WHERE state = <the state it read>``),
so when several workers look at once exactly one of them moves it and raises the alert,
and a thing that stays crossed raises nothing on the next tick."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from alerts.models import WatchState

UNKNOWN = ""  # never looked at: learning the first state is no crossing


def current_states(keys: Iterable[str], *, now: datetime) -> dict[str, str]:
    """The states of ``keys`` (rows made, as unknown, for keys seen the first time)."""
    keys = list(keys)
    states = dict(WatchState.objects.filter(key__in=keys).values_list("key", "state"))
    missing = [key for key in keys if key not in states]
    if missing:
        WatchState.objects.bulk_create(
            [WatchState(key=key, state=UNKNOWN, changed_at=now) for key in missing],
            ignore_conflicts=True,
        )
        states |= dict.fromkeys(missing, UNKNOWN)
    return states


def move(key: str, *, old: str, new: str, now: datetime) -> bool:
    """Move ``key`` from ``old`` to ``new``; True only for the caller that moved it."""
    if old == new:
        return False
    return WatchState.objects.filter(key=key, state=old).update(state=new, changed_at=now) == 1
