"""Outbound mail as bytes: replies, auto-replies and forwarded copies.

Every mail we write carries our loop header, and automatic mail says so (RFC 3834
``Auto-Submitted: auto-replied``) and asks other responders to keep quiet
(``X-Auto-Response-Suppress``), so two help desks never answer each other forever.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from django.utils import timezone
from django.utils.crypto import salted_hmac

from conduit.compose_html import text_to_html

LOOP_HEADER = "X-Mailflow-Loop"
# References keeps the thread's first id and the latest ones; long threads stay short.
MAX_REFERENCES = 20
_LONG_LINE = re.compile(rb"[^\n]{999,}")
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_AS_BYTES = frozenset({"message", "multipart"})
# 7-bit transport: every part quoted-printable or base64 as suits it, so no relay has to
# downgrade 8-bit mail (or refuse it) on the way.
SEVEN_BIT = policy.SMTP.clone(cte_type="7bit")


def loop_token() -> str:
    """This installation's value for the loop header (differs between installations)."""
    return salted_hmac("mailflow.loop", "installation").hexdigest()[:24]


def carries_our_loop_header(values: Iterable[str]) -> bool:
    token = loop_token()
    return any(value.strip() == token for value in values)


@dataclass(frozen=True)
class DraftAttachment:
    """A file sent with a mail (an agent's upload, a forwarded attachment)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Draft:
    from_address: str
    to: Sequence[tuple[str, str]]  # (display name, address)
    subject: str
    text: str
    message_id: str
    from_name: str = ""
    in_reply_to: str = ""
    references: Sequence[str] = ()
    reply_to: str = ""
    automatic: bool = False
    attach_original: bytes | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    cc: Sequence[tuple[str, str]] = ()
    attachments: Sequence[DraftAttachment] = ()
    # Delivery tracking (only when the ticketbox asks for it): links in the HTML part are
    # rewritten by ``track_link`` and an image at ``tracking_pixel`` is added.
    track_link: Callable[[str], str] | None = None
    tracking_pixel: str = ""


class HeaderInjection(ValueError):
    """A header value holds a line break: it could add headers (Bcc:) of its own."""


def compose(draft: Draft) -> bytes:
    """The RFC 5322 bytes of a draft (CRLF line ends, UTF-8 where needed): the text and
    an HTML alternative saying the same, then the attachments.

    Raises HeaderInjection when any header value holds CR or LF.
    """
    _refuse_line_breaks(draft)
    mail = EmailMessage(policy=SEVEN_BIT)
    mail["From"] = _address(draft.from_name, draft.from_address)
    mail["To"] = [_address(name, address) for name, address in draft.to]
    if draft.cc:
        mail["Cc"] = [_address(name, address) for name, address in draft.cc]
    if draft.reply_to:
        mail["Reply-To"] = draft.reply_to
    mail["Subject"] = draft.subject
    mail["Date"] = format_datetime(timezone.localtime())
    mail["Message-ID"] = draft.message_id
    if draft.in_reply_to:
        mail["In-Reply-To"] = draft.in_reply_to
    references = _trimmed(list(draft.references))
    if references:
        mail["References"] = " ".join(references)
    if draft.automatic:
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    mail[LOOP_HEADER] = loop_token()
    for name, value in draft.extra_headers.items():
        mail[name] = value
    mail.set_content(draft.text)
    mail.add_alternative(
        text_to_html(draft.text, link=draft.track_link, pixel_url=draft.tracking_pixel),
        subtype="html",
    )
    for attachment in draft.attachments:
        _attach(mail, attachment)
    if draft.attach_original is not None:
        _attach_original(mail, draft.attach_original)
    return mail.as_bytes()


def _refuse_line_breaks(draft: Draft) -> None:
    values = {
        "From": [draft.from_name, draft.from_address],
        "To": [part for pair in draft.to for part in pair],
        "Cc": [part for pair in draft.cc for part in pair],
        "Subject": [draft.subject],
        "Message-ID": [draft.message_id],
        "In-Reply-To": [draft.in_reply_to],
        "References": list(draft.references),
        "Reply-To": [draft.reply_to],
        **{name: [name, value] for name, value in draft.extra_headers.items()},
        "Attachment name": [a.filename for a in draft.attachments],
    }
    for header, texts in values.items():
        if any("\r" in text or "\n" in text for text in texts):
            raise HeaderInjection(f"{header} holds a line break: header values must be one line.")


def _address(name: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def _trimmed(references: list[str]) -> list[str]:
    references = [ref for ref in dict.fromkeys(references) if ref]
    if len(references) <= MAX_REFERENCES:
        return references
    return [references[0], *references[-(MAX_REFERENCES - 1) :]]


def _attach(mail: EmailMessage, attachment: DraftAttachment) -> None:
    # Declared types are the sender's claim; message/* and multipart/* parts would need
    # their own structure, so those go as plain bytes.
    maintype, _, subtype = attachment.content_type.split(";")[0].strip().lower().partition("/")
    if not _TOKEN.match(maintype) or not _TOKEN.match(subtype) or maintype in _AS_BYTES:
        maintype, subtype = "application", "octet-stream"
    mail.add_attachment(
        attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
    )


def _attach_original(mail: EmailMessage, raw: bytes) -> None:
    """The original mail as message/rfc822 when it is 7-bit clean (as RFC 2046 requires),
    else as a base64 original.eml that every client opens just the same."""
    if raw.isascii() and not _LONG_LINE.search(raw):
        mail.add_attachment(
            raw, maintype="message", subtype="rfc822", cte="7bit", filename="original.eml"
        )
    else:
        mail.add_attachment(
            raw, maintype="application", subtype="octet-stream", filename="original.eml"
        )
