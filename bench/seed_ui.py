"""Bulk seeder for the UI benchmark: a help desk with 1,000,000 tickets and 3,000,000 messages.

    python bench/seed_ui.py [--tickets 1000000] [--messages-per-ticket 3]
                            [--database-url postgres://postgres@127.0.0.1:5432/mailflow_bench_ui]

Recreates the database (it must be a scratch database: it is dropped first), migrates it,
makes ticketboxes, groups, agents and their rights with the ORM, then loads contacts,
tickets, messages, notes, history and attachment rows with COPY ... FREEZE in one
transaction, with the secondary indexes dropped and built again afterwards (two at a
time), and ends with ANALYZE. Prints how long each step took.

The shape is a busy help desk's: ten ticketboxes of very different sizes (Support holds
40 %), three years of tickets of which the newest few percent are still open, 1–5
messages a ticket (mean --messages-per-ticket) of a few hundred words drawn from a
Zipf-distributed vocabulary with order numbers and customers' names, a note on one ticket
in twenty (one in five of them private), one attachment on one inbound mail in thirty.

Fixed for the benchmark (bench/ui.py): the agent "bench.agent" (not an administrator)
may read most ticketboxes but not Legal and HR; "bench.admin" is an administrator;
COMMON_WORD appears in about two messages in three, MEDIUM_WORD in about one in ten,
RARE_WORD in twenty.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mailflow_bench_ui"
AGENT = "bench.agent"
ADMIN = "bench.admin"
PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway benchmark database
COMMON_WORD = "order"
MEDIUM_WORD = "invoice"
RARE_WORD = "quokka"
RARE_OCCURRENCES = 20

# name, share of tickets, the benchmark agent's right (tier1: through the group Tier 1)
TICKETBOXES = [
    ("Support", 40, "tier1"),
    ("Sales", 14, "tier1"),
    ("Billing", 14, "tier1"),
    ("Returns", 10, "tier1"),
    ("Technical", 8, "manage"),
    ("Partners", 5, "read"),
    ("Press", 2, "reply"),
    ("Legal", 2, None),
    ("HR", 1, None),
]
UNASSIGNED_SHARE = 4
BIG_TABLES = [
    "contacts_contact",
    "contacts_contactemail",
    "tickets_ticket",
    "tickets_message",
    "tickets_note",
    "tickets_ticketevent",
    "tickets_attachment",
]
COPY_CHUNK = 1 << 20


def _words(text: str) -> list[str]:
    return text.split()


WORDS = _words(
    """
the to i and my a you is it for of this in have please on order not we with be can that
was your but me our account what has if thanks at from do are no as would help so will
hello or get any just there an all one again when they still need hi since some new been
know could by invoice up it's about out received time also payment days like i'm
delivery which don't message email can't last number problem work does should us
refund back did week send sent now see today working tried help yesterday issue login
password reset access error page shop product item items package tracking shipped
arrived damaged broken replacement return label address changed update customer support
team service subscription plan upgrade downgrade cancel cancelled charge charged twice
card bank transfer receipt copy pdf download app phone android iphone browser chrome
firefox windows mac settings profile name company vat tax quote discount code coupon
price shipping express standard europe germany france spain italy netherlands austria
warehouse stock available backorder colour size small medium large wrong missing part
screen battery charger cable manual instructions install installation device model
serial warranty repair technician appointment monday tuesday wednesday thursday friday
morning afternoon evening urgent asap soon waiting answer reply response regards kind
best cheers dear sir madam colleague manager director contract renewal terms conditions
agreement signed legal gdpr data delete export report monthly weekly annual feedback
great thank appreciate sorry unfortunately disappointed happy satisfied recommend
"""
)
FIRST_NAMES = _words(
    """
anna ben carla david emma felix greta hans ines jonas karla lukas maria nina oskar paula
quentin rosa stefan tina uwe vera walter xenia yusuf zoe adam bianca chris diana erik
fatima georg hanna igor julia kevin lea marco nora olga peter rita sven tom ursula viktor
wanda alex bruno clara dennis elena frank gina henrik isabel jan kim laura mia nico
"""
)
LAST_NAMES = _words(
    """
