"""One MIME part: its type and parameters, its decoded payload, a safe name for it.

Parameters are read with the stdlib's compat32 code (tolerant, handles RFC 2231
continuations and charsets) on header values whose raw 8-bit bytes were decoded first.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import Message

from conduit.mime_charset import decode_text
from conduit.mime_headers import decode_words, raw_to_text, unfold
from conduit.mime_transfer import decode_transfer

MAX_FILENAME_BYTES = 255
FALLBACK_FILENAME = "attachment"

# Extensions for a nameless part; checked before the stdlib table, which lacks mail types.
_EXTENSIONS: dict[str, str] = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/rfc822-headers": ".txt",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "application/ms-tnef": ".dat",
    "application/mac-binhex40": ".hqx",
    "application/octet-stream": ".bin",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
}
# The stdlib defaults only (system mime.types files differ between machines), plus types
# help desk mail carries every day that the defaults lack.
_MIME_TYPES = mimetypes.MimeTypes()
for _extension, _type in {
    ".log": "text/plain",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".msg": "application/vnd.ms-outlook",
    ".heic": "image/heic",
    ".7z": "application/x-7z-compressed",
    ".rar": "application/vnd.rar",
}.items():
    _MIME_TYPES.add_type(_type, _extension)
# Characters Windows or a shell treat specially, plus bidi controls that disguise extensions.
_UNSAFE_CHARS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class PartInfo:
    """What the headers of one part say."""

    content_type: str
    charset: str | None
    disposition: str  # "inline", "attachment" or "" when absent
    filename: str  # decoded, unsafe; "" if none
    content_id: str  # without angle brackets
    transfer_encoding: str
    params: dict[str, str] = field(default_factory=dict)  # Content-Type parameters


def read_part_info(part: Message, *, hint: str | None = None) -> tuple[PartInfo, list[str]]:
    """Read type, charset, disposition, filename and Content-ID of `part`."""
    problems: list[str] = []
    headers = _first_headers(part, ("content-type", "content-disposition", "content-id"))
    cte = _first_headers(part, ("content-transfer-encoding",)).get("content-transfer-encoding")
    shadow = Message()
    shadow.set_default_type(part.get_default_type())
    for name in ("content-type", "content-disposition"):
        if name in headers:
            text, problem = raw_to_text(unfold(headers[name]), hint=hint)
            if problem:
                problems.append(f"raw 8-bit {name} header: {problem}")
            shadow[name] = text
    params = {
        key.lower(): value
        for key, value in (shadow.get_params() or [])[1:]
        if isinstance(value, str)
    }
    charset = shadow.get_content_charset()
    info = PartInfo(
        content_type=shadow.get_content_type(),
        charset=charset,
        disposition=shadow.get_content_disposition() or "",
        filename=_filename(shadow, problems),
        content_id=headers.get("content-id", "").strip().strip("<>").strip(),
        transfer_encoding=(cte or "").strip().lower(),
        params=params,
    )
    return info, problems


def _first_headers(part: Message, names: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in part.raw_items():
        key = name.lower()
        if key in names and key not in found:
            found[key] = value
    return found


def _filename(shadow: Message, problems: list[str]) -> str:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = shadow.get_param(param, header=header)
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
            charset, _language, text = value
            raw = str(text).encode("latin-1", "replace")
            decoded = decode_text(raw, charset or "utf-8")
            if decoded.problem:
                problems.append(f"filename: {decoded.problem}")
            value = decoded.text
        if value:
            name, word_problems = decode_words(str(value))
            problems.extend(f"filename: {problem}" for problem in word_problems)
            return name
    return ""


def part_payload(part: Message, encoding: str) -> tuple[bytes, list[str]]:
    """The transfer-decoded bytes of a leaf part."""
    # The stored payload, not get_payload(): that replaces raw 8-bit bytes with U+FFFD, and
    # get_payload(decode=True) repairs broken encodings without saying so.
    payload = part._payload  # type: ignore[attr-defined]
    if not isinstance(payload, str):
        return b"", []
    return decode_transfer(payload.encode("utf-8", "surrogateescape"), encoding)


def extension_for(content_type: str) -> str:
    """A file extension for a content type, ".bin" when nothing better is known."""
    return _EXTENSIONS.get(content_type) or _MIME_TYPES.guess_extension(content_type) or ".bin"


def guess_content_type(filename: str) -> str:
    """The content type a file name suggests, application/octet-stream by default."""
    guessed, _encoding = _MIME_TYPES.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


def safe_filename(name: str, content_type: str) -> str:
    """A base name safe to store and offer for download; never empty.

    Path parts (POSIX and Windows), control and format characters (including bidi overrides
    used to disguise extensions) and leading dots go; the result fits 255 bytes of UTF-8.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf"))
    name = _SPACES.sub(" ", _UNSAFE_CHARS.sub("_", name)).strip().lstrip(".").strip()
    name = name.rstrip(". ")  # Windows drops trailing dots and spaces anyway
    if not name:
        return FALLBACK_FILENAME + extension_for(content_type)
    return _truncate_utf8(name, MAX_FILENAME_BYTES)


def _truncate_utf8(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode("utf-8")) > 16:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    budget = limit - len(suffix.encode("utf-8"))
    cut = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut + suffix


def unflow(text: str, *, delsp: bool) -> str:
    """Undo format=flowed (RFC 3676): join soft-broken lines, remove space-stuffing."""
    out: list[str] = []
    paragraph: list[str] = []
    depth = 0
    for line in text.split("\n"):
        quotes = len(line) - len(line.lstrip(">"))
        if paragraph and quotes != depth:
            out.append(_quoted(depth, "".join(paragraph)))  # a quote change ends a paragraph
            paragraph = []
        depth = quotes
        content = line[quotes:]
        content = content[1:] if content.startswith(" ") else content
        flowed = content.endswith(" ") and content != "-- "
        paragraph.append(content[:-1] if flowed and delsp else content)
        if not flowed:
            out.append(_quoted(depth, "".join(paragraph)))
            paragraph = []
    if paragraph:
        out.append(_quoted(depth, "".join(paragraph)))
    return "\n".join(out)


def _quoted(depth: int, text: str) -> str:
    return ">" * depth + (" " if depth and text else "") + text
