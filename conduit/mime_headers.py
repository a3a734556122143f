"""Header values as text: unfolding, raw 8-bit bytes, RFC 2047 words, addresses, ids, dates.

Everything here works on the raw strings the stdlib parser keeps (compat32 keeps undecodable
bytes as surrogate escapes) and is lenient by design: a broken header yields its best reading
and a defect description, never an exception.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from conduit.mime_charset import decode_text
from conduit.mime_transfer import decode_base64

_FOLD = re.compile(r"\r?\n[ \t]*")
_SURROGATE = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
# An RFC 2047 encoded word, also when the closing "?=" is missing or Q text holds spaces.
_ENCODED_WORD = re.compile(
    r"=\?(?P<charset>[^?\s*]+)(?:\*[^?\s]*)?\?"
    r"(?:[Bb]\?(?P<b>[A-Za-z0-9+/=]*)|[Qq]\?(?P<q>[^?]*?(?=\?=)|[^?\s]*))"
    r"(?P<end>\?=)?"
)
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_BARE_MSG_ID = re.compile(r"[^<>\s,;\"]+@[^<>\s,;\"]+")
_COMMENT = re.compile(r"\(([^()]*)\)")
_ANGLE_ADDR = re.compile(r"<([^<>]*)(?:>|$)")


def unfold(value: str) -> str:
    """Join folded lines; the folding whitespace becomes one space."""
    return _FOLD.sub(" ", value)


def raw_to_text(value: str, *, hint: str | None = None) -> tuple[str, str]:
    """Turn surrogate-escaped raw 8-bit bytes into characters; returns (text, problem)."""
    if not _SURROGATE.search(value):
        return value, ""
    decoded = decode_text(value.encode("utf-8", "surrogateescape"), None, hint=hint)
    return decoded.text, decoded.problem


def decode_words(text: str) -> tuple[str, list[str]]:
    """Decode RFC 2047 encoded words leniently; returns (text, problems).

    Adjacent words in the same charset are joined before decoding, so a multibyte character
    split across two words survives; whitespace between encoded words is dropped (RFC 2047).
    """
    if "=?" not in text:
        return text, []
    problems: list[str] = []
    pieces: list[str] = []
    pending: tuple[str, bytearray] | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        if between.strip() or pending is None:
            _flush(pending, pieces, problems)
            pending = None
            pieces.append(between)
        charset = match["charset"]
        raw = _word_bytes(match, problems)
        if pending is not None and pending[0].lower() == charset.lower():
            pending[1].extend(raw)
        else:
            _flush(pending, pieces, problems)
            pending = (charset, bytearray(raw))
        if match["end"] is None:
            problems.append("encoded word without its closing '?='")
        position = match.end()
    _flush(pending, pieces, problems)
    pieces.append(text[position:])
    return "".join(pieces), problems


def _word_bytes(match: re.Match[str], problems: list[str]) -> bytes:
    if match["b"] is not None:
        data, defects = decode_base64(match["b"].encode("ascii"))
        if defects:
            problems.append("malformed base64 in an encoded word")
        return data
    return binascii.a2b_qp(match["q"].encode("utf-8", "replace"), header=True)


def _flush(pending: tuple[str, bytearray] | None, pieces: list[str], problems: list[str]) -> None:
    if pending is not None:
        decoded = decode_text(bytes(pending[1]), pending[0])
        if decoded.problem:
            problems.append(f"encoded word: {decoded.problem}")
        pieces.append(decoded.text)


def decode_header_value(raw: str, *, hint: str | None = None) -> tuple[str, list[str]]:
    """A header value as display text: unfolded, 8-bit and encoded words decoded, stripped."""
    text, problem = raw_to_text(unfold(raw), hint=hint)
    problems = [f"raw 8-bit header: {problem}"] if problem else []
    text, word_problems = decode_words(text)
    return _CONTROL.sub("", text.replace("\t", " ")).strip(), problems + word_problems


def parse_addresses(
    raw: str, *, hint: str | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """Parse an address list into (display name, addr-spec) pairs; names are decoded."""
    text, problem = raw_to_text(unfold(raw), hint=hint)
    problems = [f"raw 8-bit address header: {problem}"] if problem else []
    result = []
    for piece in _split_address_list(text):
        mailbox = _parse_mailbox(piece, problems)
        if mailbox is not None:
            result.append(mailbox)
    return result, problems


def _split_address_list(text: str) -> list[str]:
    """Split at commas outside quotes, comments, angle brackets and encoded words; drop groups."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = angle = False
    depth = index = 0
    while index < len(text):
        char = text[index]
        if char == "=" and text.startswith("=?", index) and not quoted:
            word = _ENCODED_WORD.match(text, index)
            if word:
                current.append(word.group())
                index = word.end()
                continue
        if quoted:
            quoted = char != '"'
            if char == "\\" and index + 1 < len(text):
                current.append(char)
                index += 1
                char = text[index]
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0 and char in "<>":
            angle = char == "<"
        elif depth == 0 and not angle and char in ",;":
            pieces.append("".join(current))
            current = []
            index += 1
            continue
        elif depth == 0 and not angle and char == ":":
            current = []  # "group name:" introduces a group; the name is not a mailbox
            index += 1
            continue
        current.append(char)
        index += 1
    pieces.append("".join(current))
    return [piece.strip() for piece in pieces if piece.strip()]


def _parse_mailbox(piece: str, problems: list[str]) -> tuple[str, str] | None:
    angles = list(_ANGLE_ADDR.finditer(piece))
    if angles:
        last = angles[-1]
        address = last.group(1).strip().rsplit(":", 1)[-1]  # drop an obsolete source route
        name = piece[: last.start()] + piece[last.end() :]
    else:
        comments = _COMMENT.findall(piece)
        rest = _COMMENT.sub(" ", piece).strip()
        tokens = rest.split()
        address = next((token for token in tokens if "@" in token), "")
        if not address and len(tokens) == 1 and not rest.startswith('"'):
            address = tokens[0]  # a local part alone, e.g. MAILER-DAEMON
        name = " ".join([*(token for token in tokens if token != address), *comments])
    address = address.strip()
    if len(address) > 1 and address[0] == address[-1] == '"':
        address = address[1:-1]
    if any(char.isspace() for char in address):
        address = ""
    name, word_problems = decode_words(_unquote(name.strip()))
    problems.extend(word_problems)
    name = " ".join(_CONTROL.sub("", name).split())
    if not name and not address:
        return None
    return name, address


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1]
        if name.count("\\"):
            name = re.sub(r"\\(.)", r"\1", name)
    return name


def parse_msg_ids(raw: str) -> list[str]:
    """Message ids in order, with angle brackets, deduplicated; bare ids get brackets."""
    text = unfold(raw)
    found = [f"<{value}>" for value in _MSG_ID.findall(text)]
    if not found:
        found = [f"<{value}>" for value in _BARE_MSG_ID.findall(text)]
    return list(dict.fromkeys(found))


def parse_date(raw: str) -> datetime | None:
    """A timezone-aware datetime (naive and -0000 dates are taken as UTC), or None."""
    text = unfold(raw).strip()
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
