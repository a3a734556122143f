"""Content-Transfer-Encodings (base64, quoted-printable, uuencode), decoded leniently.

Each decoder returns what it could decode plus short descriptions of what was wrong, so a
damaged attachment still reaches the agent and the damage is on record.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable

_WHITESPACE = re.compile(rb"\s+")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")
_PADDING = re.compile(rb"=+")
# "=" must start a soft line break or a two-digit hex escape; anything else is malformed.
_BAD_QP_ESCAPE = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*(?:\r?\n|$))")

IDENTITY_ENCODINGS = frozenset({"", "7bit", "8bit", "binary"})
UU_ENCODINGS = frozenset({"x-uuencode", "uuencode", "x-uue", "uue"})


def decode_base64(data: bytes) -> tuple[bytes, list[str]]:
    """Decode base64, dropping foreign characters and repairing padding and truncation."""
    defects: list[str] = []
    compact = _WHITESPACE.sub(b"", data)
    clean = _NOT_BASE64.sub(b"", compact)
    if len(clean) != len(compact):
        defects.append("malformed base64: removed characters outside the base64 alphabet")
    chunks = [chunk for chunk in _PADDING.split(clean) if chunk]
    if len(chunks) > 1:
        defects.append("malformed base64: padding in the middle of the data")
    elif len(clean) % 4:
        defects.append("malformed base64: bad padding or truncated data")
    out = bytearray()
    for chunk in chunks:
        extra = len(chunk) % 4
        if extra == 1:
            # Six dangling bits cannot form a byte: the data was cut off.
            chunk = chunk[:-1]
        elif extra:
            chunk += b"=" * (4 - extra)
        out += binascii.a2b_base64(chunk)
    return bytes(out), defects


def decode_quoted_printable(data: bytes) -> tuple[bytes, list[str]]:
    """Decode quoted-printable; stray "=" signs are kept as they are."""
    defects = []
    if _BAD_QP_ESCAPE.search(data):
        defects.append("malformed quoted-printable: '=' not followed by two hex digits")
    return binascii.a2b_qp(data), defects


def decode_uu_lines(lines: Iterable[bytes]) -> tuple[bytes, list[str]]:
    """Decode the lines between `begin` and `end` of a uuencoded file."""
    out = bytearray()
    damaged = False
    for line in lines:
        if not line.strip():
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad lines with garbage; keep only as many characters as the
            # length byte announces (the workaround the old stdlib uu module used).
            wanted = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out += binascii.a2b_uu(line[:wanted])
            except binascii.Error:
                damaged = True
    return bytes(out), ["malformed uuencoded line skipped"] if damaged else []


def decode_transfer(data: bytes, encoding: str) -> tuple[bytes, list[str]]:
    """Undo a Content-Transfer-Encoding; unknown encodings leave the data as it is."""
    encoding = encoding.strip().lower()
    if encoding in IDENTITY_ENCODINGS:
        return data, []
    if encoding == "base64":
        return decode_base64(data)
    if encoding == "quoted-printable":
        return decode_quoted_printable(data)
    if encoding in UU_ENCODINGS:
        return _decode_uu_body(data)
    return data, [f"unknown Content-Transfer-Encoding {encoding[:40]!r}; used the data as is"]


def _decode_uu_body(data: bytes) -> tuple[bytes, list[str]]:
    lines = data.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(b"begin ")), -1)
    body = lines[start + 1 :]
    end = next((i for i, line in enumerate(body) if line.strip() == b"end"), len(body))
    return decode_uu_lines(body[:end])
