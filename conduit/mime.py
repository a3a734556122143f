"""Raw mail in, ParsedMessage out: a pure function that never raises.

The structure comes from the stdlib parser with the compat32 policy: it is the same
tolerant parser policy.default uses, but never builds header objects, whose strict parsing
can raise on odd headers. Headers, charsets and transfer encodings are then decoded here,
leniently (see conduit/mime_headers.py, mime_charset.py, mime_transfer.py), and everything
that was wrong and repaired is described in `defects`.

Body rules: text/plain and text/html parts that are not attachments form the body (in
multipart/alternative both are kept, one for `text`, one for `html`); text is made from the
HTML when there is no plain part. message/rfc822 parts become .eml attachments; uuencoded and
BinHex blocks in text, BinHex parts and TNEF (winmail.dat) are unpacked into attachments.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from conduit.mime_body import BodyParts, collect_body
from conduit.mime_flags import is_auto_submitted, is_delivery_report, priority_from
from conduit.mime_headers import (
    decode_header_value,
    parse_addresses,
    parse_date,
    parse_msg_ids,
)
from conduit.mime_html import sanitize_html
from conduit.mime_html_text import html_to_text

logger = logging.getLogger(__name__)

MAX_HEADERS = 2000
MAX_HEADER_CHARS = 64 * 1024
# Bounds the linear pre-passes over HTML (about 1 MB/s each); the sanitizer's own cost is bounded
# separately (conduit.mime_html.MAX_HTML_COST).
MAX_HTML_CHARS = 1_000_000
_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:\-]{1,40})""", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ADDRESS_HEADERS = ("from", "sender", "to", "cc", "reply-to")


@dataclass(frozen=True)
class Address:
    """One mailbox: decoded display name ("" if none) and addr-spec as written ("" if none)."""

    name: str
    address: str


