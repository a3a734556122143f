"""Inbound delivery problems: a mail source failing again and again (conduit.fetch counts
the failures in a row on the source). One alert when a source reaches FAILURES_TO_ALERT
failures in a row, one when it fetches again; nothing in between, however long it fails."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from alerts.models import Alert, AlertKind
from alerts.services import Severity, raise_alert
from alerts.watch import UNKNOWN, current_states, move
from conduit.models import MailSource

FAILURES_TO_ALERT = 3
FAILING, OK = "failing", "ok"


def check_sources(now: datetime) -> list[Alert]:
    sources = list(
        MailSource.objects.filter(enabled=True).values_list(
            "pk", "name", "failure_count", "last_error"
        )
    )
    if not sources:
        return []
    raised = []
    with transaction.atomic():
        states = current_states([f"source:{pk}" for pk, *_ in sources], now=now)
        for pk, name, failures, error in sources:
            key = f"source:{pk}"
            old = states[key]
            if failures >= FAILURES_TO_ALERT:
                new = FAILING
            elif failures == 0:
                new = OK
            else:
                new = old or OK  # a failure or two: not yet a streak worth an alert
            if not move(key, old=old, new=new, now=now) or (old == UNKNOWN and new == OK):
                continue
            if new == FAILING:
                alert = raise_alert(
                    AlertKind.INBOUND_DELIVERY,
                    title=f"Mail source {name} failed {failures} times in a row",
                    body=error,
                    now=now,
                )
            else:
                alert = raise_alert(
                    AlertKind.INBOUND_DELIVERY,
                    title=f"Mail source {name} fetches mail again",
                    severity=Severity.INFO,
                    now=now,
                )
            if alert is not None:
                raised.append(alert)
    return raised
