"""The HTML alternative of the mail we write: the plain text, escaped, with quoted
passages as blockquotes and web addresses as links.

Agents write plain text; customers' clients show the HTML part, so it must say exactly what
the text says. Every character of the text is escaped: nothing an agent (or a quoted
customer) typed becomes markup. ``link`` may rewrite each address (delivery tracking).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)
_QUOTE = re.compile(r"^\s*>")
STYLE = "font-family: -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; font-size: 14px"
QUOTE_STYLE = "margin: 0 0 0 .5em; padding-left: .75em; border-left: 3px solid #c8ccd2; color: #555"


def text_to_html(
    text: str, *, link: Callable[[str], str] | None = None, pixel_url: str = ""
) -> str:
    """A complete HTML document showing ``text``."""
    blocks: list[str] = []
    quoted: list[str] = []
    plain: list[str] = []

    def flush_plain() -> None:
        if plain:
            blocks.append(_lines(plain, link))
            plain.clear()

    def flush_quoted() -> None:
        if quoted:
            inner = text_to_html_fragment("\n".join(quoted), link=link)
            blocks.append(f'<blockquote style="{QUOTE_STYLE}">{inner}</blockquote>')
            quoted.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        if _QUOTE.match(line):
            flush_plain()
            quoted.append(_unquoted(line))
        else:
            flush_quoted()
            plain.append(line)
    flush_plain()
    flush_quoted()
    pixel = (
        f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="" style="display:block">'
        if pixel_url
        else ""
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body><div style="{STYLE}">{"".join(blocks)}</div>{pixel}</body></html>'
    )


def text_to_html_fragment(text: str, *, link: Callable[[str], str] | None = None) -> str:
    """The body part of ``text_to_html`` (quotes within quotes nest)."""
    document = text_to_html(text, link=link)
    start = document.index(f'<div style="{STYLE}">') + len(f'<div style="{STYLE}">')
    return document[start : document.rindex("</div>")]


def _unquoted(line: str) -> str:
    stripped = line.lstrip()[1:]
    return stripped[1:] if stripped.startswith(" ") else stripped


def _lines(lines: list[str], link: Callable[[str], str] | None) -> str:
    return "<br>\n".join(_linked(line, link) for line in lines)


def _linked(line: str, link: Callable[[str], str] | None) -> str:
    out, last = [], 0
    for found in _URL.finditer(line):
        out.append(html.escape(line[last : found.start()]))
        url = found.group(0)
        target = link(url) if link else url
        out.append(f'<a href="{html.escape(target)}">{html.escape(url)}</a>')
        last = found.end()
    out.append(html.escape(line[last:]))
    return "".join(out).replace("  ", "&nbsp; ")
