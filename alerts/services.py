"""Raising alerts and reading them: the one way anything in mailflow tells people.

``raise_alert`` writes the alert and each recipient's copy in the caller's transaction, and
queues the email copy (when the alert type's channel says so) through the outbound spool,
so an alert exists exactly when the change that caused it commits. Alerts with a
``once_key`` are raised at most once, even by two workers racing (a unique key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import Alert, AlertKind, AlertReceipt, AlertType
from tickets.agents import ADMINISTRATORS

logger = logging.getLogger(__name__)
Severity = Alert.Severity


def alert_type(kind: str) -> AlertType:
    """The settings of one kind of alert (made with defaults on first use)."""
    if kind not in AlertKind.values:
        raise ValueError(f"Unknown alert kind {kind!r}; choose one of {AlertKind.values}.")
    config, _ = AlertType.objects.get_or_create(kind=kind)
    return config


def raise_alert(
    kind: str,
    *,
    title: str,
    body: str = "",
    severity: str = Severity.WARNING,
    ticket: Any = None,
    ticketbox: Any = None,
    agents: Iterable[Any] = (),
    once_key: str | None = None,
    now: datetime | None = None,
) -> Alert | None:
    """Raise an alert for ``agents`` and the alert type's recipients (else Administrators).

    Returns None when the type is turned off or the ``once_key`` was used before. About a
    ticket or a ticketbox, only agents who may see that ticketbox get a copy.
    """
    config = alert_type(kind)
    if not config.enabled:
        return None
    ticketbox = ticketbox or (ticket.ticketbox if ticket is not None else None)
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind,
                severity=severity,
                title=title[:300],
                body=body,
                ticket=ticket,
                ticketbox=ticketbox,
                once_key=once_key,
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        if once_key and Alert.objects.filter(once_key=once_key).exists():
            return None
        raise
    if config.internal:
        people = _recipients(config, agents, ticketbox_id=getattr(ticketbox, "pk", None))
        AlertReceipt.objects.bulk_create([AlertReceipt(alert=alert, agent=p) for p in people])
    if config.by_email:
        alert.emailed_to = _queue_email(alert, config.email_to)
        alert.save(update_fields=["emailed_to"])
    return alert


def _recipients(config: AlertType, agents: Iterable[Any], *, ticketbox_id: int | None) -> list:
    from tickets.selectors import READ, level_on

    User = get_user_model()
    chosen = {a.pk for a in agents}
    rows = list(config.recipients.values_list("agent_id", "group_id"))
    people = Q(pk__in=chosen | {agent for agent, _ in rows if agent})
    groups = [group for _, group in rows if group]
    if groups:
        people |= Q(groups__in=groups)
    if not rows and not chosen:
        people = Q(is_superuser=True) | Q(groups__name=ADMINISTRATORS)
    found = list(User.objects.filter(people, is_active=True).distinct())
    if ticketbox_id is None:
        return found
    return [p for p in found if level_on(p, ticketbox_id) >= READ]


def _queue_email(alert: Alert, email_to: str) -> str:
    from conduit.compose import Draft, compose
    from conduit.outbound import OutboundMessage
    from conduit.spool import queue_outbound
    from routing.threads import new_message_id

    sender = settings.MAILFLOW["DEFAULT_FROM"]
    to = [a.strip() for a in email_to.split(",") if a.strip()]
    if not sender or not to:
        logger.warning("Alert %s not emailed: set MAILFLOW_DEFAULT_FROM and the addresses.", alert)
        return ""
    message_id = new_message_id(alert.ticket.number if alert.ticket else 0)
    subject = f"[mailflow {alert.get_severity_display().lower()}] {alert.title}"
    raw = compose(
        Draft(
            from_name="mailflow",
            from_address=sender,
            to=[("", address) for address in to],
            subject=subject,
            text=alert.body or alert.title,
            message_id=message_id,
            # RFC 3834: a notification is generated, not a reply; responders keep quiet.
            extra_headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        )
    )
    queue_outbound(
        raw,
        kind=OutboundMessage.Kind.NOTIFICATION,
        envelope_from=sender,
        recipients=to,
        message_id=message_id,
        subject=subject,
        ticket_id=alert.ticket_id,
    )
    return ", ".join(to)


def unread_count(agent: Any) -> int:
    return AlertReceipt.objects.filter(
        agent=agent, read_at__isnull=True, cleared_at__isnull=True
    ).count()


def mark_read(agent: Any, receipt_ids: Iterable[int] | None = None) -> int:
    """Mark the agent's alerts read (the given ones, or all); returns how many changed."""
    receipts = AlertReceipt.objects.filter(agent=agent, read_at__isnull=True)
    if receipt_ids is not None:
        receipts = receipts.filter(pk__in=list(receipt_ids))
    return receipts.update(read_at=timezone.now())


def clear(agent: Any, receipt_ids: Iterable[int] | None = None) -> int:
    """Clear alerts from the agent's list (the given ones, or all read ones)."""
    now = timezone.now()
    receipts = AlertReceipt.objects.filter(agent=agent, cleared_at__isnull=True)
    if receipt_ids is not None:
        receipts = receipts.filter(pk__in=list(receipt_ids))
    else:
        receipts = receipts.filter(read_at__isnull=False)
    return receipts.update(cleared_at=now, read_at=now)
