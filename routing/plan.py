"""Deciding where each mail of a batch goes, without changing anything.

The route step and the explain dry run share this: blocked senders, threading (with the
ticketbox's policy for replies to closed tickets), the rules in order, the fallbacks
(inbound address, follow-up, source default, Unassigned), owner, priority, status, and
which automatic mail may be sent. ``routing.apply`` then writes what was decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from conduit.mime import ParsedMessage
from conduit.models import InboundMessage
from contacts.models import Contact
from contacts.selectors import contacts_by_address
from routing.bounces import DeliveryReport, find_delivery_reports
from routing.facts import MailFacts
from routing.loops import auto_reply_refusal, is_our_loop, recently_replied, reply_address
from routing.ruleset import BlockedMatch, CompiledCondition, CompiledRule, RuleSet
from routing.threads import tagged_numbers, ticket_number_in_message_id
from tickets.models import Message, Ticket, Ticketbox
from tickets.services import unassigned_ticketbox

PRIORITIES = {
    "low": Ticket.Priority.LOW,
    "normal": Ticket.Priority.NORMAL,
    "high": Ticket.Priority.HIGH,
    "urgent": Ticket.Priority.URGENT,
}
TRASH, DISCARD = "trash", "discard"
CLOSED = Ticket.Status.CLOSED
RuleTrace = list[tuple[CompiledRule, bool, list[tuple[CompiledCondition, bool]]]]


@dataclass
class Plan:
    """One mail and what routing decided for it."""

    parsed: ParsedMessage
    facts: MailFacts
    received_at: datetime
    inbound: InboundMessage | None = None
    source_box_id: int | None = None

    blocked: BlockedMatch | None = None
    ticket: Ticket | None = None  # the ticket it goes onto (existing, or opened by apply)
    thread_method: str = ""
    thread_ref: str = ""
    parent: Plan | None = None  # an earlier mail of the batch whose new ticket it joins
    follow_up_of: Ticket | None = None
    reopen: bool = False
    new_ticket: bool = False
    rule: CompiledRule | None = None
    trace: RuleTrace = field(default_factory=list)
    contact: Contact | None = None
    ticketbox: Ticketbox | None = None
    ticketbox_reason: str = ""
    owner_id: int | None = None
    owner_reason: str = ""
    priority: int = Ticket.Priority.NORMAL
    priority_reason: str = "the mail's own priority headers"
    status: str = Ticket.Status.OPEN
    delete: str = ""
    delete_reason: str = ""
    note: str = ""
    from_address: str = ""  # of automatic mail about this ticket
    auto_reply_id: int | None = None
    auto_reply_to: str = ""
    auto_reply_reason: str = ""
    forward_to: tuple[str, ...] = ()
    forward_reason: str = ""
    message: Message | None = None
    bounce: DeliveryReport | None = None  # a report on our own mail: recorded, no ticket

    @property
    def sender(self) -> str:
        return self.facts.sender

    @property
    def on_ticket(self) -> Ticket:
        """The ticket the mail went onto; only asked once it has one."""
        if self.ticket is None:
            raise RuntimeError("This mail has no ticket (yet).")
        return self.ticket

    @property
    def stored(self) -> InboundMessage:
        """The stored mail being routed (explain plans have none)."""
        if self.inbound is None:
            raise RuntimeError("This plan is a dry run: no stored mail.")
        return self.inbound

    @property
    def discarded(self) -> bool:
        return self.delete == DISCARD


def plan_batch(plans: list[Plan], ruleset: RuleSet, *, trace: bool = False) -> list[Plan]:
    """Decide every mail of the batch (in order of arrival). Reads only. Delivery reports
    and automatic answers to our own mail (``routing.bounces``) take no part in threading,
    rules or automatic mail: they are recorded on the message they report on."""
    find_delivery_reports(plans)
    _plan_customer_mail([p for p in plans if p.bounce is None], ruleset, trace=trace)
    return plans


def _plan_customer_mail(plans: list[Plan], ruleset: RuleSet, *, trace: bool) -> None:
    for plan in plans:
        plan.priority = PRIORITIES.get(plan.parsed.priority, Ticket.Priority.NORMAL)
        plan.blocked = ruleset.blocked(plan.sender)
        if plan.blocked is not None:
            plan.delete = plan.blocked.action
            plan.delete_reason = f"the sender is blocked ({plan.blocked.pattern})"
    _thread(plans)
    contacts = contacts_by_address({p.sender.lower() for p in plans if p.sender})
    for plan in plans:
        plan.contact = contacts.get(plan.sender.lower())
        if trace:
            plan.trace = ruleset.trace(plan.facts)
        if plan.parent is not None and plan.parent.delete:
            # The mail it answers went to the trash or was discarded (decided after
            # threading): like a reply to a ticket in the trash, it opens a ticket of its own.
            plan.parent = None
        elif plan.parent is not None and plan.parent.parent is not None:
            plan.parent = plan.parent.parent  # a reply to a reply: the mail that opens it
        if plan.ticket is None and plan.parent is None:
            _apply_rules(plan, ruleset)
            plan.new_ticket = not plan.discarded
    _choose_ticketboxes(plans, ruleset)
    _choose_automatic_mail(plans, ruleset)


def _thread(plans: list[Plan]) -> None:
    """Find each mail's ticket: references to messages we stored or sent, our signed
    Message-IDs, then the ticket tag in the subject. A reply to a mail earlier in the same
    batch joins that mail's new ticket. Blocked senders never post onto a ticket."""
    refs = {id(p): _references(p.parsed) for p in plans}
    wanted = {ref for p in plans for ref in refs[id(p)]}
    by_message_id: dict[str, Ticket] = {}
    if wanted:
        for message in (
            Message.objects.filter(message_id__in=wanted, ticket__deleted_at__isnull=True)
            .select_related("ticket__ticketbox")
            .order_by("id")
        ):
            by_message_id.setdefault(message.message_id, message.ticket)
    numbers = {
        n
        for p in plans
        for n in [*map(ticket_number_in_message_id, refs[id(p)]), *tagged_numbers(p.parsed.subject)]
        if n
    }
    by_number = _tickets_by_number(numbers)
    closed = [t.pk for t in [*by_message_id.values(), *by_number.values()] if t.status == CLOSED]
    follow_ups: dict[int, Ticket | Plan] = {}
    if closed:
        for ticket in (
            Ticket.objects.active()
            .filter(follow_up_of__in=closed)
            .exclude(status=CLOSED)
            .select_related("ticketbox")
            .order_by("created_at")
        ):
            # The latest open follow-up wins.
            follow_ups[ticket.follow_up_of_id] = ticket  # type: ignore[index]
    threads: dict[str, Ticket | Plan] = dict(by_message_id)
    for plan in plans:
        if plan.blocked is None:
            _find_thread(plan, refs[id(plan)], threads, by_number, follow_ups)
        if plan.parsed.message_id and not plan.discarded:
            threads.setdefault(plan.parsed.message_id, plan.ticket or plan)


