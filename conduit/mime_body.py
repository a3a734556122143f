"""Walking the MIME tree: which parts are the body, which are files, what legacy formats hide.

The walk is iterative and capped (MAX_PARTS parts, MAX_DEPTH levels), so a message with ten
thousand parts or absurd nesting costs bounded time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email import policy
from email.errors import MessageDefect
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from io import BytesIO

from conduit.mime_charset import decode_text
from conduit.mime_headers import decode_header_value
from conduit.mime_legacy import (
    TnefError,
    decode_binhex,
    extract_binhex_blocks,
    extract_uuencoded,
    unpack_tnef,
)
from conduit.mime_parts import PartInfo, part_payload, read_part_info, safe_filename, unflow
from conduit.mime_transfer import decode_transfer

MAX_PARTS = 1000
MAX_DEPTH = 100
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_EMBEDDED_MESSAGES = frozenset({"message/rfc822", "message/global"})
# Regenerate embedded messages byte for byte: no refolding, no ">From" mangling.
_FLATTEN_POLICY = policy.compat32.clone(max_line_length=0, linesep="\n")
_PARSER_DEFECTS = {
    "NoBoundaryInMultipartDefect": "multipart part without a boundary; read as text",
    "StartBoundaryNotFoundDefect": "multipart boundary never found; read as text",
    "CloseBoundaryNotFoundDefect": "multipart closing boundary missing (truncated message?)",
    "FirstHeaderLineIsContinuationDefect": "first header line was a continuation line",
    "MisplacedEnvelopeHeaderDefect": "'From ' envelope line in the middle of the headers",
    "MissingHeaderBodySeparatorDefect": "a line that is not a header ended the headers",
    "MultipartInvariantViolationDefect": "multipart type but the body is not multipart",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with an invalid transfer encoding",
    "MalformedHeaderDefect": "malformed header line",
}


@dataclass(frozen=True)
class BodyFile:
    """A file found in the message (becomes a ParsedAttachment)."""

    filename: str
    content_type: str
    payload: bytes
    inline: bool = False
    content_id: str = ""


@dataclass
class BodyParts:
    """What the walk found: body texts in order, files, and facts about the structure."""

    content_type: str = "text/plain"
    report_type: str = ""
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    files: list[BodyFile] = field(default_factory=list)
    tnef_text: str = ""
    tnef_html: str = ""
    has_status_part: bool = False
    defects: list[str] = field(default_factory=list)


def collect_body(message: Message, *, hint: str | None) -> BodyParts:
    """Walk `message` and sort its parts into body text, HTML and files."""
    body = BodyParts()
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            body.defects.append(f"more than {MAX_PARTS} MIME parts; the rest were ignored")
            break
        body.defects += [describe_defect(defect) for defect in part.defects]
        info, problems = read_part_info(part, hint=hint)
        body.defects += problems
        if depth == 0:
            body.content_type = info.content_type
            body.report_type = info.params.get("report-type", "")
        if part.is_multipart() and not info.content_type.startswith("message/"):
            if depth >= MAX_DEPTH:
                body.defects.append(f"MIME parts nested deeper than {MAX_DEPTH}; skipped")
                continue
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            stack.extend((child, depth + 1) for child in reversed(children))
        else:
            _leaf(part, info, body, hint=hint)
    return body


def describe_defect(defect: MessageDefect) -> str:
    """A readable sentence for a defect the stdlib parser noted."""
    name = type(defect).__name__
    return _PARSER_DEFECTS.get(name, f"{name}: {defect}")


def _leaf(part: Message, info: PartInfo, body: BodyParts, *, hint: str | None) -> None:
    content_type = info.content_type
    if content_type.startswith("message/") and part.is_multipart():
        _message_part(part, info, body, hint=hint)
        return
    payload, problems = part_payload(part, info.transfer_encoding)
    body.defects += problems
    if content_type.startswith("multipart/"):
        content_type = "text/plain"  # no usable boundary: the parser kept it as text
    is_file = info.disposition == "attachment" or bool(info.filename)
    name = info.filename.lower()
    if content_type in _BODY_TYPES and not is_file:
        _text_part(payload, info, body, html=content_type == "text/html", hint=hint)
    elif content_type == "application/mac-binhex40" or name.endswith(".hqx"):
        _binhex_part(payload, info, body)
    elif content_type == "application/ms-tnef" or name == "winmail.dat":
        _tnef_part(payload, info, body)
    else:
        _add_file(body, info, payload, content_type=content_type)


def _add_file(
    body: BodyParts,
    info: PartInfo,
    payload: bytes,
    *,
    content_type: str | None = None,
    filename: str | None = None,
) -> None:
    content_type = content_type or info.content_type
    inline = info.disposition == "inline" or (not info.disposition and bool(info.content_id))
    body.files.append(
        BodyFile(
            filename=safe_filename(info.filename if filename is None else filename, content_type),
            content_type=content_type,
            payload=payload,
            inline=inline,
            content_id=info.content_id,
        )
    )


def _text_part(
    payload: bytes, info: PartInfo, body: BodyParts, *, html: bool, hint: str | None
) -> None:
    decoded = decode_text(payload, info.charset, hint=hint)
    if decoded.problem:
        body.defects.append(f"{info.content_type} part: {decoded.problem}")
    text = decoded.text
    if html:
        body.htmls.append(text)
        return
    if info.params.get("format", "").lower() == "flowed":
        text = unflow(text, delsp=info.params.get("delsp", "").lower() == "yes")
    for extract in (extract_uuencoded, extract_binhex_blocks):
        unpacked = extract(text)
        text = unpacked.text
        body.defects += unpacked.defects
        body.files += [
            BodyFile(safe_filename(f.filename, f.content_type), f.content_type, f.payload)
            for f in unpacked.files
        ]
    body.texts.append(text)


def _binhex_part(payload: bytes, info: PartInfo, body: BodyParts) -> None:
    file, defects = decode_binhex(payload)
    body.defects += defects
    if file is None:
        _add_file(body, info, payload)
        return
    _add_file(body, info, file.payload, content_type=file.content_type, filename=file.filename)


def _tnef_part(payload: bytes, info: PartInfo, body: BodyParts) -> None:
    try:
        unpacked = unpack_tnef(payload)
    except TnefError as exc:
        body.defects.append(f"could not unpack TNEF (winmail.dat), kept as is: {exc}")
        _add_file(body, info, payload, content_type="application/ms-tnef")
        return
    if not unpacked.files and not unpacked.text and not unpacked.html:
        body.defects.append("TNEF (winmail.dat) held nothing readable; kept as is")
        _add_file(body, info, payload, content_type="application/ms-tnef")
        return
    body.defects += unpacked.defects
    for file in unpacked.files:
        _add_file(body, info, file.payload, content_type=file.content_type, filename=file.filename)
    body.tnef_text = body.tnef_text or unpacked.text
    body.tnef_html = body.tnef_html or unpacked.html


def _message_part(part: Message, info: PartInfo, body: BodyParts, *, hint: str | None) -> None:
    payload = [item for item in part.get_payload() if isinstance(item, Message)]
    data = b"\n".join(_flatten(item, body) for item in payload)
    if info.transfer_encoding in ("base64", "quoted-printable"):
        # Not allowed on message/* (RFC 2046) but sent anyway: the parser took the encoded
        # text for a header-less message, so decode it and read the real one.
        data, problems = decode_transfer(data.lstrip(b"\n"), info.transfer_encoding)
        body.defects += problems
        payload = [BytesParser(policy=policy.compat32).parsebytes(data, headersonly=True)]
    filename = info.filename
    if info.content_type in _STATUS_TYPES:
        body.has_status_part = True
    elif info.content_type in _EMBEDDED_MESSAGES and not filename and payload:
        raw_subject = next(
            (value for key, value in payload[0].raw_items() if key.lower() == "subject"), ""
        )
        subject, _problems = decode_header_value(raw_subject, hint=hint)
        # A subject is no path: keep its slashes from being read as directories.
        filename = f"{subject.replace('/', '_').replace(chr(92), '_')}.eml" if subject else ""
    _add_file(body, info, data, filename=filename)


def _flatten(message: Message, body: BodyParts) -> bytes:
    buffer = BytesIO()
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=_FLATTEN_POLICY).flatten(message)
    except (RecursionError, LookupError, ValueError, TypeError) as exc:
        body.defects.append(f"embedded message could not be regenerated: {type(exc).__name__}")
    return buffer.getvalue()
