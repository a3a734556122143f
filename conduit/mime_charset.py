"""Turning bytes of a declared, wrong, unknown or missing charset into text, never failing.

Order of attempts: the declared charset (through a table of the supersets mailers really
mean), then UTF-8, then a caller's hint (e.g. the charset of the body for raw 8-bit headers),
then charset-normalizer, then Windows-1252, then Latin-1 (which decodes any byte).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import charset_normalizer

# What a declared name really means in mail: the superset Windows and browsers decode with.
CHARSET_ALIASES: dict[str, str] = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "utf8": "utf-8",
}

# Python codecs that decode bytes but are not charsets; a header must not select them.
_NOT_CHARSETS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "charmap", "mbcs"}
)

# Detection is limited to scripts it tells apart well; for Latin text it confuses Windows-1252
# with Baltic/Central European code pages, and mail without a charset is mostly Western.
_DETECTABLE = [
    "utf_8",
    "cp1252",
    "cp1251",
    "koi8_r",
    "cp932",
    "euc_jp",
    "iso2022_jp",
    "gb18030",
    "big5hkscs",
    "cp949",
    "cp1253",
    "cp1255",
    "cp1256",
    "cp874",
]
_DETECT_MIN_BYTES = 16
_DETECT_SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class DecodedText:
    """Text and how it was obtained; `problem` says what was wrong, "" if nothing."""

    text: str
    charset: str
    problem: str


def resolve_charset(name: str | None) -> str | None:
    """The Python codec for a declared charset name, or None when it is unknown or unusable."""
    if not name:
        return None
    cleaned = name.strip().strip("\"'").split("*", 1)[0].lower()
    cleaned = CHARSET_ALIASES.get(cleaned, cleaned)
    try:
        codec = codecs.lookup(cleaned)
    except (LookupError, ValueError):
        return None
    if codec.name in _NOT_CHARSETS or not getattr(codec, "_is_text_encoding", True):
        return None
    return codec.name


def _strict(data: bytes, charset: str) -> str | None:
    try:
        return data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes) -> str | None:
    if len(data) < _DETECT_MIN_BYTES:
        return None
    best = charset_normalizer.from_bytes(
        data[:_DETECT_SAMPLE_BYTES], cp_isolation=_DETECTABLE
    ).best()
    return best.encoding if best is not None else None


def decode_text(
    data: bytes, declared: str | None = None, *, hint: str | None = None
) -> DecodedText:
    """Decode `data`, trusting `declared` when it works; never raises.

    `hint` is a charset to try after UTF-8 when the declared one fails or is absent.
    """
    charset = resolve_charset(declared)
    if charset is not None:
        text = _strict(data, charset)
        if text is not None:
            return DecodedText(text, charset, "")
    elif data.isascii():
        return DecodedText(data.decode("ascii"), "ascii", "")
    problem = _problem_text(declared, charset)
    for candidate in ("utf-8", resolve_charset(hint)):
        if candidate and candidate != charset:
            text = _strict(data, candidate)
            if text is not None:
                return DecodedText(text, candidate, f"{problem}; decoded as {candidate}")
    detected = _detect(data)
    if detected:
        text = data.decode(detected, errors="replace")
        return DecodedText(text, detected, f"{problem}; detected {detected}")
    text = _strict(data, "cp1252")
    if text is not None:
        return DecodedText(text, "cp1252", f"{problem}; decoded as cp1252")
    return DecodedText(data.decode("latin-1"), "latin-1", f"{problem}; decoded as latin-1")


def _problem_text(declared: str | None, charset: str | None) -> str:
    if not declared:
        return "8-bit text without a charset"
    if charset is None:
        return f"unknown charset {declared.strip()[:40]!r}"
    return f"text is not valid {declared.strip()[:40]}"
