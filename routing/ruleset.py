"""The compiled rule set: every enabled rule, blocked sender and our own addresses, ready to
test against a mail in microseconds, cached per process and rebuilt when anything changes.

All text conditions on one field go into one RE2 set, so a mail is scanned once per field
however many rules there are, in time linear in its size (no pattern can backtrack).
"Is in list" and "is empty" are answered with sets and lengths.

The cache is keyed by a version number in the database (``Counter`` row
``routing_rules``), bumped in the same transaction as any change to rules, conditions,
blocked senders or ticketbox addresses (``routing.signals``). Each route batch reads it
(one indexed query) and recompiles when it moved, so every worker on every machine picks up
a change with its next batch.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import re2
from django.conf import settings
from django.db import IntegrityError, transaction

from routing.conditions import (
    ADDRESS_FIELDS,
    Operator,
    describe,
    normalize_list_entry,
    pattern_for,
    re2_options,
    split_list,
)
from routing.facts import MailFacts
from tickets.models import Counter

logger = logging.getLogger("mailflow.routing")
VERSION_COUNTER = "routing_rules"


@dataclass(frozen=True)
class RuleActions:
    file_into_id: int | None = None
    assign_to_id: int | None = None
    set_priority: int | None = None
    set_status: str = ""
    auto_reply_id: int | None = None
    forward_to: tuple[str, ...] = ()
    add_note: str = ""
    delete: str = ""


@dataclass(frozen=True)
class CompiledCondition:
    index: int
    id: int
    field: str
    header: str
    operator: str
    value: str
    case_sensitive: bool
    list_entries: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return describe(self.field, self.header, self.operator, self.value, self.case_sensitive)


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    position: int
    match_all: bool
    conditions: tuple[int, ...]
    actions: RuleActions


@dataclass(frozen=True)
class BlockedMatch:
    id: int
    pattern: str
    action: str


class _FieldScan:
    """All pattern conditions on one (field, header): one RE2 set, one pass per value."""

    def __init__(self, entries: list[tuple[int, str]]) -> None:
        self.indexes = [index for index, _ in entries]
        self.single: list[tuple[int, Any]] | None = None
        try:
            self.set = re2.Set.SearchSet(re2_options())
            for _, pattern in entries:
                self.set.Add(pattern)
            self.set.Compile()
        except re2.error:
            # Too big for one automaton: fall back to one linear-time regex per condition.
            logger.warning("Routing patterns did not fit one RE2 set; testing them one by one")
            self.single = [(i, re2.compile(p, re2_options())) for i, p in entries]

    def matches(self, values: Iterable[str], found: set[int]) -> None:
        for value in values:
            if self.single is not None:
                found.update(i for i, regex in self.single if regex.search(value))
                continue
            hits = self.set.Match(value)
            if hits:
                found.update(self.indexes[hit] for hit in hits)


class _ListLookup:
    """All "is in list" conditions on one (field, header): entry → conditions listing it.

    On address fields an entry is an address or a domain (which covers its subdomains);
    on other fields a whole value, compared without case unless the condition says so.
    """

    def __init__(self, addresses: bool) -> None:
        self.addresses = addresses
        self.folded: dict[str, list[int]] = {}
        self.exact: dict[str, list[int]] = {}

    def add(self, condition: CompiledCondition) -> None:
        target = self.exact if condition.case_sensitive and not self.addresses else self.folded
        for entry in condition.list_entries:
            target.setdefault(entry, []).append(condition.index)

    def matches(self, values: Iterable[str], found: set[int]) -> None:
        for value in values:
            value = value.strip()
            if self.addresses:
                for key in _address_keys(value.lower()):
                    found.update(self.folded.get(key, ()))
                continue
            found.update(self.folded.get(value.lower(), ()))
            found.update(self.exact.get(value, ()))


def _address_keys(address: str) -> list[str]:
    """An address, its domain and each parent domain: what a list entry can name."""
    keys = [address]
    domain = address.rpartition("@")[2]
    while domain:
        keys.append(domain)
        domain = domain.partition(".")[2]
    return keys


@dataclass
class RuleSet:
    """Conditions are answered together: ``hits`` holds every condition whose test found
    something (pattern, list entry, emptiness); a condition holds when it is hit, or for
    "does not contain" when it is not. Rules are indexed by the conditions that can make
    them match, so a mail only tries the rules some hit (or a "does not contain") lets in.
    """

    version: int
    rules: list[CompiledRule]
    conditions: list[CompiledCondition]
    blocked_addresses: dict[str, BlockedMatch] = field(default_factory=dict)
    blocked_domains: dict[str, BlockedMatch] = field(default_factory=dict)
    our_addresses: frozenset[str] = frozenset()
    box_by_address: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_field: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.lists: dict[tuple[str, str], _ListLookup] = {}
        self.empties: list[CompiledCondition] = []
        for condition in self.conditions:
            key = (condition.field, condition.header)
            if condition.operator == Operator.IN_LIST:
                lookup = self.lists.setdefault(key, _ListLookup(condition.field in ADDRESS_FIELDS))
                lookup.add(condition)
            elif condition.operator == Operator.IS_EMPTY:
                self.empties.append(condition)
            else:
                pattern = pattern_for(
                    condition.operator, condition.value, case_sensitive=condition.case_sensitive
                )
                assert pattern is not None  # every other operator is a pattern
                by_field.setdefault(key, []).append((condition.index, pattern))
        self.scans = {key: _FieldScan(entries) for key, entries in by_field.items()}
        self.negative = [c.operator == Operator.NOT_CONTAINS for c in self.conditions]
        self._index_rules()

    def _index_rules(self) -> None:
        self.always: list[int] = []  # rules that may match with no hit at all
        self.by_hit: dict[int, list[int]] = {}  # condition → rules a hit on it lets in
        for order, rule in enumerate(self.rules):
            positive = [i for i in rule.conditions if not self.negative[i]]
            if not rule.conditions:
                continue
            if rule.match_all and positive:
                self.by_hit.setdefault(positive[0], []).append(order)
            elif not rule.match_all and len(positive) == len(rule.conditions):
                for i in positive:
                    self.by_hit.setdefault(i, []).append(order)
            else:
                self.always.append(order)

    def hits(self, facts: MailFacts) -> set[int]:
        """Every condition whose test found something in this mail."""
        found: set[int] = set()
        for (name, header), scan in self.scans.items():
            scan.matches(facts.values(name, header), found)
        for (name, header), lookup in self.lists.items():
            lookup.matches(facts.values(name, header), found)
        for condition in self.empties:
            if not any(v.strip() for v in facts.values(condition.field, condition.header)):
                found.add(condition.index)
        return found

    def results(self, facts: MailFacts) -> list[bool]:
        """Whether each condition of the set holds for this mail, by condition index."""
        hits = self.hits(facts)
        return [(i in hits) != negative for i, negative in enumerate(self.negative)]

    def first_match(self, facts: MailFacts) -> CompiledRule | None:
        """The first rule, in order, whose conditions match: the one that processes the mail."""
        if not self.rules:
            return None
        hits = self.hits(facts)
        candidates = set(self.always)
        for i in hits:
            candidates.update(self.by_hit.get(i, ()))
        negative = self.negative
        for order in sorted(candidates):
            rule = self.rules[order]
            held = ((i in hits) != negative[i] for i in rule.conditions)
            if all(held) if rule.match_all else any(held):
                return rule
        return None

    def trace(
        self, facts: MailFacts
    ) -> list[tuple[CompiledRule, bool, list[tuple[CompiledCondition, bool]]]]:
        """Every rule in order with its verdict and each condition's result (for explain)."""
        results = self.results(facts)
        return [
            (
                rule,
                _rule_holds(rule, results),
                [(self.conditions[i], results[i]) for i in rule.conditions],
            )
            for rule in self.rules
        ]

    def blocked(self, address: str) -> BlockedMatch | None:
        """The blocked-sender entry matching this address or its domain (or a parent domain)."""
        address = address.strip().lower()
        if not address:
            return None
        for key in _address_keys(address):
            found = self.blocked_addresses.get(key) or self.blocked_domains.get(key)
            if found is not None:
                return found
        return None