def _tickets_by_number(numbers: set[int]) -> dict[int, Ticket]:
    """Tickets by number; a ticket merged into another answers with that one (merges can
    chain: followed a few steps), and a ticket in the trash otherwise with nothing."""
    found: dict[int, Ticket] = {}
    merged: dict[int, int] = {}
    for ticket in Ticket.objects.filter(number__in=numbers).select_related("ticketbox"):
        if ticket.deleted_at is None:
            found[ticket.number] = ticket
        elif ticket.merged_into_id:
            merged[ticket.number] = ticket.merged_into_id
    for _ in range(5):
        if not merged:
            break
        targets = Ticket.objects.filter(pk__in=set(merged.values())).select_related("ticketbox")
        by_pk = {t.pk: t for t in targets}
        still: dict[int, int] = {}
        for number, pk in merged.items():
            target = by_pk.get(pk)
            if target is None:
                continue
            if target.deleted_at is None:
                found[number] = target
            elif target.merged_into_id:
                still[number] = target.merged_into_id
        merged = still
    return found


def _references(parsed: ParsedMessage) -> list[str]:
    return [r for r in dict.fromkeys([parsed.in_reply_to, *reversed(parsed.references)]) if r]


def _find_thread(
    plan: Plan,
    refs: list[str],
    threads: dict[str, Ticket | Plan],
    by_number: dict[int, Ticket],
    follow_ups: dict[int, Ticket | Plan],
) -> None:
    found: Ticket | Plan | None = None
    for ref in refs:
        if ref in threads:
            found = threads[ref]
            plan.thread_method = "In-Reply-To" if ref == plan.parsed.in_reply_to else "References"
            plan.thread_ref = ref
            break
    if found is None:
        for ref in refs:
            number = ticket_number_in_message_id(ref)
            if number in by_number:
                found, plan.thread_method, plan.thread_ref = (
                    by_number[number],
                    "our Message-ID",
                    ref,
                )
                break
    if found is None:
        for number in tagged_numbers(plan.parsed.subject):
            if number in by_number:
                found, plan.thread_method = by_number[number], "subject tag"
                plan.thread_ref = str(number)
                break
    if isinstance(found, Plan):
        plan.parent = found  # resolved to the mail that opens the ticket in plan_batch
    elif isinstance(found, Ticket):
        _onto_ticket(plan, found, follow_ups)


