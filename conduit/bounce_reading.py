"""Reading a delivery report's parts and words, for ``conduit.bounces``: the readable
text (plain, else HTML as text) up to where the copy of the returned mail begins, headers
decoded, charsets tolerated, everything capped at ``MAX_SCAN_CHARS``."""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

from conduit import bounce_patterns as P

MAX_SCAN_CHARS = 64 * 1024
MAX_DIAGNOSTIC_CHARS = 1000
# Where a report addressed to our return path shows it (the To header, or the trace headers
# the receiving server adds).
ENVELOPE_HEADERS = ("to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
MESSAGE_ID = re.compile(r"^message-id:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
ANGLE_ID = re.compile(r"<[^<>\s]+>")
_TAG = re.compile(r"<[^>]*>")
_LEADING_REPLY = re.compile(r"^([245]\d\d)[ -]([245]\.\d{1,3}\.\d{1,3})?")


@dataclass(frozen=True)
class ReportText:
    before_copy: str  # the mail server's words
    copy: str  # the returned mail quoted after them (its headers name its Message-ID)


def human_text(message: Message) -> ReportText:
    """The report's readable text (plain, else HTML as text), capped, split where a copy
    of the returned mail begins. Attached mails (message/rfc822) are not descended into."""
    plain, markup = [], []
    for part in parts(message):
        kind = part.get_content_type()
        if kind == "text/plain" and part.get_filename() is None:
            plain.append(decoded(part))
        elif kind == "text/html":
            markup.append(html.unescape(_TAG.sub(" ", decoded(part))))
    text = "\n".join(plain or markup)[:MAX_SCAN_CHARS].replace("\r\n", "\n")
    marker = re.search(P.COPY_MARKERS.pattern, text, re.IGNORECASE | re.MULTILINE)
    if marker is None:
        return ReportText(text, "")
    return ReportText(text[: marker.start()], text[marker.start() :])


def parts(message: Message) -> Iterator[Message]:
    """Every leaf part and message/* part, without entering attached messages."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from parts(part)
    else:
        yield message


def decoded(part: Message) -> str:
    """A part's text in its declared charset (unknown charsets and bad bytes tolerated)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        inner = part.get_payload()
        if isinstance(inner, list):
            return "\n\n".join(str(p) for p in inner if isinstance(p, Message))[:MAX_SCAN_CHARS]
        return str(inner or "")[:MAX_SCAN_CHARS]
    payload = payload[: MAX_SCAN_CHARS * 4]
    charset = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    try:
        return payload.decode(charset)
    except UnicodeDecodeError:
        return payload.decode("utf-8" if charset != "utf-8" else "cp1252", "replace")


def envelope_addresses(message: Message) -> list[str]:
    values = [v for name in ENVELOPE_HEADERS for v in message.get_all(name, [])]
    return [address for _, address in getaddresses([str(v) for v in values]) if address]


def sent_by_daemon(message: Message) -> bool:
    name, address = parseaddr(message.get("from", ""))
    return bool(P.DAEMON_SENDER.search(address) or P.DAEMON_NAME.search(decode_words(name)))


def null_return_path(message: Message) -> bool:
    paths = message.get_all("return-path", [])
    return any(str(p).strip() in ("<>", "") for p in paths)


def subject_of(message: Message) -> str:
    return decode_words(message.get("subject", ""))


def decode_words(value: Any) -> str:
    try:
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except (LookupError, UnicodeError, ValueError, TypeError):
        return " ".join(str(value).split())


def message_id_in(text: str) -> str:
    match = MESSAGE_ID.search(text)
    return match[1] if match else ""


def first_id(value: str) -> str | None:
    match = ANGLE_ID.search(str(value))
    return match[0] if match else None


def after_semicolon(value: str) -> str:
    value = " ".join(str(value).split())
    kind, sep, rest = value.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else value


def tidy(text: str) -> str:
    """One line, without the code a multi-line SMTP reply repeats on each line
    ("550-5.1.1 The email account ... 550-5.1.1 double-checking ...")."""
    line = " ".join(text.split())
    lead = _LEADING_REPLY.match(line)
    if lead:
        again = re.compile(rf"\s{lead[1]}[ -]{re.escape(lead[2] or '')}\s*")
        line = line[: lead.end()] + again.sub(" ", line[lead.end() :])
    return " ".join(line.split())[:MAX_DIAGNOSTIC_CHARS]


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return tidy(line)
    return ""