def _rule_holds(rule: CompiledRule, results: list[bool]) -> bool:
    if not rule.conditions:
        return False
    if rule.match_all:
        return all(results[i] for i in rule.conditions)
    return any(results[i] for i in rule.conditions)


def _list_entries(field_name: str, value: str, case_sensitive: bool) -> frozenset[str]:
    if field_name in ADDRESS_FIELDS:
        return frozenset(normalize_list_entry(entry) for entry in split_list(value))
    lines = [line.strip() for line in value.splitlines() if line.strip()]
    return frozenset(lines if case_sensitive else (line.lower() for line in lines))


# ---------------------------------------------------------------------------------------
# Loading and caching


def compile_ruleset(version: int) -> RuleSet:
    """Read every enabled rule and its conditions, blocked senders and our addresses."""
    from conduit.models import MailSource
    from routing.models import BlockedSender, RoutingRule
    from tickets.models import Ticketbox, TicketboxAddress

    conditions: list[CompiledCondition] = []
    rules: list[CompiledRule] = []
    for rule in RoutingRule.objects.filter(enabled=True).prefetch_related("conditions"):
        indexes = []
        for row in rule.conditions.all():
            header = row.header_name.strip().lower() if row.field == "header" else ""
            condition = CompiledCondition(
                index=len(conditions),
                id=row.pk,
                field=row.field,
                header=header,
                operator=row.operator,
                value=row.value,
                case_sensitive=row.case_sensitive,
                list_entries=(
                    _list_entries(row.field, row.value, row.case_sensitive)
                    if row.operator == Operator.IN_LIST
                    else frozenset()
                ),
            )
            conditions.append(condition)
            indexes.append(condition.index)
        rules.append(
            CompiledRule(
                id=rule.pk,
                name=rule.name,
                position=rule.position,
                match_all=rule.match == RoutingRule.Match.ALL,
                conditions=tuple(indexes),
                actions=RuleActions(
                    file_into_id=rule.file_into_id,
                    assign_to_id=rule.assign_to_id,
                    set_priority=rule.set_priority,
                    set_status=rule.set_status,
                    auto_reply_id=rule.auto_reply_id,
                    forward_to=tuple(rule.forward_addresses()),
                    add_note=rule.add_note.strip(),
                    delete=rule.delete_action,
                ),
            )
        )
    ruleset = RuleSet(version=version, rules=rules, conditions=conditions)
    for blocked in BlockedSender.objects.all():
        match = BlockedMatch(blocked.pk, blocked.pattern, blocked.action)
        pattern = normalize_list_entry(blocked.pattern)
        target = ruleset.blocked_addresses if "@" in pattern else ruleset.blocked_domains
        target[pattern] = match
    boxes = dict(TicketboxAddress.objects.values_list("address", "ticketbox_id"))
    ruleset.box_by_address = {address.lower(): box for address, box in boxes.items()}
    ours = set(ruleset.box_by_address)
    ours.update(
        a.lower()
        for a in Ticketbox.objects.exclude(from_address="").values_list("from_address", flat=True)
    )
    ours.update(
        u.lower() for u in MailSource.objects.values_list("username", flat=True) if "@" in u
    )
    if settings.MAILFLOW["DEFAULT_FROM"]:
        ours.add(settings.MAILFLOW["DEFAULT_FROM"].lower())
    ruleset.our_addresses = frozenset(ours)
    return ruleset


_cached: RuleSet | None = None


def rules_version() -> int:
    return Counter.objects.filter(name=VERSION_COUNTER).values_list("value", flat=True).first() or 0


def current_ruleset() -> RuleSet:
    """The compiled rule set, rebuilt when the version in the database has moved.

    The version is read before the rules: a change committed in between is compiled now
    under the old number and compiled again next time, never missed.
    """
    global _cached
    version = rules_version()
    if _cached is None or _cached.version != version:
        _cached = compile_ruleset(version)
        logger.info("Compiled %d routing rule(s) (version %d)", len(_cached.rules), version)
    return _cached


def bump_rules_version() -> None:
    """Invalidate every worker's compiled rule set (call inside the changing transaction).

    The new version is random rather than +1: a rolled-back change or a restored backup
    can then never bring back a number some worker still has compiled for other rules.
    """
    version = secrets.randbits(62) + 1
    if not Counter.objects.filter(name=VERSION_COUNTER).update(value=version):
        try:
            with transaction.atomic():
                Counter.objects.create(name=VERSION_COUNTER, value=version)
        except IntegrityError:
            Counter.objects.filter(name=VERSION_COUNTER).update(value=version)