def _onto_ticket(plan: Plan, ticket: Ticket, follow_ups: dict[int, Ticket | Plan]) -> None:
    """A reply to an existing ticket. To a closed one, the ticketbox's policy decides:
    reopen it, or follow it up with a new linked ticket, which later replies to the closed
    ticket join while it is open (in this batch too) instead of opening one each."""
    if ticket.status != CLOSED:
        plan.ticket = ticket
        plan.reopen = ticket.status == Ticket.Status.WAITING
        return
    box = ticket.ticketbox
    too_late = (
        box.reopen_days is not None
        and ticket.closed_at is not None
        and ticket.closed_at < plan.received_at - timedelta(days=box.reopen_days)
    )
    if box.closed_reply == Ticketbox.ClosedReply.REOPEN and not too_late:
        plan.ticket = ticket
        plan.reopen = True
        return
    existing = follow_ups.get(ticket.pk)
    plan.thread_method += f", closed: follows up #{ticket.number}"
    if isinstance(existing, Ticket):
        plan.ticket = existing
        plan.reopen = existing.status == Ticket.Status.WAITING
    elif isinstance(existing, Plan):
        plan.parent = existing
    else:
        plan.follow_up_of = ticket
        follow_ups[ticket.pk] = plan


def _apply_rules(plan: Plan, ruleset: RuleSet) -> None:
    if plan.blocked is not None:
        return
    rule = ruleset.first_match(plan.facts)
    if rule is None:
        return
    plan.rule = rule
    actions = rule.actions
    if actions.delete:
        plan.delete, plan.delete_reason = actions.delete, f"rule “{rule.name}”"
    if actions.assign_to_id:
        plan.owner_id, plan.owner_reason = actions.assign_to_id, f"rule “{rule.name}”"
    if actions.set_priority:
        plan.priority, plan.priority_reason = actions.set_priority, f"rule “{rule.name}”"
    if actions.set_status:
        plan.status = actions.set_status
    plan.note = actions.add_note
    plan.forward_to = actions.forward_to


def _choose_ticketboxes(plans: list[Plan], ruleset: RuleSet) -> None:
    """Where each new ticket goes: the rule's ticketbox, the closed ticket's ticketbox
    (follow-ups), the ticketbox owning an address the mail was sent to, the source's
    default, else Unassigned. And its owner, when no rule chose one: the contact's owner agent."""
    openers = [p for p in plans if p.new_ticket]
    choices: dict[int, tuple[int | None, str]] = {}
    for plan in openers:
        choices[id(plan)] = _box_choice(plan, ruleset)
    ids = {box for box, _ in choices.values() if box}
    boxes = Ticketbox.objects.in_bulk(ids) if ids else {}
    unassigned: Ticketbox | None = None
    for plan in openers:
        box_id, reason = choices[id(plan)]
        box = boxes.get(box_id) if box_id else None
        if box is None:
            unassigned = unassigned or unassigned_ticketbox()
            box, reason = unassigned, "no rule, address or source chose another"
        plan.ticketbox, plan.ticketbox_reason = box, reason
        contact = plan.contact
        if plan.owner_id is None and contact and contact.route_to_owner and contact.owner_id:
            plan.owner_id = contact.owner_id
            plan.owner_reason = f"owner of contact {contact}"


def _box_choice(plan: Plan, ruleset: RuleSet) -> tuple[int | None, str]:
    if plan.rule and plan.rule.actions.file_into_id:
        return plan.rule.actions.file_into_id, f"rule “{plan.rule.name}”"
    if plan.follow_up_of is not None:
        return plan.follow_up_of.ticketbox_id, f"follow-up of #{plan.follow_up_of.number}"
    if plan.blocked is None:
        for address in plan.facts.values("recipients"):
            box = ruleset.box_by_address.get(address.lower())
            if box:
                return box, f"sent to {address}"
    if plan.source_box_id:
        return plan.source_box_id, "the mail source's default ticketbox"
    return None, ""


