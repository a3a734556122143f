"""How a mail finds its ticket: our Message-IDs, the ticket tag in the subject.

Every message we send carries the ticket tag in its subject (``MAILFLOW_TICKET_TAG``,
"[#TB-{number}]" by default) and a Message-ID that names the ticket and is signed with the
site's secret, so a customer's reply threads by In-Reply-To / References even when their
client dropped the tag, and nobody can forge one to post onto another ticket.
"""

from __future__ import annotations

import re
import secrets
import socket
from functools import cache

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_OUR_ID = re.compile(r"^<?mf\.(\d{1,18})\.([0-9a-f]{16})\.([0-9a-f]{16})@[^>]*>?$")


def ticket_tag(number: int) -> str:
    """The tag for a ticket's subject lines, e.g. [#TB-1042]."""
    return settings.MAILFLOW["TICKET_TAG"].replace("{number}", str(number))


@cache
def _tag_pattern(tag_format: str) -> re.Pattern[str]:
    # The literal parts of the format, tolerant of case and of spaces a client may add or
    # drop around them; the number itself is digits. No nested repetition: linear time.
    before, _, after = tag_format.partition("{number}")

    def loose(text: str) -> str:
        return r"\s*".join(re.escape(part) for part in text.split())

    return re.compile(loose(before) + r"\s*(\d{1,18})\s*" + loose(after), re.IGNORECASE)


def tag_pattern() -> re.Pattern[str]:
    return _tag_pattern(settings.MAILFLOW["TICKET_TAG"])


def tagged_numbers(subject: str) -> list[int]:
    """Ticket numbers tagged in a subject, first tag first."""
    return [int(number) for number in tag_pattern().findall(subject)]


def tagged_subject(subject: str, number: int) -> str:
    """The subject with this ticket's tag (and no other) at its end."""
    bare = tag_pattern().sub("", subject).strip()
    return f"{bare} {ticket_tag(number)}".strip()


def message_id_domain() -> str:
    domain = settings.MAILFLOW["MESSAGE_ID_DOMAIN"]
    if not domain and settings.MAILFLOW["DEFAULT_FROM"]:
        domain = settings.MAILFLOW["DEFAULT_FROM"].rpartition("@")[2]
    return domain or socket.getfqdn() or "mailflow.invalid"


def _signature(number: int, token: str) -> str:
    return salted_hmac("mailflow.message-id", f"{number}.{token}", algorithm="sha256").hexdigest()[
        :16
    ]


def new_message_id(ticket_number: int) -> str:
    """A fresh Message-ID for mail about this ticket, signed so replies can be trusted."""
    token = secrets.token_hex(8)
    return f"<mf.{ticket_number}.{token}.{_signature(ticket_number, token)}@{message_id_domain()}>"


def ticket_number_in_message_id(message_id: str) -> int | None:
    """The ticket a Message-ID of ours names, or None (not ours, or a forged signature)."""
    found = _OUR_ID.match(message_id.strip())
    if not found:
        return None
    number, token, signature = int(found[1]), found[2], found[3]
    return number if constant_time_compare(signature, _signature(number, token)) else None
