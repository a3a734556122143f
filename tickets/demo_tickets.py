"""The demo's tickets: planned in memory (who writes, who takes it, how it ends), then
written in bulk with their mail, notes and history (part of ``manage.py seed_demo``, see
tickets/demo.py). What the mail says comes from tickets/demo_conversations.py."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model, OuterRef, Subquery

from tickets import demo_data as data
from tickets import services
from tickets.agents import AgentProfile
from tickets.demo_contacts import Customer
from tickets.demo_conversations import (
    Mail,
    draft_mails,
    message_id,
    sender,
    template_fields,
    write_mails,
)
from tickets.demo_people import ADMIN_USERNAME, SUPERVISOR
from tickets.models import Message, Note, Ticket, Ticketbox, TicketEvent

BOX_WEIGHTS = {"Support": 45, "Sales": 20, "Billing": 22, "Unassigned": 13}
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 10, 10, 10, 9, 7, 5, 5, 4, 3, 2, 1)

Status = Ticket.Status
Priority = Ticket.Priority
Kind = TicketEvent.Kind


@dataclass
class World:
    """What the tickets are made from: the random source, the moment, and the desk."""

    rng: random.Random
    now: datetime
    boxes: dict[str, Ticketbox]
    agents: dict[str, Any]
    repliers: dict[str, list[Any]]
    profiles: dict[int, AgentProfile]
    signatures: dict[int, dict[str, str]]
    customers: list[Customer]
    spammers: list[Customer]


@dataclass
class Plan:
    """One ticket as it will be written."""

    scenario: data.Scenario
    box: Ticketbox
    created_box: Ticketbox  # where it landed first: Unassigned for tickets moved by hand
    inbound_to: tuple[str, str]  # (name, address) the customer wrote to
    customer: Customer
    fields: dict[str, str]
    subject: str
    priority: int
    first_priority: int
    mails: list[Mail]
    owner: Any = None
    status: str = Status.OPEN
    closed_at: datetime | None = None
    deleted_at: datetime | None = None
    deleted_by: Any = None
    escalated_to: Any = None
    escalated_at: datetime | None = None
    events: list[tuple[datetime, str, Any, dict[str, Any]]] = field(default_factory=list)
    notes: list[tuple[datetime, Any, str, bool]] = field(default_factory=list)

    @property
    def created_at(self) -> datetime:
        return self.mails[0].date


def plan_tickets(world: World, count: int) -> list[Plan]:
    """``count`` tickets in order of arrival; the first go one to each ticketbox."""
    boxes = list(BOX_WEIGHTS)
    return [
        _plan_ticket(world, created_at, forced_box=boxes[i] if i < len(boxes) else None)
        for i, created_at in enumerate(_created_times(world.rng, world.now, count))
    ]


def _between(rng: random.Random, start: datetime, end: datetime, lo: float, hi: float) -> datetime:
    """A whole-second moment between start and end, at a fraction lo..hi of the way."""
    moment = start + (end - start) * rng.uniform(lo, hi)
    return max(start, moment.replace(microsecond=0))


def _created_times(rng: random.Random, now: datetime, count: int) -> list[datetime]:
    """When tickets came in: over the last 90 days, a little more lately, mostly in office
    hours and on weekdays."""
    start, latest = now - timedelta(days=data.HISTORY_DAYS), now - timedelta(minutes=5)
    times: list[datetime] = []
    while len(times) < count:
        span = data.RECENT_DAYS if rng.random() < 0.15 else data.HISTORY_DAYS
        day = now - timedelta(seconds=rng.uniform(0, span * 86400))
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        moment = day.replace(
            hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0
        )
        if moment.weekday() >= 5 and rng.random() < 0.6:
            continue
        if start <= moment <= latest:
            times.append(moment)
    return sorted(times)


def _pick_scenario(rng: random.Random, box: str | None) -> data.Scenario:
    box = box or rng.choices(list(BOX_WEIGHTS), weights=list(BOX_WEIGHTS.values()))[0]
    pool = [s for s in data.SCENARIOS if s.ticketbox == box]
    return rng.choices(pool, weights=[s.weight for s in pool])[0]


def _pick_customer(world: World, scenario: data.Scenario) -> Customer:
    if scenario.spam:
        return world.rng.choice(world.spammers)
    pool = [c for c in world.customers if c.company or not scenario.needs_company]
    return world.rng.choices(pool, weights=[c.weight for c in pool])[0]


def _plan_ticket(world: World, created_at: datetime, forced_box: str | None) -> Plan:
    rng, now = world.rng, world.now
    scenario = _pick_scenario(rng, forced_box)
    box = world.boxes[scenario.ticketbox]
    customer = _pick_customer(world, scenario)
    mails = draft_mails(rng, scenario, customer, created_at, now)
    repliers = world.repliers[box.name]
    contact = customer.contact
    routed_owner = contact.owner if contact.route_to_owner else None
    if routed_owner not in repliers:
        routed_owner = None
    moved = not (scenario.spam or box.is_builtin or routed_owner) and rng.random() < 0.1
    created_box = world.boxes["Unassigned"] if moved else box
    if created_box.is_builtin:
        inbound_to = (data.GENERAL_FROM_NAME, data.GENERAL_ADDRESS)
    else:
        addresses = data.TICKETBOXES[box.name]["addresses"]
        to_address = addresses[0] if rng.random() < 0.8 else rng.choice(addresses)
        inbound_to = (box.from_name, to_address)
    if scenario.urgent:
        priority = rng.choices((Priority.NORMAL, Priority.HIGH, Priority.URGENT), (25, 55, 20))[0]
    else:
        priority = rng.choices(list(Priority), (10, 72, 14, 4))[0]
    priority = int(Priority.NORMAL if scenario.spam else priority)
    fields = template_fields(rng, customer, created_at)
    plan = Plan(
        scenario=scenario,
        box=box,
        created_box=created_box,
        inbound_to=inbound_to,
        customer=customer,
        fields=fields,
        subject=rng.choice(scenario.subjects).format_map(fields),
        priority=priority,
        first_priority=priority,
        mails=mails,
    )

    # Who takes it, and when: before the first reply, or within a day when there is none.
    first_reply = next((m.date for m in mails if m.outbound), None)
    deadline = first_reply or min(now, created_at + timedelta(hours=rng.uniform(1, 30)))
    cursor = created_at
    if moved:
        cursor = _between(rng, created_at, deadline, 0.05, 0.4)
        mover = rng.choice(repliers)
        plan.events.append((cursor, Kind.MOVED, mover, {"from": created_box.name, "to": box.name}))
    if routed_owner:
        plan.owner = routed_owner
        plan.events.append(
            (created_at, Kind.ASSIGNED, None, {"owner": routed_owner.username, "by": "contact"})
        )
    elif not scenario.spam:
        chance = (0.85 if first_reply else 0.3) * (0.5 if box.is_builtin else 1)
        if rng.random() < chance:
            plan.owner = rng.choice(repliers)
            by = plan.owner if rng.random() < 0.75 else world.agents[SUPERVISOR]
            cursor = _between(rng, cursor, deadline, 0.1, 0.9)
            plan.events.append((cursor, Kind.ASSIGNED, by, {"owner": plan.owner.username}))
    if priority > Priority.NORMAL and not scenario.spam and rng.random() < 0.5:
        plan.first_priority = Priority.NORMAL  # the mail said normal; an agent raised it
        by = plan.owner or rng.choice(repliers)
        at = _between(rng, created_at, deadline, 0.02, 0.3)
        plan.events.append((at, Kind.PRIORITY, by, {"from": int(Priority.NORMAL), "to": priority}))
    for mail in mails:
        if mail.outbound:
            mail.author = plan.owner or rng.choice(repliers)
    write_mails(
        rng,
        mails,
        scenario=scenario,
        fields=fields,
        box=box,
        signatures=world.signatures,
        profiles=world.profiles,
    )
    _settle(world, plan)
    return plan


def _settle(world: World, plan: Plan) -> None:
    """Status, closing, escalation, notes and the trash, consistent with the mail."""
    rng, now, mails = world.rng, world.now, plan.mails
    repliers = world.repliers[plan.box.name]
    last = mails[-1]
    closer = plan.owner or next((m.author for m in reversed(mails) if m.author), None)
    events = plan.events
    for mail in mails[1:]:
        kind = Kind.MESSAGE_OUT if mail.outbound else Kind.MESSAGE_IN
        events.append((mail.date, kind, mail.author, {}))  # no author on the customer's mail

    if plan.scenario.spam:
        plan.deleted_at = _between(rng, last.date, min(now, last.date + timedelta(days=1)), 0.1, 1)
        plan.deleted_by = rng.choice(repliers)
        events.append((plan.deleted_at, Kind.DELETED, plan.deleted_by, {}))
        return
    if last.outbound:
        quick_close = last.date + timedelta(seconds=rng.randint(20, 180))
        if rng.random() < 0.3 and quick_close < now:  # replied and closed in one go
            _set_status(plan, Status.CLOSED, quick_close, last.author)
        else:
            _set_status(plan, Status.WAITING, last.date, last.author)
            # No word from the customer for about a week: closed.
            closed_at = (last.date + timedelta(days=rng.uniform(5, 9))).replace(microsecond=0)
            if closed_at < now:
                _set_status(plan, Status.CLOSED, closed_at, closer)
    elif last.kind == "thanks":
        closed_at = last.date + timedelta(minutes=rng.uniform(5, 20 * 60))
        closed_at = closed_at.replace(microsecond=0)
        if closed_at < now:
            _set_status(plan, Status.CLOSED, closed_at, closer)
    else:  # the customer waits for an answer
        if rng.random() < 0.25:
            at = _between(rng, last.date, now, 0.05, 0.5)
            _set_status(plan, Status.ON_HOLD, at, plan.owner or rng.choice(repliers))
        waited = now - last.date
        if waited > timedelta(days=1) and (plan.priority > Priority.NORMAL or rng.random() < 0.3):
            to = world.agents[SUPERVISOR]
            if plan.owner == to:
                to = world.agents[ADMIN_USERNAME]
            plan.escalated_to, plan.escalated_at = to, _between(rng, last.date, now, 0.3, 0.7)
            events.append((plan.escalated_at, Kind.ESCALATED, None, {"to": to.username}))

    if rng.random() < 0.15 or plan.status == Status.ON_HOLD or plan.escalated_to:
        at = _between(rng, plan.created_at, plan.closed_at or now, 0.1, 0.9)
        author = world.agents[SUPERVISOR] if rng.random() < 0.2 else (plan.owner or closer)
        author = author or rng.choice(repliers)
        private = rng.random() < 0.2
        pool = data.NOTES + data.NOTES_BY_TICKETBOX[plan.box.name] * 3
        plan.notes.append((at, author, rng.choice(pool).format_map(plan.fields), private))
        events.append((at, Kind.NOTE, author, {"private": private}))


def _set_status(plan: Plan, status: str, at: datetime, by: Any) -> None:
    """Move the plan to ``status`` at ``at`` and record the change in its history."""
    plan.events.append((at, Kind.STATUS, by, {"from": str(plan.status), "to": str(status)}))
    plan.status = status
    if status == Status.CLOSED:
        plan.closed_at = at


def save_tickets(world: World, plans: list[Plan]) -> None:
    """Create the tickets (numbered in order of arrival), then their mail, notes and history."""
    rng = world.rng
    tickets = [
        services.create_ticket(
            subject=plan.subject,
            ticketbox=plan.created_box,
            contact=plan.customer.contact,
            owner=plan.owner,
            priority=plan.priority,
            status=plan.status,
            created_at=plan.created_at,
        )
        for plan in plans
    ]
    if not tickets:
        return
    messages, notes, events = [], [], []
    for plan, ticket in zip(plans, tickets, strict=True):
        sender_name, sender_address = sender(plan.box)
        contact = plan.customer.contact
        references: list[str] = []
        for mail in plan.mails:
            outbound = mail.outbound
            domain = data.DOMAIN if outbound else mail.address.rpartition("@")[2]
            mail_id = message_id(rng, domain, mail.date)
            to_name, to_address = (contact.name, mail.address) if outbound else plan.inbound_to
            messages.append(
                Message(
                    ticket=ticket,
                    direction=Message.Direction.OUT if outbound else Message.Direction.IN,
                    message_id=mail_id,
                    in_reply_to=references[-1] if references else "",
                    references="\n".join(references),
                    from_name=sender_name if outbound else contact.name,
                    from_address=sender_address if outbound else mail.address,
                    to=[{"name": to_name, "address": to_address}],
                    subject=plan.subject if mail.kind == "open" else f"Re: {plan.subject}",
                    date=mail.date,
                    text=mail.text,
                    priority=plan.first_priority if mail.kind == "open" else Priority.NORMAL,
                    size=len(mail.text.encode()) + rng.randint(900, 2600),
                    author=mail.author,
                    created_at=mail.date,
                )
            )
            references.append(mail_id)
        notes += [
            Note(ticket=ticket, author=author, body=body, private=private, created_at=at)
            for at, author, body, private in plan.notes
        ]
        events += [
            TicketEvent(ticket=ticket, actor=actor, kind=kind, detail=detail, created_at=at)
            for at, kind, actor, detail in sorted(plan.events, key=lambda e: e[0])
        ]
        received = [m.date for m in plan.mails if not m.outbound]
        sent = [m.date for m in plan.mails if m.outbound]
        # One plain UPDATE a ticket: much cheaper than bulk_update's CASE over ten columns.
        Ticket.objects.filter(pk=ticket.pk).update(
            ticketbox=plan.box,
            first_response_at=sent[0] if sent else None,
            last_customer_message_at=received[-1],
            last_agent_message_at=sent[-1] if sent else None,
            closed_at=plan.closed_at,
            deleted_at=plan.deleted_at,
            deleted_by=plan.deleted_by,
            escalated_to=plan.escalated_to,
            escalated_at=plan.escalated_at,
            updated_at=max(
                [plan.mails[-1].date] + [e[0] for e in plan.events] + [n[0] for n in plan.notes]
            ),
        )

    with _keeping_created_at(Message, Note, TicketEvent):
        Message.objects.bulk_create(messages, batch_size=500)
        Note.objects.bulk_create(notes, batch_size=500)
        TicketEvent.objects.bulk_create(events, batch_size=500)
    # The Created entries services.create_ticket wrote: dated like their tickets.
    TicketEvent.objects.filter(
        ticket__number__range=(tickets[0].number, tickets[-1].number), kind=Kind.CREATED
    ).update(
        created_at=Subquery(Ticket.objects.filter(pk=OuterRef("ticket_id")).values("created_at"))
    )


@contextmanager
def _keeping_created_at(*models: type[Model]) -> Iterator[None]:
    """Let inserts keep the ``created_at`` they are given instead of stamping the current time.

    ``auto_now_add`` is switched off on these fields for the duration and always switched
    back; a one-off command in its own process is the only place this may be done.
    """
    fields = [model._meta.get_field("created_at") for model in models]
    before = [f.auto_now_add for f in fields]  # type: ignore[union-attr]
    try:
        for f in fields:
            f.auto_now_add = False  # type: ignore[union-attr]
        yield
    finally:
        for f, value in zip(fields, before, strict=True):
            f.auto_now_add = value  # type: ignore[union-attr]
