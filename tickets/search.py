"""Search: one box over ticket numbers, subjects, mail, notes and contacts.

``search_tickets(agent, text, page=…, size=…)`` answers one page of tickets the agent may
read (``visible_tickets``: never the trash, never a ticketbox outside their rights): the
ticket whose number was typed first, then the newest matching tickets, each with a snippet
of where it matched. Private notes match only for their author and administrators.

PostgreSQL: full-text search in the 'simple' configuration (words as written, in any
language) over GIN indexes made by migration 0005: stored tsvectors of each message's
subject and text and of each ticket's subject, expression indexes on note bodies, contact
names and addresses. The box is read by ``websearch_to_tsquery``: all words must appear
in one message, note, subject or contact; "quoted phrases", ``or`` and ``-word`` work.

Each source is asked separately for its newest matching tickets with a LIMIT, ordered by
ticket id (newest first), so the planner can walk an index newest first for a common word
and use the GIN index for a rare one; nothing ever counts every match. Results stop at
``MAX_RESULTS``.

SQLite: the same sources, matched with case-insensitive substrings (correct, not fast).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorField
from django.db import connection, transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import Expression
from django.db.models.functions import Lower, Replace
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from contacts.models import Contact, ContactEmail
from tickets.auth import is_administrator
from tickets.models import Message, Note, Ticket
from tickets.selectors import visible_tickets

MAX_RESULTS = 1000
COUNT_UP_TO = 100  # exact totals up to this many; beyond, "100+" (never a full count)
CONFIG = "simple"
SNIPPET_CHARS = 220
CONTACTS_BY_ID = 5000

NUMBER = "number"
MESSAGE = "message"
NOTE = "note"
CONTACT = "contact"
SUBJECT = "subject"
# Where a ticket's snippet comes from when it matched in several places.
SNIPPET_ORDER = (NUMBER, MESSAGE, NOTE, CONTACT, SUBJECT)
LABELS = {NUMBER: "Number", MESSAGE: "Mail", NOTE: "Note", CONTACT: "Contact", SUBJECT: "Subject"}

# Models whose search document is a stored column; the others' are index expressions.
STORED_DOCUMENTS = (Message, Ticket)

_NUMBER = re.compile(r"#?\s*(\d{1,18})")
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_EDGE_PUNCTUATION = "\"'()[]{}<>,;:!?*"


@dataclass(frozen=True)
class Terms:
    """The search box, read once: the text for PostgreSQL, the words for the SQLite
    fallback and for highlighting, and a ticket number when that is all it is."""

    text: str
    words: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    number: int | None = None

    def __bool__(self) -> bool:
        return bool(self.words or self.number is not None)


def parse(text: str) -> Terms:
    """Read the search box: words and "quoted phrases" to find, -words to leave out."""
    text = " ".join(text.split())
    words: list[str] = []
    excluded: list[str] = []
    for minus, phrase, bare in _TOKEN.findall(text):
        negative = bool(minus) or bare.startswith("-")
        word = (phrase if phrase else bare.lstrip("-")).strip(_EDGE_PUNCTUATION).lower()
        if not word or (not phrase and word == "or"):
            continue
        (excluded if negative else words).append(word)
    number = _NUMBER.fullmatch(text)
    return Terms(
        text=text,
        words=tuple(words),
        excluded=tuple(excluded),
        number=int(number[1]) if number else None,
    )


@dataclass
class Hit:
    """One result: the ticket, where it matched first, and a highlighted excerpt."""

    ticket: Ticket
    found_in: str
    snippet: SafeString

    @property
    def label(self) -> str:
        return LABELS[self.found_in]


@dataclass
class SearchPage:
    terms: Terms
    number: int
    size: int
    hits: list[Hit] = field(default_factory=list)
    has_next: bool = False
    total: int = 0  # exact, or a lower bound when ``more``
    more: bool = False  # more matches than ``total``, not counted

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.hits else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.size + len(self.hits)


def search_tickets(agent: Any, text: str, *, page: int = 1, size: int = 50) -> SearchPage:
    """One page of the tickets ``agent`` may read that match ``text``: the ticket with the
    typed number first, then the newest tickets with a match in their subject, messages,
    notes the agent may read, or contact; at most ``MAX_RESULTS`` in all."""
    terms = parse(text)
    size = max(10, min(size, 500))
    page = max(1, min(page, max(1, MAX_RESULTS // size)))
    result = SearchPage(terms=terms, number=page, size=size)
    if not terms:
        return result
    end = page * size
    limit = min(max(end + 1, COUNT_UP_TO + 1), MAX_RESULTS + 1)
    ranked, found_in, complete = _ranked_matches(agent, terms, limit=limit)
    window = ranked[end - size : end]
    result.has_next = len(ranked) > end and end < MAX_RESULTS
    result.total = len(ranked) if complete else min(len(ranked), limit - 1)
    result.more = not complete
    tickets = visible_tickets(agent).filter(pk__in=window)
    by_id = {t.pk: t for t in tickets.select_related("owner", "contact", "ticketbox")}
    ordered = [by_id[pk] for pk in window if pk in by_id]
    result.hits = _hits(agent, terms, ordered, found_in)
    return result


def _ranked_matches(
    agent: Any, terms: Terms, *, limit: int
) -> tuple[list[int], dict[int, set[str]], bool]:
    """Ticket ids, best first, with where each matched; ``complete`` when no source had
    more matches than ``limit``."""
    found_in: dict[int, set[str]] = defaultdict(set)
    complete = True
    with _without_merge_joins():
        for source, ids in _sources(agent, terms):
            got = list(ids[:limit])
            complete = complete and len(got) < limit
            for pk in got:
                found_in[pk].add(source)
    pinned = [pk for pk, where in found_in.items() if NUMBER in where]
    rest = sorted((pk for pk in found_in if pk not in pinned), reverse=True)
    return (pinned + rest)[:limit], found_in, complete


@contextmanager
def _without_merge_joins() -> Iterator[None]:
    """PostgreSQL may otherwise join a handful of matching messages to the tickets the
    agent may read by walking the whole ticket index newest first, counting on the LIMIT
    to stop it early, which never happens when there are fewer matches than the LIMIT
    (0.4 s for a rare word at 1,000,000 tickets). Nested loops look each ticket up instead;
    the setting lasts until the transaction ends."""
    if not _postgres():
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_mergejoin = off")
        yield


def _sources(agent: Any, terms: Terms) -> Iterable[tuple[str, QuerySet[Any, int]]]:
    """Per place a ticket can match, a query of matching ticket ids, newest first."""
    visible = visible_tickets(agent)
    if terms.number is not None:
        yield NUMBER, visible.filter(number=terms.number).values_list("id", flat=True)
    if not terms.words:
        return
    yield SUBJECT, _ids(_matching(visible, terms, "subject"))
    messages = _matching(Message.objects.filter(ticket__in=visible), terms, "subject", "text")
    yield MESSAGE, _ids(messages, "ticket_id").distinct()
    notes = _matching(notes_readable(agent).filter(ticket__in=visible), terms, "body")
    yield NOTE, _ids(notes, "ticket_id").distinct()
    by_name = _matching(Contact.objects.all(), terms, "name").values_list("id", flat=True)
    yield CONTACT, _ids(_tickets_of(visible, by_name))
    by_address = _matching_addresses(terms).values_list("contact_id", flat=True)
    yield CONTACT, _ids(_tickets_of(visible, by_address))


def _tickets_of(visible: QuerySet[Ticket], contacts: QuerySet[Any, int]) -> QuerySet[Ticket]:
    """Tickets of the matching contacts. A few contacts (the usual name or address) are
    passed by id, so each is one look-up in the ticket_contact index; many (a common first
    name, a domain) as a subquery, so the planner can walk the tickets newest first. (One
    subquery for both would be estimated at hundreds of contacts and walk every ticket
    when none matches.)"""
    ids = list(contacts[: CONTACTS_BY_ID + 1])
    if len(ids) <= CONTACTS_BY_ID:
        return visible.filter(contact_id__in=ids)
    return visible.filter(contact_id__in=contacts)


def notes_readable(agent: Any) -> QuerySet[Note]:
    """Notes whose text the agent may search: shared ones and their own private ones
    (administrators: every note). Ticket rights are applied by the caller."""
    if is_administrator(agent):
        return Note.objects.all()
    return Note.objects.filter(Q(private=False) | Q(author=agent))


def _ids(queryset: QuerySet[Any], column: str = "id") -> QuerySet[Any, int]:
    return queryset.order_by(f"-{column}").values_list(column, flat=True)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _query(terms: Terms) -> SearchQuery:
    return SearchQuery(terms.text, config=CONFIG, search_type="websearch")


def _matching(queryset: QuerySet[Any], terms: Terms, *fields: str) -> QuerySet[Any]:
    """Rows where all the words appear in ``fields`` (as one document on PostgreSQL).

    The document expressions are the ones migration 0005 indexes; change both together.
    """
    if not _postgres():
        return queryset.filter(_contains(terms, *fields))
    document: Any
    if queryset.model in STORED_DOCUMENTS:
        document = StoredDocument()
    else:
        (column,) = fields
        document = SearchVector(column, config=CONFIG)
    return queryset.alias(document=document).filter(document=_query(terms))


class StoredDocument(Expression):
    """The ``search_document`` column of the query's own table: a stored generated column
    made by migration 0005, not a model field."""

    output_field = SearchVectorField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        table = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{table}.search_document", []  # a list: lookups add their params to it


def _matching_addresses(terms: Terms) -> QuerySet[ContactEmail]:
    """Addresses typed in full (any case: the unique index on LOWER(address)), or by their
    parts on PostgreSQL: the name before the @, the domain."""
    emails = ContactEmail.objects.all()
    if not _postgres():
        return emails.filter(_contains(terms, "address"))
    return emails.alias(
        lower=Lower("address"),
        document=SearchVector(Replace("address", Value("@"), Value(" ")), config=CONFIG),
    ).filter(Q(lower=terms.text.lower()) | Q(document=_query(terms)))


def _contains(terms: Terms, *fields: str) -> Q:
    """The SQLite fallback: every word in one of the fields, no excluded word in any."""
    condition = Q()
    for word in terms.words:
        condition &= _any_field(fields, word)
    for word in terms.excluded:
        condition &= ~_any_field(fields, word)
    return condition


def _any_field(fields: tuple[str, ...], word: str) -> Q:
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": word})
    return condition


def _hits(
    agent: Any, terms: Terms, tickets: list[Ticket], found_in: dict[int, set[str]]
) -> list[Hit]:
    """Each ticket with an excerpt of its best match, in a few queries for the page."""
    first = {
        t.pk: next(source for source in SNIPPET_ORDER if source in found_in[t.pk]) for t in tickets
    }
    # Still through the selector: only these tickets, and only while the agent may read them.
    of = {
        source: visible_tickets(agent).filter(pk__in=[pk for pk, s in first.items() if s == source])
        for source in (MESSAGE, NOTE)
    }
    texts: dict[int, tuple[str, ...]] = {}
    if MESSAGE in first.values():
        messages = Message.objects.filter(ticket__in=of[MESSAGE])
        texts |= _newest_texts(messages, terms, ("text", "subject"), "subject", "text")
    if NOTE in first.values():
        notes = notes_readable(agent).filter(ticket__in=of[NOTE])
        texts |= _newest_texts(notes, terms, ("body",), "body")
    addresses = _addresses(terms, [t.contact_id for t in tickets if first[t.pk] == CONTACT])
    hits = []
    for ticket in tickets:
        source = first[ticket.pk]
        if source == NUMBER:
            snippet = highlight(f"Ticket #{ticket.number}", terms)
        elif source == CONTACT and ticket.contact is not None:
            address = addresses.get(ticket.contact.pk, "")
            snippet = highlight(f"{ticket.contact.name} <{address}>".strip(" <>"), terms)
        elif source in (MESSAGE, NOTE) and ticket.pk in texts:
            candidates = texts[ticket.pk]
            text = next((t for t in candidates if _matcher(t, terms)), candidates[0])
            snippet = excerpt(text, terms)
        else:
            snippet = highlight(ticket.subject, terms)
        hits.append(Hit(ticket=ticket, found_in=source, snippet=snippet))
    return hits


def _newest_texts(
    queryset: QuerySet[Any], terms: Terms, columns: tuple[str, ...], *fields: str
) -> dict[int, tuple[str, ...]]:
    """Per ticket, ``columns`` of its newest matching message or note (two small queries):
    the snippet shows the first of them that holds a searched word."""
    newest: dict[int, int] = {}
    matching = _matching(queryset, terms, *fields).order_by("pk")
    for ticket_id, pk in matching.values_list("ticket_id", "pk"):
        newest[ticket_id] = pk
    rows = queryset.filter(pk__in=newest.values()).values_list("ticket_id", *columns)
    return {ticket_id: tuple(texts) for ticket_id, *texts in rows}


def _addresses(terms: Terms, contact_ids: list[int | None]) -> dict[int, str]:
    """Per contact, the address that matched, else its first address."""
    chosen: dict[int, str] = {}
    emails = ContactEmail.objects.filter(contact_id__in=[pk for pk in contact_ids if pk])
    pattern = _pattern(terms)
    for contact_id, address in emails.order_by("-is_primary", "address").values_list(
        "contact_id", "address"
    ):
        if contact_id not in chosen or (pattern and pattern.search(address)):
            chosen[contact_id] = address
    return chosen


@lru_cache(maxsize=64)
def _pattern(terms: Terms, *, whole_words: bool = True) -> re.Pattern[str] | None:
    words = sorted(set(terms.words), key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in words)
    if whole_words:
        return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    return re.compile(alternatives, re.IGNORECASE)


def _matcher(text: str, terms: Terms) -> re.Pattern[str] | None:
    """Whole words as PostgreSQL matches them; substrings when only those match (SQLite)."""
    for whole_words in (True, False):
        pattern = _pattern(terms, whole_words=whole_words)
        if pattern and pattern.search(text):
            return pattern
    return None


def highlight(text: str, terms: Terms) -> SafeString:
    """``text`` escaped, with the searched words in <mark>."""
    pattern = _matcher(text, terms)
    if pattern is None:
        return mark_safe(escape(text))  # noqa: S308 - escaped
    parts: list[str] = []
    last = 0
    for found in pattern.finditer(text):
        parts.append(escape(text[last : found.start()]))
        parts.append(f"<mark>{escape(found.group())}</mark>")
        last = found.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part escaped


def excerpt(text: str, terms: Terms, *, chars: int = SNIPPET_CHARS) -> SafeString:
    """A line-folded excerpt of ``text`` around the first searched word, highlighted."""
    text = " ".join(text.split())
    pattern = _matcher(text, terms)
    found = pattern.search(text) if pattern else None
    start = max(0, found.start() - chars // 3) if found else 0
    if found and start:  # from a word boundary before the match
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < found.start() else start
    end = min(len(text), start + chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    body = highlight(text[start:end], terms)
    return mark_safe(f"{escape(prefix)}{body}{escape(suffix)}")  # noqa: S308 - escaped
