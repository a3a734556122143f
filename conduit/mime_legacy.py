"""Pre-MIME and proprietary attachment formats: uuencode, BinHex 4.0 and TNEF (winmail.dat).

Python 3.11 dropped the `binhex` module and `binascii`'s hqx helpers, so BinHex is decoded
here: its 6-bit encoding is base64 with another alphabet, then run-length decoding (0x90),
then a header (name, type, creator, flags, fork lengths) and the forks, each with a CRC-16
(`binascii.crc_hqx`). Only the data fork is kept; the resource fork means nothing off a Mac.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field

from tnefparse import TNEF

from conduit.mime_charset import decode_text
from conduit.mime_parts import guess_content_type
from conduit.mime_transfer import decode_uu_lines

_UU_BEGIN = re.compile(r"^begin [0-7]{3,4} ([^\n]+)\n", re.MULTILINE)
_UU_END = re.compile(r"^end[ \t]*$", re.MULTILINE)
_BINHEX_MARKER = re.compile(r"\(This file must be converted with BinHex[^)\n]*\)", re.IGNORECASE)
_MAX_BLOCKS = 100
HQX_ALPHABET = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
_HQX_TO_BASE64 = bytes.maketrans(
    HQX_ALPHABET, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)
_NOT_HQX = re.compile(b"[^" + re.escape(HQX_ALPHABET) + b"]")
_RLE_MARKER = 0x90
# Run-length decoding multiplies data up to 127 times; nothing legitimate in mail is this big.
MAX_BINHEX_BYTES = 64 * 1024 * 1024
# tnefparse slices its input once per object (quadratic); refuse streams with absurd counts.
MAX_TNEF_OBJECTS = 5000
_TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"


class TnefError(ValueError):
    """A TNEF stream could not be unpacked; the message says why."""


@dataclass(frozen=True)
class LegacyFile:
    """A file unpacked from a legacy container."""

    filename: str
    content_type: str
    payload: bytes


@dataclass
class Unpacked:
    """What came out of a text or a container: files, remaining text and body, problems."""

    files: list[LegacyFile] = field(default_factory=list)
    text: str = ""
    html: str = ""
    defects: list[str] = field(default_factory=list)


def extract_uuencoded(text: str) -> Unpacked:
    """Move `begin 644 name` ... `end` blocks out of a text into files."""
    result = Unpacked()
    kept: list[str] = []
    position = 0
    for _ in range(_MAX_BLOCKS):
        begin = _UU_BEGIN.search(text, position)
        if begin is None:
            break
        end = _UU_END.search(text, begin.end())
        stop = end.start() if end else len(text)
        if end is None:
            result.defects.append("uuencoded block without 'end' line")
        lines = [line.encode("latin-1", "replace") for line in text[begin.end() : stop].split("\n")]
        payload, defects = decode_uu_lines(lines)
        result.defects.extend(defects)
        name = begin.group(1).strip()
        result.files.append(LegacyFile(name, guess_content_type(name), payload))
        kept.append(text[position : begin.start()])
        position = end.end() + 1 if end else len(text)  # the block's lines go with it
    kept.append(text[position:])
    result.text = "".join(kept)
    return result


def extract_binhex_blocks(text: str) -> Unpacked:
    """Move BinHex 4.0 blocks (after their "(This file must be converted...)" line) into files."""
    result = Unpacked()
    kept: list[str] = []
    position = 0
    for _ in range(_MAX_BLOCKS):
        marker = _BINHEX_MARKER.search(text, position)
        if marker is None:
            break
        start = text.find(":", marker.end())
        stop = text.find(":", start + 1) if start >= 0 else -1
        if stop < 0:
            result.defects.append("BinHex block without its closing ':'")
            break
        decoded, defects = decode_binhex(text[start : stop + 1].encode("latin-1", "replace"))
        result.defects.extend(defects)
        if decoded is not None:
            result.files.append(decoded)
        kept.append(text[position : marker.start()])
        position = stop + 1
    kept.append(text[position:])
    result.text = "".join(kept)
    return result


def decode_binhex(data: bytes) -> tuple[LegacyFile | None, list[str]]:
    """Decode a BinHex 4.0 stream (text from the first ':' to the last) into its data fork."""
    start = data.find(b":")
    stop = data.find(b":", start + 1)
    if start < 0:
        return None, ["BinHex data without its opening ':'"]
    body = data[start + 1 : stop if stop > start else len(data)]
    defects = [] if stop > start else ["BinHex data without its closing ':'"]
    compact = re.sub(rb"\s+", b"", body)
    clean = _NOT_HQX.sub(b"", compact)
    if len(clean) != len(compact):
        defects.append("BinHex data with characters outside its alphabet")
    six_bit = clean.translate(_HQX_TO_BASE64)
    if len(six_bit) % 4 == 1:
        six_bit = six_bit[:-1]
    decoded = binascii.a2b_base64(six_bit + b"=" * (-len(six_bit) % 4))
    expanded, truncated = _rle_decode(decoded)
    if truncated:
        defects.append("BinHex data larger than the limit; cut short")
    file, header_defects = _binhex_data_fork(expanded)
    return file, defects + header_defects


def _rle_decode(data: bytes) -> tuple[bytes, bool]:
    out = bytearray()
    position = 0
    while len(out) <= MAX_BINHEX_BYTES:
        marker = data.find(_RLE_MARKER, position)
        if marker < 0 or marker + 1 >= len(data):
            out += data[position:] if marker < 0 else data[position:marker]
            return bytes(out), False
        out += data[position:marker]
        count = data[marker + 1]
        if count == 0:
            out.append(_RLE_MARKER)  # 0x90 0x00 is a literal 0x90
        elif out:
            out += out[-1:] * (count - 1)  # the byte before the marker, `count` times in all
        position = marker + 2
    return bytes(out[:MAX_BINHEX_BYTES]), True


def _binhex_data_fork(stream: bytes) -> tuple[LegacyFile | None, list[str]]:
    if not stream:
        return None, ["BinHex data is empty"]
    name_length = stream[0]
    header_end = 1 + name_length + 1 + 4 + 4 + 2 + 4 + 4
    if len(stream) < header_end + 2:
        return None, ["BinHex header is truncated"]
    name = stream[1 : 1 + name_length].decode("mac_roman")
    data_length = int.from_bytes(stream[header_end - 8 : header_end - 4], "big")
    defects = []
    if binascii.crc_hqx(stream[:header_end], 0) != int.from_bytes(
        stream[header_end : header_end + 2], "big"
    ):
        defects.append("BinHex header CRC mismatch")
    data_start = header_end + 2
    payload = stream[data_start : data_start + data_length]
    checksum = stream[data_start + data_length : data_start + data_length + 2]
    if len(payload) < data_length or len(checksum) < 2:
        defects.append("BinHex data fork is truncated")
    elif binascii.crc_hqx(payload, 0) != int.from_bytes(checksum, "big"):
        defects.append("BinHex data fork CRC mismatch")
    return LegacyFile(name, guess_content_type(name), payload), defects


def unpack_tnef(data: bytes) -> Unpacked:
    """The attachments and body inside a TNEF stream (winmail.dat); raises TnefError."""
    if not data.startswith(_TNEF_SIGNATURE):
        raise TnefError("no TNEF signature")
    if _tnef_object_count(data) > MAX_TNEF_OBJECTS:
        raise TnefError(f"more than {MAX_TNEF_OBJECTS} TNEF objects")
    try:
        tnef = TNEF(data, do_checksum=True)
        files = [_tnef_file(attachment) for attachment in tnef.attachments]
        text = _tnef_text(tnef.body)
        html = _tnef_text(tnef.htmlbody)
    except Exception as exc:  # tnefparse raises anything (struct, index, unicode errors)
        raise TnefError(f"{type(exc).__name__}: {exc}"[:200]) from exc
    defects = []
    if not all(getattr(item, "good_checksum", True) for item in tnef.objects):
        defects.append("TNEF attribute checksum mismatch")
    return Unpacked(
        files=[file for file in files if file is not None], text=text, html=html, defects=defects
    )


def _tnef_object_count(data: bytes) -> int:
    """Count the TNEF objects by walking their length fields, without decoding anything."""
    count, offset = 0, 6
    while offset + 9 <= len(data) and count <= MAX_TNEF_OBJECTS:
        offset += 9 + int.from_bytes(data[offset + 5 : offset + 9], "little") + 2
        count += 1
    return count


def _tnef_file(attachment: object) -> LegacyFile | None:
    payload = getattr(attachment, "data", b"") or b""
    if not isinstance(payload, bytes):
        return None
    name = attachment.long_filename()  # type: ignore[attr-defined]
    if isinstance(name, bytes):
        name = decode_text(name.rstrip(b"\x00"), None, hint="cp1252").text
    name = str(name).strip("\x00")
    return LegacyFile(name, guess_content_type(name), payload)


def _tnef_text(body: object) -> str:
    if isinstance(body, bytes):
        return decode_text(body.rstrip(b"\x00"), None, hint="cp1252").text
    return str(body or "").strip("\x00")
