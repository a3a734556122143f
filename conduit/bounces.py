"""Reading delivery reports and automatic answers to our mail: what happened, to whom, why.

``classify`` takes a raw mail and says whether it is a bounce (an RFC 3464 report or one of
the common plain-text shapes: qmail, Exim, Sendmail, Exchange, Gmail, Yahoo, Amazon SES), a
delay warning, an auto-reply, a challenge-response check, a person answering our return
path (``user_reply``), or ordinary mail (None). It reads no database: the route step matches
the verdict to its OutboundMessage (``routing.bounces``). The wording it knows is in
``conduit.bounce_patterns``. Work is bounded: at most ``MAX_PARSE_BYTES`` of the mail are
parsed and ``MAX_SCAN_CHARS`` of text scanned, so a huge report cannot stall routing.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parseaddr
from typing import Any

from conduit import bounce_patterns as P
from conduit.bounce_reading import (
    ANGLE_ID,
    MAX_SCAN_CHARS,
    MESSAGE_ID,
    ReportText,
    after_semicolon,
    decoded,
    envelope_addresses,
    first_id,
    first_line,
    human_text,
    message_id_in,
    null_return_path,
    parts,
    sent_by_daemon,
    subject_of,
    tidy,
)
from conduit.outbound import BounceCategory as C
from conduit.verp import first_outbound_id

MAX_PARSE_BYTES = 1024 * 1024
HARD_CATEGORIES = frozenset({C.USER_UNKNOWN, C.HOST_UNKNOWN, C.MAILBOX_DISABLED})

_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_NEXT_RECIPIENT = re.compile(r"\n[ \t]*<?[^\s<>@]+@[^\s<>]+>?:?[ \t]*\n")
_SMTP_REPLY = re.compile(r"(?<![\d.])[45]\d\d[ :-]")
# Where a plain-text report names the failed address (group 1 holds it, or starts with it).
_TEXT_RECIPIENT = [
    re.compile(p, re.IGNORECASE | re.MULTILINE)
    for p in (
        r"^[ \t]*<([^<>\s]+@[^<>\s]+)>:?[ \t]*$",  # qmail, Yahoo
        r"address\(es\) failed:\s+(\S+)",  # Exim
        r"permanent fatal errors -+\s+<?([^<>\s]+@[^<>\s]+)",  # Sendmail
        r"following recipients? (?:failed permanently|has been delayed):\s+(\S+)",  # Gmail, old
        r"your message (?:to|wasn't delivered to|was not delivered to) <?([^<>\s]+@[^<>\s]+?)>?"
        r"[ \t]+(?:couldn't|could not|because|was)",  # Gmail, Office 365
        r"delivery has failed to these recipients or (?:groups|distribution lists):\s+(.+)",
        r"recipient\(s\) (?:cannot|could not) be reached:\s+(.+)",  # Exchange 2003
        r"message to <([^<>\s]+)> was undeliverable",  # Amazon SES
        r"^[ \t]*recipient:[ \t]*\[?(?:smtp:)?([^\]\s]+)",
        r"rcpt to:[ \t]*<([^<>\s]+)>",
        r"^(?:final|original)-recipient:[ \t]*rfc822;[ \t]*(\S+)",
    )
]


@dataclass(frozen=True)
class BounceReport:
    """What a delivery report or an automatic answer says about one mail of ours.

    ``failed``: the mail was not delivered and will not be retried (False for delay
    warnings, auto-replies and challenges). ``return_path_id``: the OutboundMessage our
    VERP return path names, when the report was addressed to one.
    """

    category: str
    hard: bool
    recipient: str | None
    status: str | None
    diagnostic: str
    original_message_id: str | None
    failed: bool = True
    return_path_id: int | None = field(default=None, compare=False)

    def as_json(self, *, file: str) -> dict[str, Any]:
        """The ``classify_bounce --json`` line: exactly these keys."""
        data = asdict(self)
        keys = ("category", "hard", "recipient", "status", "diagnostic", "original_message_id")
        return {"file": file, **{key: data[key] for key in keys}}


def classify(raw: bytes) -> BounceReport | None:
    """What this mail says about mail we sent, or None for ordinary mail (see the module)."""
    message = BytesParser(policy=compat32).parsebytes(raw[:MAX_PARSE_BYTES])
    verp = first_outbound_id(envelope_addresses(message))
    texts = human_text(message)
    report = _from_status_report(message, texts) or _from_plain_report(message, texts)
    if report is None:
        report = _automatic_answer(message, texts, addressed_to_us=verp is not None)
    if report is None and verp is not None:
        report = _answer(message, texts, C.USER_REPLY)
    if report is None:
        return None
    return BounceReport(**{**asdict(report), "return_path_id": verp})


# ---------------------------------------------------------------------------------------
# RFC 3464: multipart/report; report-type=delivery-status


def _from_status_report(message: Message, texts: ReportText) -> BounceReport | None:
    blocks = [b for part in parts(message) if _is_status_part(part) for b in _status_blocks(part)]
    if not blocks:
        return None
    per_message = blocks[0]
    recipients = [b for b in blocks if b.get("final-recipient") or b.get("action")] or blocks
    chosen = _chosen_recipient(recipients)
    action = chosen.get("action", "").strip().lower().split(" ")[0]
    diagnostic = tidy(after_semicolon(chosen.get("diagnostic-code", "")))
    status = _best_status([chosen.get("status", ""), diagnostic])
    if not action:
        action = "failed" if (status or "").startswith("5") else "delayed"
    failed = action == "failed"
    if action in ("delivered", "relayed", "expanded"):  # a success notice: nothing failed
        return BounceReport(
            C.UNKNOWN, False, _recipient_of(chosen), status, diagnostic, None, False
        )
    category = _category(status, diagnostic, texts.before_copy)
    if not failed:
        category = C.TRANSIENT
    original = (
        _original_message_id(message)
        or first_id(per_message.get("x-original-message-id", ""))
        or first_id(chosen.get("x-original-message-id", ""))
        or first_id(message.get("in-reply-to", ""))
    )
    return BounceReport(
        category=category,
        hard=failed and _is_hard(status, category, diagnostic),
        recipient=_recipient_of(chosen),
        status=status,
        diagnostic=diagnostic or first_line(texts.before_copy),
        original_message_id=original,
        failed=failed,
    )


def _is_status_part(part: Message) -> bool:
    return part.get_content_type() in ("message/delivery-status", "message/global-delivery-status")


Fields = dict[str, str]
_FIELD = re.compile(r"^([A-Za-z][\w-]*)[ \t]*:[ \t]*(.*)$")


def _status_blocks(part: Message) -> list[Fields]:
    """The per-message block and one block per recipient, as fields by lower-case name.
    Read leniently, line by line: a malformed line is skipped, not the whole block."""
    payload = part.get_payload()
    if isinstance(payload, list):
        texts = [
            "\n".join(f"{k}: {v}" for k, v in p.items()) + "\n" + str(p.get_payload() or "")
            for p in payload
            if isinstance(p, Message)
        ]
    else:
        texts = re.split(r"\r?\n[ \t]*\r?\n", decoded(part))
    return [fields for text in texts if (fields := _fields(text))]


def _fields(text: str) -> Fields:
    fields: Fields = {}
    name = ""
    for line in text[:MAX_SCAN_CHARS].splitlines():
        if line[:1] in (" ", "\t") and name:  # a folded continuation
            fields[name] += " " + line.strip()
            continue
        match = _FIELD.match(line)
        name = match[1].lower() if match else ""
        if match and name not in fields:
            fields[name] = match[2].strip()
    return fields


def _chosen_recipient(blocks: list[Fields]) -> Fields:
    """The recipient the report is about: the first that failed, else the first delayed."""
    for wanted in ("failed", "delayed"):
        for block in blocks:
            if block.get("action", "").strip().lower().startswith(wanted):
                return block
    with_recipient = [b for b in blocks if b.get("final-recipient") or b.get("original-recipient")]
    return (with_recipient or blocks)[0]


def _recipient_of(block: Fields) -> str | None:
    for name in ("final-recipient", "original-recipient"):
        found = _ADDRESS.search(after_semicolon(block.get(name, "")))
        if found:
            return found[0]
    return None


def _original_message_id(message: Message) -> str | None:
    """The Message-ID of the returned mail (message/rfc822 or text/rfc822-headers part)."""
    for part in parts(message):
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                found = first_id(payload[0].get("message-id", ""))
                if found:
                    return found
            text = decoded(part) if not isinstance(payload, list) else ""
        elif kind in ("text/rfc822-headers", "message/rfc822-headers", "text/global-headers"):
            text = decoded(part)
        else:
            continue
        match = MESSAGE_ID.search(text[:MAX_SCAN_CHARS])
        if match:
            return match[1]
    return None


# ---------------------------------------------------------------------------------------
# Plain-text reports: qmail, old Sendmail and Exim, Exchange, Gmail, Yahoo


def _from_plain_report(message: Message, texts: ReportText) -> BounceReport | None:
    sent_by_machine = sent_by_daemon(message) or null_return_path(message)
    marked = bool(P.BOUNCE_MARKERS.search(texts.before_copy))
    from_daemon = sent_by_machine and (marked or P.BOUNCE_SUBJECT.search(subject_of(message)))
    flagged = marked and (message.get("x-failed-recipients") or _auto_submitted(message))
    if not (from_daemon or flagged):
        return None
    text = texts.before_copy
    recipient = _text_recipient(message, text)
    diagnostic = _text_diagnostic(text, recipient)
    delayed = bool(P.DELAY_MARKERS.search(text) or P.DELAY_MARKERS.search(subject_of(message)))
    status = _best_status([diagnostic, text])
    if delayed and status and status.startswith("5"):
        delayed = False  # a warning carries no permanent failure
    category = C.TRANSIENT if delayed else _category(status, diagnostic, text)
    original = (
        _original_message_id(message)
        or first_id(message_id_in(texts.copy))
        or first_id(message.get("in-reply-to", ""))
    )
    return BounceReport(
        category=category,
        hard=not delayed and _is_hard(status, category, diagnostic),
        recipient=recipient,
        status=status,
        diagnostic=diagnostic,
        original_message_id=original,
        failed=not delayed,
    )


def _text_recipient(message: Message, text: str) -> str | None:
    failed = message.get("x-failed-recipients", "")
    found = _ADDRESS.search(failed)
    if found:
        return found[0]
    for pattern in _TEXT_RECIPIENT:
        match = pattern.search(text)
        if match:
            address = _ADDRESS.search(match[1])
            if address:
                return address[0].rstrip(".")
    return None


def _text_diagnostic(text: str, recipient: str | None) -> str:
    """The mail server's own words: Exchange's "Remote Server returned", the lines after
    the failed address (qmail, Yahoo, Exim), else the first line with an SMTP reply."""
    returned = re.search(r"remote server returned '([^'\n]+)'", text, re.IGNORECASE)
    if returned:
        return tidy(returned[1])
    if recipient:
        at = text.lower().find(recipient.lower())
        if at >= 0:
            after = text[at + len(recipient) :].lstrip(">:) \t").split("\n\n", 1)[0]
            after = _NEXT_RECIPIENT.split(after, 1)[0]  # Exim lists addresses without a gap
            if _SMTP_REPLY.search(after) or _STATUS.search(after):
                return tidy(after.split("\n(", 1)[0])
    for line in text.splitlines():
        if _SMTP_REPLY.search(line) or "#5." in line or "#4." in line:
            return tidy(line)
    for _, pattern in P.TEXT_PATTERNS:
        for line in text.splitlines():
            if pattern.search(line):
                return tidy(line)
    return first_line(text)


# ---------------------------------------------------------------------------------------
# Auto-replies, challenges, people


def _automatic_answer(
    message: Message, texts: ReportText, *, addressed_to_us: bool
) -> BounceReport | None:
    subject = subject_of(message)
    automatic = _auto_submitted(message) or bool(P.AUTO_REPLY_SUBJECT.search(subject))
    sender = parseaddr(message.get("from", ""))[1]
    if P.CHALLENGE_SENDERS.search(sender):
        return _answer(message, texts, C.CHALLENGE_RESPONSE)
    machine_or_ours = automatic or addressed_to_us or null_return_path(message)
    if machine_or_ours and P.CHALLENGE_TEXT.search(f"{subject}\n{texts.before_copy}"):
        return _answer(message, texts, C.CHALLENGE_RESPONSE)
    return _answer(message, texts, C.AUTO_REPLY) if automatic else None


def _answer(message: Message, texts: ReportText, category: str) -> BounceReport:
    """An answer to our mail (by a machine or a person): who answered, and to what."""
    references = ANGLE_ID.findall(message.get("references", ""))
    original = first_id(message.get("in-reply-to", "")) or (references[-1] if references else None)
    summary = subject_of(message) or first_line(texts.before_copy)
    return BounceReport(
        category=category,
        hard=False,
        recipient=parseaddr(message.get("from", ""))[1] or None,
        status=None,
        diagnostic=tidy(summary),
        original_message_id=original,
        failed=False,
    )


def _auto_submitted(message: Message) -> bool:
    auto = message.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if message.get("precedence", "").strip().lower() in ("auto_reply", "auto-reply"):
        return True
    for name in P.AUTO_REPLY_HEADERS:
        value = message.get(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            return True
    return False


# ---------------------------------------------------------------------------------------
# Shared reading


def _category(status: str | None, diagnostic: str, context: str) -> str:
    """By a telling status code, else the diagnostic's words, else the report's words,
    else the status code's class."""
    if status in P.STRONG_STATUSES:
        return P.STRONG_STATUSES[status]
    for text in (diagnostic, context[:MAX_SCAN_CHARS]):
        for category, pattern in P.TEXT_PATTERNS:
            if text and pattern.search(text):
                return category
    if status:
        weak = P.WEAK_STATUSES.get(status.rsplit(".", 1)[0])
        if weak:
            return weak
        if status.startswith("4"):
            return C.TRANSIENT
    return C.UNKNOWN


def _is_hard(status: str | None, category: str, diagnostic: str) -> bool:
    """Permanent: a 5.x.x status; without one a 5xx reply, else an unknown user or host or
    a disabled mailbox; a 4xx reply or a delay is temporary."""
    if status:
        return status.startswith("5")
    reply = _SMTP_REPLY.search(diagnostic)
    if reply:
        return reply[0].startswith("5")
    return category in HARD_CATEGORIES


def _best_status(texts: list[str]) -> str | None:
    """The most telling enhanced status code in these texts, in order: a detailed one
    (5.2.2) beats a general one (5.0.0, 5.1.0) found earlier."""
    found = [m for text in texts if text for m in _STATUS.finditer(text[:MAX_SCAN_CHARS])]
    if not found:
        return None
    for test in (lambda m: m[3] != "0", lambda m: m[2] != "0", lambda m: True):
        for match in found:
            if test(match):
                return f"{match[1]}.{int(match[2])}.{int(match[3])}"
    return None  # pragma: no cover - the last test takes the first match
