"""Delivery reports and automatic answers to our own mail, in the route step.

A bounce, a delay warning, an auto-reply or a challenge-response check that names one of our
OutboundMessages (by its VERP return path, else by the Message-ID the report quotes) is no
customer message: it opens no ticket, does not reopen one and is not a customer reply. It
is recorded on the outbound message (a failure marks it bounced), on the recipient's
contact address (hard and soft bounce counts), as a system note on the ticket, and a
failure alerts the agent who wrote the reply. Anything else (a person answering our return
path, a report we cannot match) is routed like any customer mail.

``find_delivery_reports`` decides (reads only, part of ``routing.plan``);
``record_delivery_reports`` writes (part of ``routing.apply``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F
from django.utils import timezone

from alerts.services import raise_alert
from conduit import bounce_patterns
from conduit.bounce_reading import ENVELOPE_HEADERS
from conduit.bounces import BounceReport, classify
from conduit.models import InboundMessage
from conduit.outbound import BounceCategory, OutboundMessage
from conduit.verp import looks_like_return_path
from contacts.models import ContactEmail
from tickets.models import Note, TicketEvent

if TYPE_CHECKING:
    from routing.plan import Plan

EXCERPT_CHARS = 1500
# Answers that tell the agent something but are no failure of the mail.
ANSWERS = frozenset({BounceCategory.AUTO_REPLY, BounceCategory.CHALLENGE_RESPONSE})


@dataclass
class DeliveryReport:
    """A mail that reports on one of our outbound messages, and which one."""

    report: BounceReport
    outbound: OutboundMessage
    matched_by: str  # "return path" or "Message-ID"

    @property
    def recipient(self) -> str:
        """The address the report is about, as we sent to it: the report's own, else our
        only recipient (some reports name none, or the forwarded-to address)."""
        ours = [str(r) for r in self.outbound.recipients]
        named = (self.report.recipient or "").lower()
        for address in ours:
            if address.lower() == named:
                return address
        if len(ours) == 1:
            return ours[0]
        return self.report.recipient or ""

    def explained(self) -> dict[str, Any]:
        """For ``route_explain``: what recording this report would do."""
        report = self.report
        return {
            "action": "record a delivery report (no ticket message)",
            "outbound_message": self.outbound.pk,
            "matched_by": self.matched_by,
            "category": report.category,
            "hard": report.hard,
            "recipient": self.recipient or None,
            "status": report.status,
            "diagnostic": report.diagnostic,
            "marks_bounced": report.failed,
        }


def find_delivery_reports(plans: list[Plan]) -> None:
    """Classify the mails that may be reports on our mail and match them to their outbound
    message (two queries per batch). Sets ``plan.bounce``; reads only."""
    found: list[tuple[Plan, BounceReport]] = []
    for plan in plans:
        if not _may_be_about_our_mail(plan):
            continue
        report = classify(plan.facts.raw)
        if report is not None and report.category != BounceCategory.USER_REPLY:
            found.append((plan, report))
    if not found:
        return
    by_pk = OutboundMessage.objects.select_related("ticket", "ticket_message__author").in_bulk(
        {r.return_path_id for _, r in found if r.return_path_id}
    )
    message_ids = {r.original_message_id for _, r in found if r.original_message_id}
    by_message_id: dict[str, OutboundMessage] = {}
    if message_ids:
        for outbound in (
            OutboundMessage.objects.filter(message_id__in=message_ids)
            .select_related("ticket", "ticket_message__author")
            .order_by("id")
        ):
            by_message_id.setdefault(outbound.message_id, outbound)
    for plan, report in found:
        named = by_pk.get(report.return_path_id or 0)
        quoted = by_message_id.get(report.original_message_id or "")
        if named is not None:
            plan.bounce = DeliveryReport(report, named, "return path")
        elif quoted is not None:
            plan.bounce = DeliveryReport(report, quoted, "Message-ID")


def _may_be_about_our_mail(plan: Plan) -> bool:
    """A cheap first look, so ordinary mail is not parsed twice: machine mail, a null
    return path, an automatic-answer subject, or mail to one of our return paths."""
    parsed = plan.parsed
    if parsed.delivery_report or parsed.auto_submitted:
        return True
    headers = plan.facts.header_values
    if any(v.strip() in ("<>", "") for v in headers.get("return-path", ["x"])):
        return True
    if bounce_patterns.AUTO_REPLY_SUBJECT.search(parsed.subject):
        return True
    addresses = [a.address for a in parsed.to] + [
        v for name in ENVELOPE_HEADERS for v in headers.get(name, [])
    ]
    return any(looks_like_return_path(a.strip().strip("<>")) for a in addresses if "+" in a)


def record_delivery_reports(plans: Iterable[Plan]) -> None:
    """Write each matched report: the outbound message, the contact address, a system
    note and history line on the ticket, an alert to the reply's author. Leaves the
    ticket's status and customer-reply times alone."""
    now = timezone.now()
    for plan in plans:
        if plan.bounce is None:
            continue
        inbound = plan.stored
        delivery = plan.bounce
        report, outbound = delivery.report, delivery.outbound
        InboundMessage.objects.filter(pk=inbound.pk).update(
            state=InboundMessage.State.BOUNCE, error=""
        )
        _record_on_outbound(delivery, inbound, now=now)
        bounces = _count_on_contact(delivery, now=now) if report.failed else None
        title, note = _title(delivery), _note(plan, bounces)
        if outbound.ticket is not None:
            Note.objects.create(ticket=outbound.ticket, author=None, body=note)
            answer = report.category in ANSWERS
            TicketEvent.objects.create(
                ticket=outbound.ticket,
                kind=TicketEvent.Kind.NOTE if answer else TicketEvent.Kind.BOUNCE,
                detail={"why": title, "outbound": outbound.pk, "report": inbound.pk},
            )
        if _alerts_agent(delivery):
            author = outbound.author
            raise_alert(
                "outbound_failure",
                title=title,
                body=note,
                ticket=outbound.ticket,
                agents=[author] if author is not None else [],
                once_key=f"bounce:{outbound.pk}:{inbound.pk}",
            )