smith jones mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann
koch richter klein wolf neumann schwarz zimmermann braun krueger hartmann lange werner
krause lehmann koehler maier mayer huber kaiser fuchs peters scholz moeller weiss jung
hahn vogel friedrich keller guenther frank berger winkler roth beck lorenz baumann
franke albrecht schuster simon ludwig boehm winter kraus martin schumacher vogt stein
jaeger otto sommer gross seidel heinrich brandt haas schreiber graf dietrich ziegler kuhn
garcia martinez rossi russo bianchi dubois laurent moreau novak horvat kowalski nowak
"""
)
DOMAINS = [
    "example.net",
    "example.org",
    "mail.example.com",
    "customer.example",
    "shop.example.net",
    "corp.example.org",
    "post.example",
    "inbox.example.net",
]
SUBJECTS = [
    "Order {order} has not arrived",
    "Invoice question for order {order}",
    "Cannot log in since {day}",
    "Refund request for order {order}",
    "Question about my {w1} {w2}",
    "Problem with {w1} after {w2}",
    "{W1} {w2} not working",
    "Request: {w1} {w2}",
    "Damaged {w1} in package {order}",
    "Change of {w1} for my account",
]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "yesterday", "the update"]


def _syllable_words(rng: random.Random, count: int) -> list[str]:
    """Made-up words for the long tail of the vocabulary (product names, jargon)."""
    onsets = ["b", "br", "c", "d", "f", "g", "gl", "k", "l", "m", "n", "p", "pl", "r", "s"]
    onsets += ["st", "t", "tr", "v", "w", "z"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ei", "ou"]
    codas = ["", "n", "r", "s", "l", "x", "nd", "rt", "st", "m"]
    words: set[str] = set()
    while len(words) < count:
        parts = rng.randint(2, 3)
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(parts))
        words.add(word + rng.choice(codas))
    words -= {COMMON_WORD, MEDIUM_WORD, RARE_WORD}
    return sorted(words)


class Texts:
    """Message text from a pool of sentences over a Zipf-distributed vocabulary."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        vocabulary = [w for w in WORDS if w not in (COMMON_WORD, MEDIUM_WORD)]
        vocabulary += _syllable_words(rng, 4000)
        weights = [1 / (rank + 2.7) for rank in range(1, len(vocabulary) + 1)]
        self.vocabulary = vocabulary
        self.sentences = []
        for n in range(20_000):
            words = rng.choices(vocabulary, weights, k=rng.randint(6, 18))
            if n % 8 == 0:  # COMMON_WORD: in about two messages in three
                words.insert(rng.randrange(len(words)), COMMON_WORD)
            if n % 1000 == 0:  # MEDIUM_WORD: with subjects, in about one message in ten
                words.insert(rng.randrange(len(words)), MEDIUM_WORD)
            if n % 5 == 0:
                words.append("{order}")
            sentence = " ".join(words)
            self.sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(".!?.."))

    def body(self, name: str, outbound: bool, extra: str = "") -> str:
        """Lines joined by COPY's escaped newline."""
        rng = self.rng
        count = rng.randint(3, 8) if outbound else rng.randint(4, 12)
        picked = rng.choices(self.sentences, k=count)
        order = str(rng.randrange(1_000_000, 9_999_999))
        lines = [f"Hello {name}," if outbound else "Hello,", ""]
        for start in range(0, count, 3):
            lines.append(" ".join(picked[start : start + 3]).replace("{order}", order))
        if extra:
            lines.append(extra)
        lines += ["", "Kind regards,", "The support team" if outbound else name.title()]
        return "\\n".join(lines)

    def subject(self) -> str:
        rng = self.rng
        w1, w2 = rng.choice(self.vocabulary[40:400]), rng.choice(self.vocabulary[40:400])
        return rng.choice(SUBJECTS).format(
            order=rng.randrange(1_000_000, 9_999_999),
            day=rng.choice(DAYS),
            w1=w1,
            w2=w2,
            W1=w1.title(),
        )


