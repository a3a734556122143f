"""Readable plain text from customer HTML, for mail that has no text/plain part.

Blocks become lines (paragraphs, headings, lists and tables a blank line apart), list items
get "- " or "1. ", table cells are separated by tabs, links keep their URL in parentheses
when it differs from the link text, entities are decoded, and script, style and head content
is dropped. Built on the linear tokenizer of conduit.mime_html.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

from conduit.mime_html import MAX_HTML_DEPTH, html_tokens

_BLOCKS = frozenset(
    {"p", "div", "table", "ul", "ol", "dl", "blockquote", "pre", "address", "center"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "hr", "figure", "section", "article"}
    | {"header", "footer", "main", "nav", "aside", "tr", "li", "dt", "dd", "caption"}
)
_PARAGRAPHS = frozenset(
    {"p", "table", "ul", "ol", "dl", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}
)
# Not "head": a missing </head> would hide the whole mail; its children are listed instead.
_SKIPPED = frozenset(
    {"script", "style", "title", "template", "svg", "math", "iframe", "object", "applet"}
    | {"textarea", "select", "noframes", "noembed", "xmp"}
)
_MAX_LIST_INDENT = 10  # levels
_LINK_SCHEMES = ("http://", "https://", "mailto:", "ftp://")
_WHITESPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass
class _TextBuilder:
    """Pieces of text plus the state of the elements around the current position."""

    pieces: list[str] = field(default_factory=list)
    skipping: int = 0
    preformatted: int = 0
    lists: list[list[int]] = field(default_factory=list)  # [counter] per list; -1 for ul
    links: list[tuple[str, int]] = field(default_factory=list)  # (href, first piece index)
    cells: int = 0

    def append(self, text: str) -> None:
        if text:
            self.pieces.append(text)

    def newlines(self, count: int) -> None:
        """End the current line and leave `count - 1` blank lines, without piling them up."""
        present = 2 if not self.pieces else 0
        for piece in reversed(self.pieces):
            stripped = piece.rstrip("\n")
            present += len(piece) - len(stripped)
            if stripped or present >= 2:
                break
        self.append("\n" * max(count - present, 0))

    def text(self) -> str:
        lines = (line.rstrip() for line in "".join(self.pieces).split("\n"))
        return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: paragraphs, line breaks, list items, link URLs kept."""
    builder = _TextBuilder()
    for kind, value, attributes in html_tokens(html):
        if kind == "text":
            _text(builder, unescape(value))
        elif kind == "start":
            _start(builder, value, dict(attributes))
        else:
            _end(builder, value)
    return builder.text()


def _start(builder: _TextBuilder, tag: str, attributes: dict[str, str | None]) -> None:
    if tag in _SKIPPED:
        builder.skipping += 1
        return
    if tag in ("ul", "ol"):
        builder.lists.append([0 if tag == "ol" else -1])
    if tag in _BLOCKS:
        builder.newlines(_separation(tag, lists_outside=len(builder.lists) - 1))
    if tag == "br":
        builder.append("\n")
    elif tag == "li":
        _list_item(builder)
    elif tag == "a" and len(builder.links) < MAX_HTML_DEPTH:
        builder.links.append((attributes.get("href") or "", len(builder.pieces)))
    elif tag == "pre":
        builder.preformatted += 1
    elif tag == "hr":
        builder.append("----")
    elif tag in ("td", "th"):
        builder.append("\t" if builder.cells else "")
        builder.cells += 1
    elif tag == "tr":
        builder.cells = 0
    elif tag == "img" and attributes.get("alt"):
        builder.append(f"[{attributes['alt']}]")


def _list_item(builder: _TextBuilder) -> None:
    marker = builder.lists[-1] if builder.lists else [-1]
    if marker[0] >= 0:
        marker[0] += 1
    # Bounded: 1 MB of <ul> and <li> would otherwise make half a gigabyte of indentation.
    indent = "  " * min(max(len(builder.lists) - 1, 0), _MAX_LIST_INDENT)
    builder.append(f"{indent}{marker[0]}. " if marker[0] >= 0 else f"{indent}- ")


def _end(builder: _TextBuilder, tag: str) -> None:
    if tag in _SKIPPED:
        builder.skipping = max(builder.skipping - 1, 0)
        return
    if tag in ("ul", "ol") and builder.lists:
        builder.lists.pop()
    elif tag == "pre":
        builder.preformatted = max(builder.preformatted - 1, 0)
    elif tag == "a" and builder.links:
        _end_link(builder, *builder.links.pop())
    if tag in _BLOCKS:
        builder.newlines(_separation(tag, lists_outside=len(builder.lists)))


def _separation(tag: str, *, lists_outside: int) -> int:
    nested_list = tag in ("ul", "ol") and lists_outside > 0
    return 1 if nested_list or tag not in _PARAGRAPHS else 2


def _end_link(builder: _TextBuilder, href: str, start: int) -> None:
    label = "".join(builder.pieces[start:]).strip()
    target = href.strip()
    if target.lower().startswith(_LINK_SCHEMES):
        shown = target[7:] if target.lower().startswith("mailto:") else target
        if shown.rstrip("/") != label.rstrip("/"):
            builder.append(f" ({shown})" if label else shown)


def _text(builder: _TextBuilder, text: str) -> None:
    if builder.skipping:
        return
    if builder.preformatted:
        builder.append(text)
        return
    text = _WHITESPACE.sub(" ", text)
    after_space = not builder.pieces or builder.pieces[-1][-1:].isspace()
    builder.append(text.lstrip() if after_space else text)
