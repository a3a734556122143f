"""The route step: stored InboundMessages become Messages on tickets.

Each batch is scanned (antivirus), parsed, decided (``routing.plan``: blocked senders,
threading, rules, fallbacks, automatic mail) and written (``routing.apply``) in one
transaction. Mail is routed in batches (one batch per fetched or imported chunk):
contacts, threads, ticket numbers and rows are looked up and written with a few queries
per batch, not per message. A single mail is a batch of one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import Severity, raise_alert
from conduit.antivirus import StreamTooLarge, scan_message
from conduit.mime import parse_message
from conduit.models import InboundMessage
from conduit.store import read_raw
from routing.apply import apply_plans
from routing.plan import new_plan, plan_batch
from routing.ruleset import current_ruleset
from tickets.models import Message

logger = logging.getLogger("mailflow.routing")

MAX_ROUTE_ATTEMPTS = 5
WAITING = (InboundMessage.State.STORED, InboundMessage.State.FAILED)


@dataclass(frozen=True)
class RouteOutcome:
    inbound_id: int
    ticket_id: int | None
    message_id: int | None
    new_ticket: bool
    already_routed: bool = False


def route_inbound(inbound_id: int) -> RouteOutcome:
    """Route one stored mail onto a ticket. Idempotent: a routed mail is left as it is.

    A failure marks the InboundMessage as failed with the reason and re-raises; the raw
    mail stays stored and is routed again by the sweep.
    """
    try:
        with transaction.atomic():
            return _route_batch([inbound_id])[0]
    except Exception as exc:
        _mark_failed(inbound_id, exc)
        raise


def route_batch(inbound_ids: Sequence[int]) -> list[RouteOutcome]:
    """Route stored mails in order of arrival, in one transaction. Never raises.

    When the batch fails as a whole, each mail is routed on its own, so one bad mail
    fails alone (recorded on it, routed again later by the sweep) and the others go
    through. Returns the outcomes of the mails that were routed.
    """
    if not inbound_ids:
        return []
    try:
        with transaction.atomic():
            return _route_batch(inbound_ids)
    except Exception as exc:  # noqa: BLE001 - isolate the failing mail below
        logger.warning(
            "Routing a batch of %d failed (%s); routing one by one", len(inbound_ids), exc
        )
    outcomes = []
    for pk in inbound_ids:
        try:
            outcomes.append(route_inbound(pk))
        except Exception:
            logger.exception("Routing inbound message %s failed", pk)
    return outcomes


def _mark_failed(inbound_id: int, exc: BaseException) -> None:
    InboundMessage.objects.filter(pk=inbound_id).update(
        state=InboundMessage.State.FAILED,
        error=f"{type(exc).__name__}: {exc}"[:5000],
        route_attempts=F("route_attempts") + 1,
    )


def _route_batch(inbound_ids: Sequence[int], *, scan: bool = True) -> list[RouteOutcome]:
    inbounds = list(
        InboundMessage.objects.select_for_update(of=("self",))
        .select_related("source")
        .filter(pk__in=inbound_ids)
        .order_by("received_at", "pk")
    )
    outcomes = {i.pk: _already_routed(i) for i in inbounds if i.state not in WAITING}
    plans = []
    for inbound in inbounds:
        if inbound.state not in WAITING:
            continue
        raw = read_raw(inbound)
        if scan and _quarantined(inbound, raw):
            outcomes[inbound.pk] = RouteOutcome(inbound.pk, None, None, new_ticket=False)
            continue
        plans.append(
            new_plan(
                parse_message(raw),
                raw,
                inbound=inbound,
                received_at=inbound.received_at,
                source_box_id=inbound.source.ticketbox_hint_id if inbound.source else None,
            )
        )
    if plans:
        plan_batch(plans, current_ruleset())
        apply_plans(plans)
        routed = [p.stored.pk for p in plans if not p.discarded and p.bounce is None]
        InboundMessage.objects.filter(pk__in=routed).update(
            state=InboundMessage.State.ROUTED, error=""
        )
        for plan in plans:
            outcomes[plan.stored.pk] = RouteOutcome(
                plan.stored.pk,
                plan.ticket.pk if plan.ticket else None,
                plan.message.pk if plan.message else None,
                new_ticket=plan.new_ticket,
            )
    missing = [pk for pk in inbound_ids if pk not in outcomes]
    if missing:
        raise InboundMessage.DoesNotExist(f"No stored inbound message with id {missing}")
    return [outcomes[pk] for pk in inbound_ids]


def _already_routed(inbound: InboundMessage) -> RouteOutcome:
    existing = Message.objects.filter(inbound=inbound).first()
    return RouteOutcome(
        inbound.pk,
        existing.ticket_id if existing else None,
        existing.pk if existing else None,
        new_ticket=False,
        already_routed=True,
    )


def _quarantined(inbound: InboundMessage, raw: bytes) -> bool:
    """Scan with the antivirus hook; infected (or unscannable) mail is kept but not routed.

    A scanner that cannot be reached raises ScannerUnavailable: the mail stays stored and
    the sweep routes it again later.
    """
    try:
        verdict = scan_message(raw)
    except StreamTooLarge as exc:
        reason = f"Not routed: too large for the virus scanner to check. {exc}"
    else:
        if verdict is None or not verdict.infected:
            return False
        reason = f"Virus found by {verdict.scanner}: {verdict.signature}"
        raise_alert(
            AlertKind.VIRUS_FOUND,
            title=f"Virus found: {verdict.signature} in {inbound} (quarantined)",
            body=f"Inbound message {inbound.pk} from {inbound.origin or 'an import'}.",
            severity=Severity.CRITICAL,
            once_key=f"virus_found:{inbound.pk}",
        )
    inbound.state = InboundMessage.State.QUARANTINED
    inbound.error = reason[:5000]
    inbound.save(update_fields=["state", "error"])
    logger.error(
        "Quarantined inbound message %s (%s): %s",
        inbound.pk,
        inbound.message_id or "no Message-ID",
        reason,
        extra={"alert": "virus_found", "inbound_id": inbound.pk},
    )
    return True


def release_and_route(inbound_ids: list[int], *, released_by: str) -> list[RouteOutcome]:
    """An administrator's decision: route failed, waiting or quarantined mail again.

    Quarantined mail is routed without a second virus scan (the administrator vouched for
    it); the release is logged. Mail already routed is left alone.
    """
    quarantined = list(
        InboundMessage.objects.filter(
            pk__in=inbound_ids, state=InboundMessage.State.QUARANTINED
        ).values_list("pk", flat=True)
    )
    if quarantined:
        logger.warning(
            "%s released %d quarantined message(s) for routing: %s",
            released_by,
            len(quarantined),
            quarantined,
            extra={"alert": "security"},
        )
    waiting = list(
        InboundMessage.objects.filter(pk__in=inbound_ids, state__in=WAITING).values_list(
            "pk", flat=True
        )
    )
    outcomes = route_batch(waiting)
    for pk in quarantined:
        try:
            with transaction.atomic():
                InboundMessage.objects.filter(pk=pk).update(state=InboundMessage.State.STORED)
                outcomes.extend(_route_batch([pk], scan=False))
        except Exception as exc:
            _mark_failed(pk, exc)
            logger.exception("Routing released message %s failed", pk)
    return outcomes


def unrouted(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> list[int]:
    """Mails still waiting for the route step (task lost, or failed fewer than 5 times)."""
    cutoff = timezone.now() - older_than
    waiting = Q(state=InboundMessage.State.STORED) | Q(
        state=InboundMessage.State.FAILED, route_attempts__lt=MAX_ROUTE_ATTEMPTS
    )
    return list(
        InboundMessage.objects.filter(waiting, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
