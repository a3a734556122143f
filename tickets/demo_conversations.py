"""The mail of the demo's tickets: how a conversation goes, when each mail is sent, and
what it says, quotes included (part of ``manage.py seed_demo``, see tickets/demo.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tickets import demo_data as data
from tickets.agents import AgentProfile
from tickets.demo_contacts import Customer
from tickets.models import Ticketbox

# Conversation shapes and how often they occur: the customer opens, an agent replies, ...
SHAPES = (
    (("open",), 10),
    (("open", "reply"), 30),
    (("open", "reply", "thanks"), 14),
    (("open", "reply", "follow"), 10),
    (("open", "reply", "follow", "reply2"), 20),
    (("open", "reply", "follow", "reply2", "thanks"), 16),
)
AGENT_KINDS = frozenset({"reply", "reply2"})
NEEDS_ANSWER = frozenset({"open", "follow"})


@dataclass
class Mail:
    kind: str  # open, reply, follow, reply2, thanks
    date: datetime
    address: str  # the customer's address in this mail
    author: Any = None
    body: str = ""  # what the writer typed
    text: str = ""  # the body with any quote below it

    @property
    def outbound(self) -> bool:
        """Written by an agent (the rest come from the customer)."""
        return self.kind in AGENT_KINDS


def template_fields(rng: random.Random, customer: Customer, created_at: datetime) -> dict[str, str]:
    """Values for the ``data.PLACEHOLDERS`` of one ticket's texts."""
    product, product2 = rng.sample(data.PRODUCTS, 2)
    size_at = rng.randrange(len(data.SIZES) - 1)
    size, size2 = data.SIZES[size_at : size_at + 2]
    if rng.random() < 0.5:
        size, size2 = size2, size
    ordered = created_at - timedelta(days=rng.randint(3, 12))
    return {
        "first": customer.first,
        "name": customer.contact.name,
        "company": customer.company,
        "agent": "",
        "order": f"TO-{rng.randint(100000, 999999)}",
        "order_date": f"{ordered.day} {ordered:%B}",
        "invoice": f"INV-{created_at.year}-{rng.randint(10000, 99999)}",
        "rma": f"RMA-{rng.randint(10000, 99999)}",
        "quote": f"Q-{rng.randint(1000, 9999)}",
        "tracking": f"TH{rng.randint(10**9, 10**10 - 1)}GB",
        "product": product,
        "product2": product2,
        "qty": str(rng.choice((8, 12, 15, 20, 24, 30, 40))),
        "amount": f"£{rng.choice((24, 39.5, 59, 89, 129, 179, 249)):,.2f}",
        "size": size,
        "size2": size2,
    }


def draft_mails(
    rng: random.Random,
    scenario: data.Scenario,
    customer: Customer,
    created_at: datetime,
    now: datetime,
) -> list[Mail]:
    """The mails of a conversation opened at ``created_at``, dated but not yet written."""
    address = customer.addresses[0]
    if len(customer.addresses) > 1 and rng.random() < 0.25:
        address = rng.choice(customer.addresses[1:])
    kinds = _shape(rng, scenario, created_at, now)
    dates = _dates(rng, kinds, created_at, now)
    return [Mail(k, d, address) for k, d in zip(kinds[: len(dates)], dates, strict=True)]


def _shape(
    rng: random.Random, scenario: data.Scenario, created_at: datetime, now: datetime
) -> tuple[str, ...]:
    if scenario.spam:
        return ("open",)
    shapes = [(s, w) for s, w in SHAPES if scenario.exchanges or "follow" not in s]
    if now - created_at > timedelta(days=data.RECENT_DAYS):
        # Older tickets have been answered, but a few still wait (they trip the age alerts).
        backlog = rng.random() < 0.04
        shapes = [(s, w) for s, w in shapes if (s[-1] in NEEDS_ANSWER) == backlog]
    return rng.choices([s for s, _ in shapes], weights=[w for _, w in shapes])[0]