@dataclass
class ParsedAttachment:
    """A file carried by the message, including inline images and unpacked legacy files."""

    filename: str
    content_type: str
    payload: bytes
    inline: bool
    content_id: str

    @property
    def size(self) -> int:
        """Size of the payload in bytes."""
        return len(self.payload)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the payload."""
        return hashlib.sha256(self.payload).hexdigest()


@dataclass
class ParsedMessage:
    """Everything routing and the UI need from one raw message."""

    message_id: str
    from_: Address | None
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    subject: str
    date: datetime | None
    in_reply_to: str
    references: list[str]
    text: str
    html: str | None
    attachments: list[ParsedAttachment]
    priority: str
    auto_submitted: bool
    delivery_report: bool
    defects: list[str]
    headers: list[tuple[str, str]]  # all top-level headers, decoded, in order

    def as_json(self, *, file: str) -> dict[str, Any]:
        """The object `manage.py parse_email --json` prints for this message."""
        return {
            "file": file,
            "message_id": self.message_id,
            "from": _address_json(self.from_) if self.from_ else None,
            "to": [_address_json(address) for address in self.to],
            "cc": [_address_json(address) for address in self.cc],
            "reply_to": [_address_json(address) for address in self.reply_to],
            "subject": self.subject,
            "date": self.date.isoformat() if self.date else None,
            "in_reply_to": self.in_reply_to,
            "references": list(self.references),
            "text": self.text,
            "html": self.html,
            "attachments": [_attachment_json(attachment) for attachment in self.attachments],
            "priority": self.priority,
            "auto_submitted": self.auto_submitted,
            "delivery_report": self.delivery_report,
            "defects": list(self.defects),
        }


def _address_json(address: Address) -> dict[str, str]:
    return {"name": address.name, "address": address.address}


def _attachment_json(attachment: ParsedAttachment) -> dict[str, Any]:
    return {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "inline": attachment.inline,
        "content_id": attachment.content_id,
        "sha256": attachment.sha256,
    }


def empty_message(*, defects: list[str]) -> ParsedMessage:
    """A message with nothing in it but the given defects (for unreadable input)."""
    return ParsedMessage(
        message_id="",
        from_=None,
        to=[],
        cc=[],
        reply_to=[],
        subject="",
        date=None,
        in_reply_to="",
        references=[],
        text="",
        html=None,
        attachments=[],
        priority="normal",
        auto_submitted=False,
        delivery_report=False,
        defects=list(defects),
        headers=[],
    )


def parse_file(path: str | Path) -> tuple[ParsedMessage, bool]:
    """Parse the mail in a file; returns the message and whether the file could be read."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        return empty_message(defects=[f"cannot read file: {exc.strerror or exc}"]), False
    return parse_message(raw), True


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw mail; never raises: whatever cannot be parsed is described in `defects`."""
    try:
        return _parse(bytes(raw))
    except Exception as exc:  # the promise is "never raises"; the failure becomes a defect
        logger.exception("MIME parser failed on a %d-byte message", len(raw or b""))
        return empty_message(defects=[f"message could not be parsed: {type(exc).__name__}"])


def _parse(raw: bytes) -> ParsedMessage:
    data, defects = _prepare(raw)
    hint_match = _CHARSET_PARAM.search(data[: 256 * 1024])
    hint = hint_match.group(1).decode("ascii") if hint_match else None
    message, structure_defects = _parse_structure(data)
    defects += structure_defects
    headers, header_defects = _decoded_headers(message, hint=hint)
    defects += header_defects
    body = collect_body(message, hint=hint)
    defects += body.defects
    return _assemble(message, headers, body, defects, hint=hint)


def _prepare(raw: bytes) -> tuple[bytes, list[str]]:
    """Drop NUL bytes and normalize line endings to LF (the parser works line by line)."""
    defects = []
    if not raw.strip():
        defects.append("empty message")
    if b"\x00" in raw:
        defects.append(f"removed {raw.count(0)} NUL bytes")
        raw = raw.replace(b"\x00", b"")
    if b"\r" in raw:
        if re.search(rb"\r(?!\n)", raw):
            defects.append("bare CR line endings")
        raw = re.sub(rb"\r\n?", b"\n", raw)
    return raw, defects


def _parse_structure(data: bytes) -> tuple[Message, list[str]]:
    parser = BytesParser(policy=policy.compat32)
    try:
        return parser.parsebytes(data), []
    except RecursionError:
        # Thousands of nested multiparts exhaust the stack; keep the headers, show the raw body.
        message = parser.parsebytes(data, headersonly=True)
        return message, ["MIME structure nested too deeply; body shown as raw text"]


def _decoded_headers(
    message: Message, *, hint: str | None
) -> tuple[list[tuple[str, str]], list[str]]:
    headers: list[tuple[str, str]] = []
    defects: list[str] = []
    items = message.raw_items()
    for index, (name, raw) in enumerate(items):
        if index >= MAX_HEADERS:
            defects.append(f"more than {MAX_HEADERS} headers; the rest were ignored")
            break
        if len(raw) > MAX_HEADER_CHARS:
            defects.append(f"header {name[:40]} longer than {MAX_HEADER_CHARS} characters; cut")
            raw = raw[:MAX_HEADER_CHARS]
        value, problems = decode_header_value(raw, hint=hint)
        headers.append((name, value))
        defects += [f"{name[:40]}: {problem}" for problem in problems]
    return headers, defects


def _raw_header(message: Message, name: str, *, all_values: bool = False) -> str:
    values = [value for key, value in message.raw_items() if key.lower() == name]
    values = [value[:MAX_HEADER_CHARS] for value in values]
    if all_values:
        return ", ".join(values)
    return values[0] if values else ""


def _addresses(message: Message, name: str, hint: str | None) -> list[Address]:
    # Problems are not recorded here: decoding the same header for `headers` already did.
    pairs, _problems = parse_addresses(_raw_header(message, name, all_values=True), hint=hint)
    return [Address(name=_clean(display), address=_clean(address)) for display, address in pairs]


def _assemble(
    message: Message,
    headers: list[tuple[str, str]],
    body: BodyParts,
    defects: list[str],
    *,
    hint: str | None,
) -> ParsedMessage:
    first: dict[str, str] = {}
    for name, value in headers:
        first.setdefault(name.lower(), value)
    senders = _addresses(message, "from", hint)
    if not senders:
        senders = _addresses(message, "sender", hint)
        missing = "From header without a usable address" if "from" in first else "no From header"
        defects.append(missing + ("; used Sender" if senders else ""))
    from_ = senders[0] if senders else None
    subject = first.get("subject", "")
    text, html = _body_text(body, defects)
    delivery_report = is_delivery_report(
        content_type=body.content_type,
        report_type=body.report_type,
        has_status_part=body.has_status_part,
        sender_address=from_.address if from_ else "",
        sender_name=from_.name if from_ else "",
        subject=subject,
    )
    parsed = ParsedMessage(
        message_id=next(iter(parse_msg_ids(first.get("message-id", ""))), ""),
        from_=from_,
        to=_addresses(message, "to", hint),
        cc=_addresses(message, "cc", hint),
        reply_to=_addresses(message, "reply-to", hint),
        subject=_clean(subject),
        date=parse_date(first.get("date", "")),
        in_reply_to=next(iter(parse_msg_ids(first.get("in-reply-to", ""))), ""),
        references=parse_msg_ids(first.get("references", "")),
        text=text,
        html=html,
        attachments=[
            ParsedAttachment(
                filename=file.filename,
                content_type=file.content_type,
                payload=file.payload,
                inline=file.inline,
                content_id=file.content_id,
            )
            for file in body.files
        ],
        priority=priority_from(first),
        auto_submitted=delivery_report or is_auto_submitted(first, subject=subject),
        delivery_report=delivery_report,
        defects=defects,
        headers=headers,
    )
    _note_missing(parsed, first, defects)
    parsed.defects = list(dict.fromkeys(_clean(defect) for defect in defects))
    return parsed


def _body_text(body: BodyParts, defects: list[str]) -> tuple[str, str | None]:
    raw_html = "\n".join(body.htmls) or body.tnef_html
    if len(raw_html) > MAX_HTML_CHARS:
        defects.append(f"HTML longer than {MAX_HTML_CHARS} characters; cut short")
        raw_html = raw_html[:MAX_HTML_CHARS]
    text = "\n\n".join(body.texts).strip("\n") or body.tnef_text.strip("\n")
    if not text and raw_html:
        text = html_to_text(raw_html)
    if not raw_html:
        return _clean(text.rstrip()), None
    html, cut = sanitize_html(raw_html)
    if cut:
        defects.append("HTML too complex to show in full; the end was dropped")
    return _clean(text.rstrip()), html


def _note_missing(parsed: ParsedMessage, first: dict[str, str], defects: list[str]) -> None:
    if parsed.date is None:
        defects.append("no Date header" if "date" not in first else "unparseable Date header")
    if not parsed.message_id:
        defects.append("no Message-ID header")
    elif not first.get("message-id", "").strip().startswith("<"):
        defects.append("Message-ID without angle brackets")
    if "content-type" not in first:
        defects.append("no Content-Type header; read as text/plain")


def _clean(text: str) -> str:
    """Drop control characters and lone surrogates, which no consumer of the text wants."""
    text = _CONTROL.sub("", text)
    return text.encode("utf-8", "replace").decode("utf-8")