def _choose_automatic_mail(plans: list[Plan], ruleset: RuleSet) -> None:
    """Which mails may get an auto-reply or be forwarded, and from which address."""
    default_from = settings.MAILFLOW["DEFAULT_FROM"]
    backlog = _backlogs([p.ticketbox for p in plans if p.new_ticket and p.ticketbox])
    window = timedelta(minutes=settings.MAILFLOW["AUTO_REPLY_WINDOW_MINUTES"])
    candidates: list[Plan] = []
    for plan in plans:
        box = plan.ticketbox or (plan.ticket.ticketbox if plan.ticket else None)
        plan.from_address = (box.from_address if box else "") or default_from
        if plan.forward_to:
            plan.forward_reason = _forward_refusal(plan)
        if not plan.new_ticket:
            continue
        wanted, why = _wanted_auto_reply(plan, backlog)
        plan.auto_reply_reason = why
        if wanted is None:
            continue
        plan.auto_reply_to = reply_address(plan.facts)
        refusal = auto_reply_refusal(plan.facts, plan.auto_reply_to, ours=ruleset.our_addresses)
        if not refusal and not plan.from_address:
            refusal = "no From address: set one on the ticketbox or MAILFLOW_DEFAULT_FROM"
        if refusal:
            plan.auto_reply_reason = f"not sent: {refusal}"
            continue
        plan.auto_reply_id = wanted
        candidates.append(plan)
    since = timezone.now() - window
    recent = recently_replied({p.auto_reply_to.lower() for p in candidates}, since=since)
    seen: set[str] = set()
    for plan in candidates:
        address = plan.auto_reply_to.lower()
        if address in recent or address in seen:
            plan.auto_reply_id = None
            plan.auto_reply_reason = (
                f"not sent: {plan.auto_reply_to} already got an automatic reply in the last "
                f"{_minutes(window)}"
            )
        seen.add(address)


def _wanted_auto_reply(plan: Plan, backlog: dict[int, int]) -> tuple[int | None, str]:
    if plan.delete:
        return None, "not sent: the ticket went to the trash" if plan.delete == TRASH else ""
    if plan.rule and plan.rule.actions.auto_reply_id:
        return plan.rule.actions.auto_reply_id, f"rule “{plan.rule.name}”"
    box = plan.ticketbox
    if box is None or box.auto_reply == Ticketbox.AutoReply.OFF or not box.auto_reply_response_id:
        return None, ""
    if plan.status == Ticket.Status.CLOSED:
        return None, "not sent: the rule closed the ticket"
    if box.auto_reply == Ticketbox.AutoReply.BACKLOG:
        waiting = backlog.get(box.pk, 0)
        if waiting <= box.auto_reply_threshold:
            return None, (
                f"not sent: {waiting} open ticket(s) in {box}, not above the auto-reply "
                f"threshold of {box.auto_reply_threshold}"
            )
    return box.auto_reply_response_id, f"ticketbox {box} auto-reply"


def _forward_refusal(plan: Plan) -> str:
    if is_our_loop(plan.facts):
        return "not forwarded: it carries our own loop header (it would loop)"
    if not plan.from_address:
        return "not forwarded: no From address: set one on the ticketbox or MAILFLOW_DEFAULT_FROM"
    return ""


def _backlogs(boxes: list[Ticketbox]) -> dict[int, int]:
    """Open tickets per ticketbox, for the ticketboxes that auto-reply on a backlog."""
    ids = {b.pk for b in boxes if b.auto_reply == Ticketbox.AutoReply.BACKLOG}
    if not ids:
        return {}
    rows = (
        Ticket.objects.open()
        .filter(ticketbox_id__in=ids)
        .values("ticketbox")
        .annotate(n=Count("id"))
    )
    return {row["ticketbox"]: row["n"] for row in rows}


def _minutes(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minute(s)" if minutes < 120 else f"{minutes // 60} hour(s)"


def new_plan(parsed: ParsedMessage, raw: bytes, **fields: Any) -> Plan:
    fields.setdefault("received_at", timezone.now())
    return Plan(parsed=parsed, facts=MailFacts(parsed, raw), **fields)
