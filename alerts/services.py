"""Raising alerts and reading them: the one way anything in mailflow tells people.

``raise_alert`` writes the alert and each recipient's copy in the caller's transaction, and
queues the email copy (when the alert type's channel says so) through the outbound spool,
so an alert exists exactly when the change that caused it commits. Alerts with a
``once_key`` are raised at most once, even by two workers racing (a unique key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from alerts.models import Alert, AlertKind, AlertReceipt, AlertType
from tickets.agents import ADMINISTRATORS

if TYPE_CHECKING:
    from conduit.compose import DraftAttachment

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
    draft = AlertDraft(
        title=title,
        body=body,
        ticket_id=getattr(ticket, "pk", None),
        ticketbox_id=getattr(ticketbox, "pk", None) or getattr(ticket, "ticketbox_id", None),
        agent_ids=frozenset(agent.pk for agent in agents),
        once_key=once_key,
    )
    made = raise_alerts(kind, [draft], severity=severity, now=now)
    return made[0] if made else None


def _queue_email(alert: Alert, email_to: str) -> str:
    to = [a.strip() for a in email_to.split(",") if a.strip()]
    return queue_notification(
        to,
        subject=f"[mailflow {alert.get_severity_display().lower()}] {alert.title}",
        text=alert.body or alert.title,
        ticket_number=alert.ticket.number if alert.ticket else 0,
        ticket_id=alert.ticket_id,
    )


def queue_notification(
    to: list[str],
    *,
    subject: str,
    text: str,
    ticket_number: int = 0,
    ticket_id: int | None = None,
    attachments: Sequence[DraftAttachment] = (),
) -> str:
    """Queue a notification mail to agents' or admins' addresses through the outbound
    spool (in the caller's transaction); returns the addresses, or '' when not sent."""
    from conduit.compose import Draft, compose
    from conduit.outbound import OutboundMessage
    from conduit.spool import queue_outbound
    from routing.threads import new_message_id

    sender = settings.MAILFLOW["DEFAULT_FROM"]
    if not sender or not to:
        logger.warning("%r not emailed: set MAILFLOW_DEFAULT_FROM and the addresses.", subject)
        return ""
    message_id = new_message_id(ticket_number)
    raw = compose(
        Draft(
            from_name="mailflow",
            from_address=sender,
            to=[("", address) for address in to],
            subject=subject,
            text=text,
            message_id=message_id,
            # RFC 3834: a notification is generated, not a reply; responders keep quiet.
            extra_headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
            attachments=attachments,
        )
    )
    queue_outbound(
        raw,
        kind=OutboundMessage.Kind.NOTIFICATION,
        envelope_from=sender,
        recipients=to,
        message_id=message_id,
        subject=subject,
        ticket_id=ticket_id,
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


@dataclass(frozen=True)
class AlertDraft:
    """One alert of a bulk ``raise_alerts``: about a ticket and/or a ticketbox (by id)."""

    title: str
    body: str = ""
    ticket_id: int | None = None
    ticketbox_id: int | None = None
    agent_ids: frozenset[int] = frozenset()
    once_key: str | None = None


def raise_alerts(
    kind: str,
    drafts: Sequence[AlertDraft],
    *,
    severity: str = Severity.WARNING,
    now: datetime | None = None,
    type_recipients: bool = True,
) -> list[Alert]:
    """Raise many alerts of one kind in a constant number of queries (the periodic jobs).

    ``raise_alert`` is this with one draft. Per draft: the type's recipients (unless
    ``type_recipients`` is off) and the draft's agents, else Administrators, each only where
    they may see the ticketbox. Drafts whose ``once_key`` was used before, by this or a
    racing worker, are skipped: one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` decides.
    Returns the alerts made. The email channel sends one digest for the lot.
    """
    config = alert_type(kind)
    if not config.enabled or not drafts:
        return []
    alerts = _insert_alerts(kind, drafts, severity=severity, now=now or timezone.now())
    if not alerts:
        return []
    if config.internal:
        by_alert = _bulk_recipients(config, alerts, type_recipients=type_recipients)
        AlertReceipt.objects.bulk_create(
            [
                AlertReceipt(alert=alert, agent_id=agent)
                for alert, agents in by_alert
                for agent in agents
            ],
            ignore_conflicts=True,
        )
    made = [alert for alert, _ in alerts]
    if config.by_email:
        digest = made[0] if len(made) == 1 else _digest(kind, made, severity)
        emailed_to = _queue_email(digest, config.email_to)
        Alert.objects.filter(pk__in=[a.pk for a in made]).update(emailed_to=emailed_to)
        for alert in made:
            alert.emailed_to = emailed_to
    return made


def _insert_alerts(
    kind: str, drafts: Sequence[AlertDraft], *, severity: str, now: datetime
) -> list[tuple[Alert, AlertDraft]]:
    table = Alert._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows, params = [], []
    for draft in drafts:
        rows.append("(%s, %s, %s, %s, %s, %s, %s, %s, '')")
        params += [kind, severity, draft.title[:300], draft.body, draft.ticket_id]
        params += [draft.ticketbox_id, draft.once_key, stamp]
    made: dict[str | None, list[int]] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            cursor.execute(
                f"INSERT INTO {table} (kind, severity, title, body, ticket_id, ticketbox_id, "  # noqa: S608
                f"once_key, created_at, emailed_to) VALUES {', '.join(rows[start : start + 500])} "
                "ON CONFLICT (once_key) DO NOTHING RETURNING id, once_key",
                params[start * 8 : (start + 500) * 8],
            )
            for pk, key in cursor.fetchall():
                made.setdefault(key, []).append(pk)
    alerts = []
    for draft in drafts:  # keyless drafts get their ids in order (RETURNING keeps it)
        ids = made.get(draft.once_key)
        if not ids:
            continue
        alert = Alert(
            pk=ids.pop(0),
            kind=kind,
            severity=severity,
            title=draft.title[:300],
            body=draft.body,
            ticket_id=draft.ticket_id,
            ticketbox_id=draft.ticketbox_id,
            once_key=draft.once_key,
            created_at=now,
        )
        alerts.append((alert, draft))
    return alerts


def _bulk_recipients(
    config: AlertType, alerts: list[tuple[Alert, AlertDraft]], *, type_recipients: bool
) -> list[tuple[Alert, set[int]]]:
    """Each alert's recipients (agent ids), in four queries whatever the number of alerts."""
    from tickets.models import TicketboxAccess

    User = get_user_model()
    rows = list(config.recipients.values_list("agent_id", "group_id")) if type_recipients else []
    named = {agent for agent, _ in rows if agent}
    named_groups = {group for _, group in rows if group}
    chosen = set().union(*(draft.agent_ids for _, draft in alerts))
    fallback = any(not rows and not draft.agent_ids for _, draft in alerts)
    people = Q(pk__in=named | chosen) | Q(groups__in=named_groups)
    if fallback:
        people |= Q(is_superuser=True) | Q(groups__name=ADMINISTRATORS)
    groups: dict[int, set[int]] = {}
    superusers: set[int] = set()
    for pk, superuser in User.objects.filter(people, is_active=True).values_list(
        "pk", "is_superuser"
    ):
        groups[pk] = set()
        if superuser:
            superusers.add(pk)
    for pk, group in User.groups.through.objects.filter(user_id__in=list(groups)).values_list(
        "user_id", "group_id"
    ):
        groups[pk].add(group)
    admin_group = set(Group.objects.filter(name=ADMINISTRATORS).values_list("pk", flat=True))
    admins = superusers | {pk for pk, got in groups.items() if got & admin_group}
    in_named_groups = {pk for pk, got in groups.items() if got & named_groups}
    boxes = {draft.ticketbox_id for _, draft in alerts if draft.ticketbox_id}
    seeing: dict[int, set[int]] = {}
    for box, agent, group in TicketboxAccess.objects.filter(ticketbox_id__in=boxes).values_list(
        "ticketbox_id", "agent_id", "group_id"
    ):
        members = {agent} if agent else {pk for pk, got in groups.items() if group in got}
        seeing.setdefault(box, set()).update(members)
    result = []
    for alert, draft in alerts:
        wanted = (named | in_named_groups | set(draft.agent_ids)) & set(groups)
        if not rows and not draft.agent_ids:
            wanted = set(admins)
        if draft.ticketbox_id is not None:
            wanted &= seeing.get(draft.ticketbox_id, set()) | admins
        result.append((alert, wanted))
    return result


def _digest(kind: str, alerts: list[Alert], severity: str) -> Alert:
    """One email for many alerts raised together (not saved: it only carries the text)."""
    lines = [alert.title for alert in alerts]
    label = AlertKind(kind).label
    return Alert(
        kind=kind,
        severity=severity,
        title=f"{len(alerts)} alerts: {label}",
        body="\n".join(lines),
    )
