"""Routing benchmark: 1,000 rules against 10,000 messages.

    python bench/routing.py [--rules 1000] [--messages 10000] [--no-end-to-end]

Builds a rule set like a large help desk's (subject, sender, recipient, header and body
conditions with every operator, one in ten a regular expression, 200 blocked senders) in
which most mail matches no rule and the rest only one of the last three: the worst case
for first-match routing. Then measures, on PostgreSQL (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/mailflow_bench_routing, recreated each run):

1. rule evaluation: the compiled rule set deciding each parsed message (the figure the
   target of < 2 ms per message with 1,000 rules is about);
2. the routing decision per batch of 50 (``plan_batch``: blocked senders, threading,
   contacts, rules, fallbacks; reads only);
3. end to end: stored raw mail routed into tickets by ``route_batch`` (parse, decide,
   write), as a worker does it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import bench_mail, prepare_database  # noqa: E402

FIELDS_TEXT = ["subject", "subject", "subject", "body", "from_name", "headers"]
OPERATORS_TEXT = ["contains", "contains", "equals", "starts_with", "ends_with"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9)))


def build_rules(count: int, rng: random.Random) -> None:
    """``count`` rules, the last few matching real mail (refunds, one sender domain)."""
    from routing.models import BlockedSender, RoutingRule, RuleCondition
    from tickets.models import Ticketbox

    boxes = [Ticketbox.objects.create(name=f"Box {n}") for n in range(20)]
    rules, conditions = [], []
    for position in range(count - 3):
        rules.append(
            RoutingRule(
                name=f"Rule {position}",
                position=position,
                match=rng.choice(["all", "any"]),
                file_into=rng.choice(boxes),
                set_priority=rng.choice([None, 3]),
            )
        )
    rules += [
        RoutingRule(name="Refunds", position=count - 3, file_into=boxes[0], set_priority=3),
        RoutingRule(name="VIP domain", position=count - 2, file_into=boxes[1]),
        RoutingRule(name="Invoices", position=count - 1, file_into=boxes[2], match="any"),
    ]
    RoutingRule.objects.bulk_create(rules)
    for rule in rules[:-3]:
        # The first condition never holds; in "all" rules the others may (a "does not
        # contain", an empty Cc), in "any" rules they never do either.
        conditions.append(_random_condition(rule, rng, holds=False))
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            conditions.append(_random_condition(rule, rng, holds=rule.match == "all"))
        if rule.match == "any" and rng.random() < 0.1:
            # "Does not contain" in an "any" rule can hold with nothing found, so such a
            # rule is tried on every mail (here it never holds: every mail says "Line").
            conditions.append(
                RuleCondition(rule=rule, field="body", operator="not_contains", value="Line")
            )
    refunds, vip, invoices = rules[-3:]
    conditions += [
        RuleCondition(rule=refunds, field="subject", operator="starts_with", value="refund"),
        RuleCondition(
            rule=vip,
            field="from_address",
            operator="in_list",
            value="customer7@example.net\ncustomer11@example.net",
        ),
        RuleCondition(
            rule=invoices,
            field="subject",
            operator="regex",
            value=r"invoice\s+question\s+for\s+account\s+\d+9$",
        ),
        RuleCondition(rule=invoices, field="body", operator="contains", value="invoice copy"),
    ]
    RuleCondition.objects.bulk_create(conditions)
    BlockedSender.objects.bulk_create(
        BlockedSender(pattern=f"{_word(rng)}.example", action="discard") for _ in range(200)
    )
    from routing.ruleset import bump_rules_version

    bump_rules_version()  # bulk_create sends no signals


def _random_condition(rule: object, rng: random.Random, *, holds: bool) -> object:
    from routing.models import RuleCondition

    roll = rng.random()
    if holds and roll < 0.3:
        if roll < 0.15:
            return RuleCondition(rule=rule, field="cc", operator="is_empty", value="")
        return RuleCondition(
            rule=rule, field=rng.choice(FIELDS_TEXT), operator="not_contains", value=_word(rng)
        )
    if roll < 0.10:
        return RuleCondition(
            rule=rule,
            field=rng.choice(["subject", "body"]),
            operator="regex",
            value=rf"{_word(rng)}\s+(?:{_word(rng)}|{_word(rng)})\d*",
        )
    if roll < 0.25:
        domains = "\n".join(f"{_word(rng)}.example" for _ in range(rng.randint(1, 20)))
        return RuleCondition(
            rule=rule,
            field=rng.choice(["from_address", "recipients"]),
            operator="in_list",
            value=domains,
        )
    if roll < 0.32:
        return RuleCondition(
            rule=rule, field="header", header_name="X-Mailer", operator="contains", value=_word(rng)
        )
    if roll < 0.35:
        return RuleCondition(rule=rule, field="subject", operator="is_empty", value="")
    return RuleCondition(
        rule=rule,
        field=rng.choice(FIELDS_TEXT),
        operator=rng.choice(OPERATORS_TEXT),
        value=" ".join(_word(rng) for _ in range(rng.randint(1, 2))),
        case_sensitive=rng.random() < 0.1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--no-end-to-end", action="store_true", help="skip the write step")
    args = parser.parse_args()

    url = os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailflow_bench_routing"
    )
    media = tempfile.mkdtemp(prefix="mf-bench-routing-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mailflow.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 50),
        DATABASE_URL=url,
        MEDIA_ROOT=media,
        LOG_LEVEL="WARNING",
    )
    prepare_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from conduit.mime import parse_message
    from conduit.store import store_many
    from routing.facts import MailFacts
    from routing.plan import new_plan, plan_batch
    from routing.ruleset import current_ruleset
    from routing.services import route_batch
    from tickets.models import Ticket

    call_command("migrate", verbosity=0)
    rng = random.Random(11)
    build_rules(args.rules, rng)
    raws = [bench_mail(index, rng) for index in range(args.messages)]
    parsed = [parse_message(raw) for raw in raws]

    started = time.perf_counter()
    ruleset = current_ruleset()
    compile_s = time.perf_counter() - started

    # 1. Rule evaluation, message by message.
    timings, matched = [], 0
    for message, raw in zip(parsed, raws, strict=True):
        begin = time.perf_counter()
        facts = MailFacts(message, raw)
        ruleset.blocked(facts.sender)
        rule = ruleset.first_match(facts)
        timings.append(time.perf_counter() - begin)
        matched += rule is not None
    total = sum(timings)
    ms = sorted(t * 1000 for t in timings)

    # 1b. The same without the rule index: every rule's verdict, as explain computes it.
    sample = min(len(parsed), 2000)
    begin = time.perf_counter()
    for message, raw in zip(parsed[:sample], raws[:sample], strict=True):
        ruleset.trace(MailFacts(message, raw))
    full_s = time.perf_counter() - begin

    # 2. The routing decision, batch by batch (reads only).
    begin = time.perf_counter()
    for start in range(0, len(parsed), 50):
        plans = [
            new_plan(message, raw)
            for message, raw in zip(
                parsed[start : start + 50], raws[start : start + 50], strict=True
            )
        ]
        plan_batch(plans, ruleset)
    plan_s = time.perf_counter() - begin

    n = args.messages
    print(
        f"routing: {len(ruleset.rules)} rules ({len(ruleset.conditions)} conditions), "
        f"{len(ruleset.blocked_domains)} blocked domains, {n} messages, PostgreSQL"
    )
    print(f"  rule set compiled in {compile_s * 1000:.0f} ms")
    print(
        f"  rule evaluation: {n / total:,.0f} messages/second, "
        f"{total / n * 1000:.3f} ms per message (median {statistics.median(ms):.3f} ms, "
        f"p99 {ms[int(len(ms) * 0.99)]:.3f} ms); {matched} matched a rule, "
        f"{n - matched} matched none of the {len(ruleset.rules)} "
        f"({len(ruleset.always)} rules are checked on every mail)"
    )
    print(
        f"  every rule evaluated (no index, as explain does; {sample} of {len(parsed)} "
        f"messages): {full_s / sample * 1000:.3f} ms per message"
    )
    print(
        f"  routing decision (plan_batch of 50, with its queries): "
        f"{n / plan_s:,.0f} messages/second, {plan_s / n * 1000:.3f} ms per message"
    )

    if not args.no_end_to_end:
        with transaction.atomic():
            ids = [row.inbound.pk for row in store_many(raws, origin="bench")]
        begin = time.perf_counter()
        for start in range(0, len(ids), 50):
            route_batch(ids[start : start + 50])
        e2e = time.perf_counter() - begin
        tickets = Ticket.objects.count()
        by_rule = Ticket.objects.exclude(ticketbox__system_key="unassigned").count()
        print(
            f"  end to end (parse, decide, write; route_batch of 50): {n / e2e:,.0f} "
            f"messages/second, {e2e / n * 1000:.2f} ms per message; {tickets} tickets, "
            f"{by_rule} filed by a rule"
        )
    import shutil

    shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