def _dates(
    rng: random.Random, kinds: tuple[str, ...], created_at: datetime, now: datetime
) -> list[datetime]:
    """Agents answer within hours, customers within a day or so; nothing after now."""
    dates = [created_at]
    for kind in kinds[1:]:
        if kind in AGENT_KINDS:
            minutes = 4 + min(rng.expovariate(1 / 240), 3 * 24 * 60)
        else:
            minutes = 15 + min(rng.expovariate(1 / (16 * 60)), 6 * 24 * 60)
        moment = (dates[-1] + timedelta(minutes=minutes)).replace(microsecond=0)
        if moment > now - timedelta(minutes=2):
            break
        dates.append(moment)
    return dates


def write_mails(
    rng: random.Random,
    mails: list[Mail],
    *,
    scenario: data.Scenario,
    fields: dict[str, str],
    box: Ticketbox,
    signatures: dict[int, dict[str, str]],
    profiles: dict[int, AgentProfile],
) -> None:
    """Fill in each mail's body and text; the authors of the agents' mails are known."""
    fields = dict(fields)
    reply_at = rng.randrange(len(scenario.replies)) if scenario.replies else 0
    exchange = rng.choice(scenario.exchanges) if scenario.exchanges else ("", "")
    signed = fields["first"] if rng.random() < 0.6 else fields["name"]
    if fields["company"] and rng.random() < 0.7:
        signed += f"\n{fields['company']}"
    quoting_customer = rng.random() < 0.4
    previous: Mail | None = None
    for mail in mails:
        if mail.outbound:
            author = mail.author
            fields["agent"] = author.first_name
            core = scenario.replies[reply_at] if mail.kind == "reply" else exchange[1]
            sigs = signatures[author.pk]
            mail.body = (
                f"{rng.choice(data.AGENT_GREETINGS).format_map(fields)}\n\n"
                f"{core.format_map(fields)}\n\n"
                f"{rng.choice(data.AGENT_CLOSINGS)}\n{sigs.get(box.name, sigs[''])}"
            )
            profile = profiles[author.pk]
            mail.text = mail.body
            if previous and profile.quote_replies:
                mail.text += f"\n\n{_quote(previous, fields['name'], profile.quote_prefix)}"
        else:
            if mail.kind == "open" and scenario.spam:
                mail.body = rng.choice(scenario.openings)
            elif mail.kind == "open":
                mail.body = (
                    f"{rng.choice(data.CUSTOMER_GREETINGS)}\n\n"
                    f"{rng.choice(scenario.openings).format_map(fields)}\n\n"
                    f"{rng.choice(data.CUSTOMER_SIGNOFFS)}\n{signed}"
                )
            elif mail.kind == "follow":
                mail.body = (
                    f"Hi {fields['agent']},\n\n{exchange[0].format_map(fields)}\n\n"
                    f"{rng.choice(data.CUSTOMER_SIGNOFFS)}\n{fields['first']}"
                )
            else:
                mail.body = f"{rng.choice(data.THANKS).format_map(fields)}\n\n{fields['first']}"
            mail.text = mail.body
            if previous and quoting_customer:
                name, address = sender(box)
                mail.text += f"\n\n{_quote(previous, f'{name} <{address}>', '> ')}"
        previous = mail


def _quote(mail: Mail, who: str, prefix: str) -> str:
    lines = [f"{prefix}{line}" if line else prefix.rstrip() for line in mail.body.splitlines()]
    return f"On {mail.date:%a, %d %b %Y at %H:%M}, {who} wrote:\n" + "\n".join(lines)


def sender(box: Ticketbox) -> tuple[str, str]:
    """Name and address replies from this ticketbox go out under."""
    return (box.from_name or data.GENERAL_FROM_NAME, box.from_address or data.GENERAL_ADDRESS)


def message_id(rng: random.Random, domain: str, stamp: datetime) -> str:
    return f"<{stamp:%Y%m%d%H%M%S}.{rng.getrandbits(48):012x}@{domain}>"
