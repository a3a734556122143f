"""Ticket lists: the filters and sort orders an agent can ask for, applied to an
access-checked queryset, with a constant number of queries per page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from tickets.agents import agent_name
from tickets.models import Attachment, Ticket

SORTS = {
    "number": "number",
    "subject": "subject",
    "status": "status",
    "priority": "priority",
    "owner": "owner__username",
    "contact": "contact__name",
    "box": "ticketbox__name",
    "created": "created_at",
    "updated": "updated_at",
    "waiting": "last_customer_message_at",
}
DEFAULT_SORT = "-priority,waiting"  # most urgent first, then the longest waiting
AGES = {
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
}


@dataclass
class ListQuery:
    """What the agent asked for, read from the query string (unknown values are ignored)."""

    status: str = "active"  # active = everything but closed; or one status; or all
    priority: int | None = None
    owner: str = ""  # "", "me", "none", or an agent id
    age: str = ""  # older than: one of AGES
    contact: int | None = None
    attachments: bool = False
    sort: list[str] = field(default_factory=lambda: DEFAULT_SORT.split(","))

    @classmethod
    def from_params(cls, params: QueryDict) -> ListQuery:
        def text(name: str) -> str:
            return str(params.get(name, "") or "")

        query = cls()
        status = text("status") or "active"
        if status in {"active", "all", *Ticket.Status.values}:
            query.status = status
        if text("priority").isdigit():
            query.priority = int(text("priority"))
        owner = text("owner")
        if owner in ("me", "none") or owner.isdigit():
            query.owner = owner
        if text("age") in AGES:
            query.age = text("age")
        if text("contact").isdigit():
            query.contact = int(text("contact"))
        query.attachments = text("attachments") == "1"
        sort = [key for key in text("sort").split(",") if key.lstrip("-") in SORTS]
        if sort:
            query.sort = sort
        return query

    def sort_key(self) -> str:
        return ",".join(self.sort)


def apply(tickets: QuerySet[Ticket], query: ListQuery, agent: Any) -> QuerySet[Ticket]:
    if query.status == "active":
        tickets = tickets.exclude(status=Ticket.Status.CLOSED)
    elif query.status != "all":
        tickets = tickets.filter(status=query.status)
    if query.priority:
        tickets = tickets.filter(priority=query.priority)
    if query.owner == "me":
        tickets = tickets.filter(owner=agent)
    elif query.owner == "none":
        tickets = tickets.filter(owner__isnull=True)
    elif query.owner:
        tickets = tickets.filter(owner_id=int(query.owner))
    if query.age:
        tickets = tickets.filter(created_at__lt=timezone.now() - AGES[query.age])
    if query.contact:
        tickets = tickets.filter(contact_id=query.contact)
    if query.attachments:
        tickets = tickets.filter(
            Exists(Attachment.objects.filter(message__ticket=OuterRef("pk"), inline=False))
        )
    order = []
    for key in query.sort:
        column = SORTS[key.lstrip("-")]
        order.append(f"-{column}" if key.startswith("-") else column)
    return tickets.order_by(*order, "-id").select_related("owner", "contact", "ticketbox")


COUNT_UP_TO = 10_000  # lists say "10000+ tickets" beyond this; counting more costs a scan


class CappedPage(Page):
    """A page past the counted rows: whether another follows comes from one extra row."""

    def __init__(self, object_list: Any, number: int, paginator: Any, *, more: bool) -> None:
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


class CappedPaginator(Paginator):
    """Counts at most ``COUNT_UP_TO`` rows: an exact count of a ticketbox with hundreds of
    thousands of tickets reads them all on every page view. Past the cap, pages go on
    ("Next" while a row follows), they are just not counted."""

    capped = False  # more rows than the count says

    @cached_property
    def count(self) -> int:
        rows: Any = self.object_list  # the ids queryset page_of gives
        found = rows.order_by()[: COUNT_UP_TO + 1].count()
        self.capped = found > COUNT_UP_TO
        return min(found, COUNT_UP_TO)

    def validate_number(self, number: Any) -> int:
        if not (self.count and self.capped):
            return super().validate_number(number)
        try:
            value = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if value < 1:
            raise EmptyPage("That page number is less than 1")
        return value

    def get_page(self, number: Any) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:  # past the last row beyond the cap: the last counted page
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        if not self.capped or number * self.per_page < self.count:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows:
            raise EmptyPage("That page contains no results")
        return CappedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


def page_of(tickets: QuerySet[Ticket], number: str | None, size: int) -> Page:
    """One page of the list. The page's ids come first (from an index, however deep the
    page), then the rows of just those ids with their owner, contact and ticketbox: an
    OFFSET over joined rows would join every row it skips."""
    paginator = CappedPaginator(tickets.values_list("pk", flat=True), max(10, min(size, 500)))
    page = paginator.get_page(number)
    ids = list(page.object_list)
    found = tickets.order_by().filter(pk__in=ids).only(*ROW_FIELDS)
    rows = {ticket.pk: ticket for ticket in found}
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


# The columns a list row shows: a page loads these and nothing else.
ROW_FIELDS = (
    "number",
    "subject",
    "status",
    "priority",
    "last_customer_message_at",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "contact__name",
    "ticketbox__name",
)


@dataclass(frozen=True, slots=True)
class Row:
    """One ticket as a list shows it: plain strings, so a page renders in a few ms."""

    number: int
    href: str  # empty: the agent takes this ticket through Get Oldest only
    priority: int
    priority_label: str
    subject: str
    contact: str
    status: str
    status_label: str
    owner: str
    ticketbox: str
    waiting: str
    waiting_since: str


def rows_of(tickets: Iterable[Ticket], *, get_oldest_only: bool = False) -> list[Row]:
    """The page's tickets as rows (one URL reversal per page, not per ticket)."""
    marker = 987654321
    href = reverse("desk:ticket", args=[marker]).replace(str(marker), "{}")
    now = timezone.now()
    priorities, statuses = dict(Ticket.Priority.choices), dict(Ticket.Status.choices)
    rows = []
    for t in tickets:
        owner = t.owner
        waiting = t.last_customer_message_at
        rows.append(
            Row(
                number=t.number,
                href="" if get_oldest_only and owner is None else href.format(t.number),
                priority=t.priority,
                priority_label=str(priorities.get(t.priority, t.priority)),
                subject=t.subject or "(no subject)",
                contact=str(t.contact) if t.contact_id else "",
                status=t.status,
                status_label=str(statuses.get(t.status, t.status)),
                owner=agent_name(owner),
                ticketbox=t.ticketbox.name,
                waiting=f"{timesince(waiting, now, depth=1)} ago" if waiting else "",
                waiting_since=waiting.isoformat() if waiting else "",
            )
        )
    return rows