def _ts(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def message_count(index: int, mean: int) -> int:
    """1–5 messages around ``mean`` (exactly ``mean`` on average over every five)."""
    if mean < 3:
        return max(1, mean)
    return mean + (index % 5) - 2


def message_gap(index: int) -> int:
    """Seconds between the messages of a ticket: one hour to two days."""
    return 3600 * (1 + (index * 7919) % 47)


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    if not name.startswith("mailflow_bench"):
        sys.exit(
            f"refusing to drop {name!r}: the benchmark database's name starts with mailflow_bench"
        )
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    """Production settings (DEBUG off) against the benchmark database."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mailflow.settings",
        DEBUG="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 50),
        DATABASE_URL=url,
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="testserver,localhost",
    )
    import django

    django.setup()


def make_people() -> dict[str, Any]:
    """Ticketboxes, groups, agents and rights, with the ORM (a few dozen rows)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from tickets.agents import AgentProfile
    from tickets.models import Ticketbox, TicketboxAccess

    levels = {"read": TicketboxAccess.Level.READ, "reply": TicketboxAccess.Level.REPLY}
    levels["manage"] = TicketboxAccess.Level.MANAGE
    User = get_user_model()
    tier1 = Group.objects.create(name="Tier 1")
    boxes = []
    agent = User.objects.create_user(AGENT, f"{AGENT}@example.com", PASSWORD)
    agent.first_name, agent.last_name = "Bench", "Agent"
    agent.save()
    agent.groups.add(tier1)
    for name, _, right in TICKETBOXES:
        box = Ticketbox.objects.create(name=name, from_address=f"{name.lower()}@example.com")
        boxes.append(box)
        if right == "tier1":
            TicketboxAccess.objects.create(ticketbox=box, group=tier1, level=levels["reply"])
        elif right is not None:
            TicketboxAccess.objects.create(ticketbox=box, agent=agent, level=levels[right])
    unassigned = Ticketbox.objects.get(system_key=Ticketbox.UNASSIGNED)
    User.objects.create_superuser(ADMIN, f"{ADMIN}@example.com", PASSWORD)
    agents = [agent]
    for n in range(1, 19):
        other = User.objects.create_user(f"agent{n:02}", f"agent{n:02}@example.com", PASSWORD)
        other.groups.add(tier1)
        agents.append(other)
    profile = AgentProfile.objects.get(agent=agent)
    profile.shortcut_ticketboxes.set(boxes[:5])
    profile.shortcut_agents.set(agents[1:3])
    return {
        "boxes": [
            (b.pk, b.name, share) for b, (_, share, _) in zip(boxes, TICKETBOXES, strict=True)
        ]
        + [(unassigned.pk, unassigned.name, UNASSIGNED_SHARE)],
        "agents": [a.pk for a in agents],
    }


def secondary_indexes(conn: Any) -> list[tuple[str, list[str]]]:
    """The big tables' indexes that back no constraint: each name with the statements
    that make it again (its definition, and any statistics target set on it)."""
    rows = conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid),
               (SELECT array_agg(format('ALTER INDEX %%I ALTER COLUMN %%s SET STATISTICS %%s',
                                        i.relname, a.attnum, a.attstattarget))
                FROM pg_attribute a WHERE a.attrelid = x.indexrelid AND a.attstattarget > 0)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """,
        [BIG_TABLES],
    ).fetchall()
    return [(name, [definition, *(statistics or [])]) for name, definition, statistics in rows]


def copy_rows(cursor: Any, table: str, columns: str, rows: Iterator[str]) -> int:
    """COPY text-format rows (tab-separated, escaped by their maker) into ``table``'s
    ``columns`` (named in one string, separated by spaces)."""
    quoted = ", ".join(f'"{c}"' for c in columns.split())
    count = 0
    with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN WITH (FREEZE)") as copy:
        chunk: list[str] = []
        size = 0
        for row in rows:
            chunk.append(row)
            size += len(row)
            count += 1
            if size > COPY_CHUNK:
                copy.write("\n".join(chunk) + "\n")
                chunk, size = [], 0
        if chunk:
            copy.write("\n".join(chunk) + "\n")
    return count


class Seeder:
    def __init__(self, args: argparse.Namespace, people: dict[str, Any]) -> None:
        self.rng = random.Random(args.random_seed)
        self.texts = Texts(self.rng)
        self.tickets = args.tickets
        self.per_ticket = args.messages_per_ticket
        self.contacts = max(10, args.tickets // 5)
        self.agents = people["agents"]
        self.boxes = people["boxes"]
        self.now = time.time()
        self.start = self.now - 3 * 365 * 86400
        # Per ticket, kept for the passes after the tickets: contact, owner, subject.
        self.ticket_contact = array("q")
        self.ticket_owner = array("q")
        self.ticket_box = array("q")
        self.subjects: list[str] = []
        self.contact_names: list[str] = []
        self.contact_addresses: list[str] = []
        self.first_number = 0

    def contact_rows(self) -> Iterator[str]:
        created = _ts(self.start)
        for n in range(1, self.contacts + 1):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            name = f"{first.title()} {last.title()}"
            self.contact_names.append(name)
            self.contact_addresses.append(f"{first}.{last}.{n}@{self.rng.choice(DOMAINS)}")
            yield f"{n}\t{name}\t\t\tf\t{{}}\t{created}\t{created}"

    def email_rows(self) -> Iterator[str]:
        created = _ts(self.start)
        for n, address in enumerate(self.contact_addresses, start=1):
            yield f"{n}\t{address}\tt\t{created}\t{n}"

    def ticket_created(self, index: int) -> float:
        span = self.now - 7 * 86400 - self.start
        return self.start + span * index / self.tickets + (index * 7) % 600

    def ticket_rows(self) -> Iterator[str]:
        rng = self.rng
        box_ids = [pk for pk, _, _ in self.boxes]
        box_weights = [share for _, _, share in self.boxes]
        boxes = rng.choices(box_ids, box_weights, k=self.tickets)
        agent_weights = [5] + [1] * (len(self.agents) - 1)
        recent = self.tickets - max(1, self.tickets * 3 // 100)
        for index in range(self.tickets):
            number = self.first_number + index
            created = self.ticket_created(index)
            count = message_count(index, self.per_ticket)
            gap = message_gap(index)
            dates = [min(created + j * gap, self.now - 60) for j in range(count)]
            last_in = max(d for j, d in enumerate(dates) if j % 2 == 0)
            last_out = max((d for j, d in enumerate(dates) if j % 2 == 1), default=None)
            roll = rng.random()
            if index >= recent:
                status = "open" if roll < 0.5 else "waiting" if roll < 0.75 else "on_hold"
                status = "closed" if roll > 0.85 else status
            else:
                status = "closed" if roll < 0.97 else rng.choice(["open", "waiting", "on_hold"])
            owned = status == "closed" or rng.random() < 0.6
            owner = rng.choices(self.agents, agent_weights)[0] if owned else 0
            contact = rng.randrange(1, self.contacts + 1)
            subject = self.texts.subject()
            self.ticket_contact.append(contact)
            self.ticket_owner.append(owner)
            self.ticket_box.append(boxes[index])
            self.subjects.append(subject)
            closed = _ts(dates[-1] + 3600) if status == "closed" else "\\N"
            deleted = _ts(dates[-1] + 7200) if rng.random() < 0.01 else "\\N"
            priority = rng.choices([1, 2, 3, 4], [10, 70, 15, 5])[0]
            yield "\t".join(
                [
                    str(index + 1),
                    str(number),
                    subject,
                    status,
                    str(priority),
                    _ts(created),
                    _ts(dates[-1]),
                    _ts(dates[1]) if count > 1 else "\\N",
                    _ts(last_in),
                    _ts(last_out) if last_out else "\\N",
                    closed,
                    deleted,
                    str(contact),
                    str(owner) if owner else "\\N",
                    str(boxes[index]),
                ]
            )

    def message_rows(self) -> Iterator[str]:
        rng = self.rng
        texts = self.texts
        total = sum(message_count(i, self.per_ticket) for i in range(self.tickets))
        rare_every = max(1, total // RARE_OCCURRENCES)
        pk = 0
        for index in range(self.tickets):
            created = self.ticket_created(index)
            gap = message_gap(index)
            contact = self.ticket_contact[index]
            name = self.contact_names[contact - 1]
            address = self.contact_addresses[contact - 1]
            author = self.ticket_owner[index] or self.agents[1]
            number = self.first_number + index
            subject = self.subjects[index]
            for j in range(message_count(index, self.per_ticket)):
                pk += 1
                date = _ts(min(created + j * gap, self.now - 60))
                outbound = j % 2 == 1
                extra = RARE_WORD + " sighted near the warehouse." if pk % rare_every == 0 else ""
                text = texts.body(name.split()[0], outbound, extra)
                if outbound:
                    sender = ("The support team", "support@example.com")
                    to = json.dumps([{"name": name, "address": address}])
                    line = f"Re: {subject} [#TB-{number}]"
                    message_id = f"<mf.{number}.{pk:016x}.0@example.com>"
                else:
                    sender = (name, address)
                    to = '[{"name": "Support", "address": "support@example.com"}]'
                    line = subject if j == 0 else f"Re: {subject} [#TB-{number}]"
                    message_id = f"<{pk}.{rng.randrange(1 << 30)}@{address.split('@')[1]}>"
                yield "\t".join(
                    [
                        str(pk),
                        "out" if outbound else "in",
                        message_id,
                        "",
                        "",
                        sender[0],
                        sender[1],
                        to,
                        "[]",
                        line,
                        date,
                        text,
                        "",
                        "2",
                        str(len(text) + 600),
                        date,
                        str(author) if outbound else "\\N",
                        "\\N",
                        str(index + 1),
                    ]
                )

    def note_rows(self) -> Iterator[str]:
        rng = self.rng
        for pk, index in enumerate(range(0, self.tickets, 20), start=1):
            private = "t" if pk % 5 == 0 else "f"
            author = self.ticket_owner[index] or rng.choice(self.agents)
            body = rng.choice(self.texts.sentences).replace("{order}", str(index))
            created = _ts(self.ticket_created(index) + 1800)
            yield f"{pk}\t{body}\t{private}\t{created}\t{author}\t{index + 1}"

    def event_rows(self) -> Iterator[str]:
        pk = 0
        details = {box: json.dumps({"ticketbox": name}) for box, name, _ in self.boxes}
        for index in range(self.tickets):
            pk += 1
            created = self.ticket_created(index)
            box = self.ticket_box[index]
            yield f"{pk}\tcreated\t{details[box]}\t{_ts(created)}\t\\N\t{index + 1}"
            count = message_count(index, self.per_ticket)
            if count > 1:
                pk += 1
                replied = _ts(created + message_gap(index))
                owner = self.ticket_owner[index] or self.agents[1]
                yield f"{pk}\tmessage_out\t{{}}\t{replied}\t{owner}\t{index + 1}"

    def attachment_rows(self) -> Iterator[str]:
        pk = 0
        message = 0
        for index in range(self.tickets):
            for j in range(message_count(index, self.per_ticket)):
                message += 1
                if j % 2 == 0 and message % 30 == 0:
                    pk += 1
                    digest = f"{message:064x}"
                    path = f"attachments/{digest[:2]}/{digest[2:4]}/{digest}"
                    yield (
                        f"{pk}\tscreenshot-{message}.png\timage/png\t48213\t{digest}\t{path}\tf\t"
                        f"\t{message}"
                    )


def load(conn: Any, seeder: Seeder) -> dict[str, int]:
    """Every big table, in one transaction, COPY ... FREEZE after a TRUNCATE (so the rows
    are written frozen and all-visible: no VACUUM needed before index-only scans)."""
    counts = {}
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK trigger per row
        cursor.execute("TRUNCATE " + ", ".join(BIG_TABLES) + " CASCADE")  # all empty yet
        steps = [
            (
                "contacts_contact",
                "id name company notes route_to_owner custom created_at updated_at",
                seeder.contact_rows,
            ),
            (
                "contacts_contactemail",
                "id address is_primary created_at contact_id",
                seeder.email_rows,
            ),
            (
                "tickets_ticket",
                "id number subject status priority created_at updated_at first_response_at "
                "last_customer_message_at last_agent_message_at closed_at deleted_at contact_id "
                "owner_id ticketbox_id",
                seeder.ticket_rows,
            ),
            (
                "tickets_message",
                "id direction message_id in_reply_to references from_name from_address to cc "
                "subject date text html priority size created_at author_id inbound_id ticket_id",
                seeder.message_rows,
            ),
            (
                "tickets_note",
                "id body private created_at author_id ticket_id",
                seeder.note_rows,
            ),
            (
                "tickets_ticketevent",
                "id kind detail created_at actor_id ticket_id",
                seeder.event_rows,
            ),
            (
                "tickets_attachment",
                "id filename content_type size sha256 file inline content_id message_id",
                seeder.attachment_rows,
            ),
        ]
        for table, columns, rows in steps:
            started = time.monotonic()
            counts[table] = copy_rows(cursor, table, columns, rows())
            print(f"  {table}: {counts[table]:,} rows in {time.monotonic() - started:.0f} s")
        for table in BIG_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        cursor.execute(
            "UPDATE tickets_counter SET value = %s WHERE name = 'ticket_number'",
            [seeder.first_number + seeder.tickets - 1],
        )
    return counts


def build_indexes(url: str, indexes: list[tuple[str, list[str]]], workers: int = 2) -> None:
    """Build the dropped indexes again, ``workers`` at a time, biggest first."""
    import psycopg

    todo = sorted(indexes, key=lambda item: ("message_search" not in item[0], item[0]))
    lock = threading.Lock()

    def work() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '2GB'")
            while True:
                with lock:
                    if not todo:
                        return
                    name, statements = todo.pop(0)
                started = time.monotonic()
                for statement in statements:
                    conn.execute(statement)
                print(f"  index {name}: {time.monotonic() - started:.0f} s")

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def seed(args: argparse.Namespace) -> None:
    import psycopg

    url = args.database_url
    began = time.monotonic()
    recreate_database(url)
    setup_django(url)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    people = make_people()
    print(f"schema, agents and ticketboxes: {time.monotonic() - began:.0f} s")
    seeder = Seeder(args, people)
    seeder.first_number = settings.MAILFLOW["TICKET_NUMBER_START"]
    with psycopg.connect(url) as conn:
        indexes = secondary_indexes(conn)
        with conn.transaction():
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET synchronous_commit = off")
        started = time.monotonic()
        counts = load(conn, seeder)
        print(f"loaded with COPY: {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    build_indexes(url, indexes)
    print(f"{len(indexes)} indexes built: {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    print(f"ANALYZE: {time.monotonic() - started:.0f} s")
    print(
        f"seeded {counts['tickets_ticket']:,} tickets, {counts['tickets_message']:,} messages, "
        f"{counts['contacts_contact']:,} contacts, {counts['tickets_note']:,} notes, "
        f"{counts['tickets_ticketevent']:,} events in {time.monotonic() - began:.0f} s"
    )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages-per-ticket", type=int, default=3)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="dropped and made again")
    parser.add_argument(
        "--random-seed", type=int, default=42, help="the same data for the same seed"
    )
    return parser


if __name__ == "__main__":
    seed(parser().parse_args())