def _record_on_outbound(delivery: DeliveryReport, inbound: InboundMessage, *, now: Any) -> None:
    """A failure marks the message bounced. Anything else (a delay, an auto-reply, a
    challenge) is written down without changing its state, and never over a bounce."""
    report, outbound = delivery.report, delivery.outbound
    fields = {
        "bounce_category": report.category,
        "bounce_hard": report.hard,
        "bounce_recipient": delivery.recipient[:254],
        "bounce_status": (report.status or "")[:16],
        "bounce_diagnostic": report.diagnostic,
        "bounce_report": inbound,
    }
    rows = OutboundMessage.objects.filter(pk=outbound.pk)
    if report.failed:
        rows.update(state=OutboundMessage.State.BOUNCED, bounced_at=now, **fields)
    else:
        rows.exclude(state=OutboundMessage.State.BOUNCED).update(**fields)


def _count_on_contact(delivery: DeliveryReport, *, now: Any) -> tuple[int, int] | None:
    """Count the failure on the recipient's address (any case); returns its hard and soft
    bounce counts, or None when the address belongs to no contact."""
    address = delivery.recipient.lower()
    if not address:
        return None
    report = delivery.report
    counter = "hard_bounces" if report.hard else "soft_bounces"
    rows = ContactEmail.objects.filter(address__iexact=address)
    changed = rows.update(
        **{counter: F(counter) + 1},
        last_bounce_at=now,
        last_bounce_category=report.category,
        last_bounce_diagnostic=report.diagnostic,
    )
    if not changed:
        return None
    counts = rows.values_list("hard_bounces", "soft_bounces").first()
    return (int(counts[0]), int(counts[1])) if counts else None


def _alerts_agent(delivery: DeliveryReport) -> bool:
    """Failures and challenges need the agent; a bounce of an alert mail must not raise
    another alert (it could loop), nor a delay or an out-of-office."""
    if delivery.outbound.kind == OutboundMessage.Kind.NOTIFICATION:
        return False
    category = delivery.report.category
    return delivery.report.failed or category == BounceCategory.CHALLENGE_RESPONSE


def _title(delivery: DeliveryReport) -> str:
    report, to = delivery.report, delivery.recipient or "the recipient"
    if report.category == BounceCategory.AUTO_REPLY:
        return f"Automatic reply from {to}"
    if report.category == BounceCategory.CHALLENGE_RESPONSE:
        return f"Confirmation asked: {to} holds our mail until we prove we are human"
    if report.category == BounceCategory.TRANSIENT and not report.failed:
        return f"Delivery to {to} delayed: {report.diagnostic}"[:300]
    if not report.failed:
        return f"Delivery report about {to}: {report.diagnostic or report.status}"[:300]
    return f"Not delivered to {to}: {report.diagnostic or report.status or 'no reason given'}"[:300]


def _note(plan: Plan, bounces: tuple[int, int] | None) -> str:
    """The system note on the ticket, in plain words."""
    delivery = plan.bounce
    if delivery is None:
        return ""
    report = delivery.report
    label = BounceCategory(report.category).label
    lines = [_title(delivery)]
    if report.failed:
        kind = "hard" if report.hard else "soft"
        lines.append(f"{label} ({kind} bounce{', ' + report.status if report.status else ''}).")
        if bounces is not None:
            lines.append(
                f"This address has bounced {bounces[0]} time(s) permanently and "
                f"{bounces[1]} time(s) temporarily."
            )
    elif report.category == BounceCategory.TRANSIENT:
        lines.append("The mail server keeps trying; nothing to do yet.")
    if report.category in ANSWERS and plan.parsed.text.strip():
        lines += ["", plan.parsed.text.strip()[:EXCERPT_CHARS]]
    reporter = plan.sender or "a mail server"
    lines += ["", f"Reported by {reporter} (matched by {delivery.matched_by})."]
    return "\n".join(lines)
