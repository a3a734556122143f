"""Customer HTML sanitized for display with nh3 (plain text from HTML: mime_html_text).

Sanitizing keeps mail formatting (tables, fonts, lists, inline styles from a safe property
list) and removes everything active. Remote images are kept but disarmed so the UI can block
them until the agent asks: `<img src="https://x/y.png">` becomes
`<img data-remote-src="https://x/y.png" src="">` (see REMOTE_IMAGE_ATTRIBUTE). `cid:` images
stay as they are (the UI maps them to attachments). `data:` URLs are allowed only as `img` src
and only for raster images (png, gif, jpeg, webp, bmp); SVG and every other data: URL go.
Links get rel="noopener noreferrer".

nh3 is the binding of the Rust sanitizer ammonia, whose html5ever parser is 10 to 20 times
faster than bleach's html5lib. It is not linear on hostile HTML though: scope checks walk the
whole stack of open elements, duplicate attributes are found by comparing every pair,
misnested formatting elements are re-opened again and again, and each bare "&" or
U+0080-U+00BF character (no-break space, (c)) costs time in proportion to the length of its
text node or attribute value: 1 MB of no-break spaces in one text node takes 30 s. So HTML
is first tokenized here with linear regular expressions and re-emitted by `bound_html`:
nesting, attributes and total work bounded, elements closed by explicit end tags, text split
into short text nodes.

nh3 cannot rename attributes, so remote images are disarmed in nh3's output, where every tag
is in one normal form (`_disarm_remote_images`): after html5ever, whatever the input's
spelling (`<IMAGE SRC=//host/x>`, entities in the URL), and after the scheme check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import nh3

REMOTE_IMAGE_ATTRIBUTE = "data-remote-src"

ALLOWED_TAGS = frozenset(
    {
        *("a", "abbr", "address", "b", "bdi", "bdo", "big", "blockquote", "br", "caption"),
        *("center", "cite", "code", "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt"),
        *("em", "figcaption", "figure", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr"),
        *("i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small"),
        *("span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th"),
        *("thead", "tr", "tt", "u", "ul", "var", "wbr"),
    }
)
# Removed together with their content: text inside them is code, metadata or form chrome.
DROPPED_WITH_CONTENT = frozenset(
    {
        *("script", "style", "title", "head", "template", "iframe", "frame", "frameset"),
        *("noframes", "object", "embed", "applet", "noscript", "textarea", "select"),
        *("svg", "math", "meta", "link", "base", "form", "input", "button"),
    }
)
_GLOBAL_ATTRIBUTES = frozenset({"style", "class", "dir", "lang", "title", "align", "valign"})
_TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name"}),
    "img": frozenset({"src", "alt", "width", "height", "border", "hspace", "vspace"}),
    "font": frozenset({"color", "face", "size"}),
    "ol": frozenset({"start", "type"}),
    "ul": frozenset({"type"}),
    "li": frozenset({"value"}),
    "col": frozenset({"span", "width"}),
    "colgroup": frozenset({"span", "width"}),
    "hr": frozenset({"width", "size", "noshade", "color"}),
    "blockquote": frozenset({"cite", "type"}),
}
_TABLE_ATTRIBUTES = frozenset(
    {"border", "cellpadding", "cellspacing", "colspan", "rowspan", "bgcolor", "width"}
    | {"height", "nowrap", "bordercolor"}
)
for _tag in ("table", "tbody", "thead", "tfoot", "tr", "td", "th", "caption"):
    _TAG_ATTRIBUTES[_tag] = _TABLE_ATTRIBUTES
_PROTOCOLS = frozenset({"http", "https", "mailto", "tel", "cid", "data"})
# Layout and typography only: nothing that loads a URL (background, list-style-image, content)
# or escapes the message box (position, z-index).
SAFE_CSS_PROPERTIES = frozenset(
    {
        *("color", "background-color", "font", "font-family", "font-size", "font-style"),
        *("font-variant", "font-weight", "line-height", "letter-spacing", "word-spacing"),
        *("text-align", "text-decoration", "text-indent", "text-transform", "white-space"),
        *("vertical-align", "direction", "unicode-bidi", "width", "height", "max-width"),
        *("min-width", "max-height", "min-height", "margin", "margin-top", "margin-right"),
        *("margin-bottom", "margin-left", "padding", "padding-top", "padding-right"),
        *("padding-bottom", "padding-left", "border", "border-top", "border-right"),
        *("border-bottom", "border-left", "border-color", "border-style", "border-width"),
        *("border-collapse", "border-spacing", "border-radius", "display", "float", "clear"),
        *("list-style-type", "table-layout", "word-wrap", "overflow-wrap", "word-break"),
    }
)
LINK_REL = "noopener noreferrer"
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
_URI_NOISE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
_DATA_IMAGE = re.compile(r"data:image/(?:png|gif|jpeg|jpg|webp|bmp)[;,]")
# http:, https: and scheme-relative URLs (browsers read a backslash as a slash there).
_REMOTE = re.compile(r"(?:https?:|//)")


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's attribute_filter: the value kept (None drops the attribute).

    nh3 calls it for allowed attributes only, with entities decoded, after its own URL scheme
    check; the scheme is checked again here with everything browsers ignore removed."""
    if name not in _URL_ATTRIBUTES:
        return value
    uri = _URI_NOISE.sub("", value).lower()
    scheme = _SCHEME.match(uri)
    if scheme is None:
        return value  # relative
    if scheme[1] not in _PROTOCOLS:
        return None
    if scheme[1] == "data":
        return value if tag == "img" and name == "src" and _DATA_IMAGE.match(uri) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={"*": set(_GLOBAL_ATTRIBUTES)} | {t: set(a) for t, a in _TAG_ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes=set(_PROTOCOLS),
    filter_style_properties=set(SAFE_CSS_PROPERTIES),
)


def sanitize_html(html: str) -> tuple[str, bool]:
    """Customer HTML made safe to show in the sandboxed frame (see the module docstring).

    Returns the safe HTML and whether it was cut short for exceeding MAX_HTML_COST.
    """
    bounded, cut = bound_html(html)
    return _disarm_remote_images(_CLEANER.clean(bounded)).strip(), cut


# In nh3's output every attribute value is double-quoted with `"`, `&`, `<` and `>` escaped,
# and `<` starts a tag only outside attribute values and text.
_SERIALIZED_IMG = re.compile(r'<img((?: [^\s"\'<>/=]+(?:="[^"]*")?)*)\s*/?>')
_SERIALIZED_ATTRIBUTE = re.compile(r' ([^\s"\'<>/=]+)(?:="([^"]*)")?')


def _disarm_remote_images(html: str) -> str:
    """`<img src="https://x">` in sanitized HTML turned into
    `<img data-remote-src="https://x" src="">`."""
    return _SERIALIZED_IMG.sub(_disarm_image, html) if "<img" in html else html


def _disarm_image(image: re.Match[str]) -> str:
    # Attribute by attribute, so that ` src="` inside another attribute's value is not taken
    # for the src attribute.
    for attribute in _SERIALIZED_ATTRIBUTE.finditer(image[1]):
        if attribute[1] == "src":
            if attribute[2] is None or not _is_remote(unescape(attribute[2])):
                return image[0]
            start, end = attribute.span()
            disarmed = f' {REMOTE_IMAGE_ATTRIBUTE}="{attribute[2]}" src=""'
            return f"<img{image[1][:start]}{disarmed}{image[1][end:]}>"
    return image[0]


def _is_remote(url: str) -> bool:
    return bool(_REMOTE.match(_URI_NOISE.sub("", url).replace("\\", "/").lower()))


# Mail never needs deeper nesting; deeper tags are dropped (their text is kept).
MAX_HTML_DEPTH = 100
MAX_HTML_ATTRIBUTES = 50
# A budget in work units (a tag 1, a character reference or a "<" in text 1, 1000 characters
# of text 1); past it the rest of the HTML is dropped. 8 KB of ordinary mail HTML spends about
# 600, so all of mime.MAX_HTML_CHARS of it fits; hostile HTML that spends it all takes about
# 1 s to sanitize (bleach needed that for a budget half as large).
MAX_HTML_COST = 100_000
_ENTITY_COST = 1
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr", "keygen", "frame", "basefont", "bgsound", "image"}
)
# Elements whose content is raw text up to their end tag.
_RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"}
)
# Every alternative stops at the next "<", so matching is linear even on hostile input.
_TAG_PATTERN = (
    r"<!--.*?(?:-->|\Z)"
    r"|<[!?][^<>]*>?"
    r"|</(?P<end>[a-zA-Z][^\s/<>]*)[^<>]*>"
    r"|<(?P<start>[a-zA-Z][^\s/<>]*)(?P<attrs>(?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*)>"
)
_TOKEN = re.compile(_TAG_PATTERN + r"|(?P<text>[^<]+|<)", re.DOTALL)
_TAG = re.compile(_TAG_PATTERN, re.DOTALL)  # text is what lies between
# The groups. match.lastindex tells the kind of token: _END, _ATTRIBUTES (a start tag, whose
# last group it is) or _TEXT; None for a comment or declaration.
_END, _START, _ATTRIBUTES, _TEXT = 1, 2, 3, 4
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`]+)))?""")
_ATTRIBUTE_NAME = re.compile(r"[a-zA-Z_:][-a-zA-Z0-9_:.]*\Z")

Token = tuple[str, str, list[tuple[str, str | None]]]  # (kind, name or text, attributes)


def html_tokens(html: str) -> Iterator[Token]:
    """("start", tag, attributes), ("end", tag, []) and ("text", raw text, []) tokens.

    Tag names are lower-cased; text is as written (entities not decoded); comments and
    declarations are skipped. Linear in the length of `html`.
    """
    position = 0
    while position < len(html):
        match = _TOKEN.match(html, position)
        if match is None:  # cannot happen: the last alternative matches any character
            break
        position = match.end()
        if match["text"] is not None:
            yield "text", match["text"], []
        elif match["end"] is not None:
            yield "end", match["end"].lower(), []
        elif match["start"] is not None:
            tag = match["start"].lower()
            yield "start", tag, parse_attributes(match["attrs"])
            if tag in _RAW_TEXT:
                end = _RAW_TEXT_END[tag].search(html, position)
                stop = end.start() if end else len(html)
                if stop > position:
                    yield "text", html[position:stop], []
                position = stop


def parse_attributes(text: str) -> list[tuple[str, str | None]]:
    """Attributes of a start tag, values decoded; at most MAX_HTML_ATTRIBUTES, no repeats."""
    found: dict[str, str | None] = {}
    for match in _ATTRIBUTE.finditer(text):
        name = match.group(1).lower()
        if name in found or not _ATTRIBUTE_NAME.match(name):
            continue
        double, single, bare = match.group(2, 3, 4)
        raw = double if double is not None else single if single is not None else bare
        found[name] = unescape(raw) if raw is not None else None
        if len(found) >= MAX_HTML_ATTRIBUTES:
            break
    return list(found.items())


# ---------------------------------------------------------------------------- bound_html

# Raw text for html5ever (scripting on, as in nh3). Elements dropped with their content are
# dropped here already, so html5ever never holds their content in one unsplittable text node;
# the content of the others is passed on as plain text. `select` is not raw text, but
# html5ever ignores the tags in it (the split markers too); it ends at these tags there.
_RAW_TEXT_END = {
    tag: re.compile(rf"</{tag}[\s/>]", re.IGNORECASE)
    for tag in _RAW_TEXT | {"noscript", "plaintext"}
}
_RAW_TEXT_END["plaintext"] = re.compile(r"(?!)")  # to the end of the document
_RAW_TEXT_END["select"] = re.compile(
    r"</select[\s/>]|<(?:select|input|keygen|textarea)[\s/>]", re.I
)
_AS_TEXT = frozenset(_RAW_TEXT_END) - DROPPED_WITH_CONTENT  # xmp, noembed, plaintext
# An element nh3 does not allow, so it unwraps it: an empty one ends html5ever's text node
# without a trace in the output. Text runs are split by it every _TEXT_RUN characters.
_SPLIT = "<x-split></x-split>"
_TEXT_RUN = 2048
# html5ever's cost of an attribute value: about (slow characters x length) / 4e10 seconds.
_ATTRIBUTE_WORK = 1 << 24
_SLOW_CHARACTERS = re.compile('[&"\x00\x80-\xbf]')

# Formatting elements closed implicitly stay in html5ever's list of active formatting elements
# and are re-opened in the next element (`<p><b>x<p>y`: y is bold too). Up to this many at a
# time are left so; beyond, they get end tags too, which bounds that list and what is re-opened.
_FORMATTING = frozenset(
    {"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong"}
    | {"tt", "u"}
)
_MAX_LINGERING = 8
# Start tags that close an open element (targets) unless one of `stops` is nearer, as
# html5ever does; the pre-pass emits the end tags, so the tree html5ever builds is this one.
_SPECIAL = frozenset(
    {"address", "applet", "blockquote", "button", "caption", "center", "col", "colgroup"}
    | {"dd", "details", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure"}
    | {"footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "li"}
    | {"listing", "main", "marquee", "menu", "nav", "object", "ol", "p", "pre", "section"}
    | {"summary", "table", "tbody", "td", "template", "tfoot", "th", "thead", "tr", "ul"}
)
_BUTTON_SCOPE = frozenset(
    {"applet", "button", "caption", "marquee", "object", "table", "td", "th", "template"}
)
_CLOSES_P = (("p",), _BUTTON_SCOPE)
_CLOSED_BY: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    tag: _CLOSES_P
    for tag in (
        *("address", "article", "aside", "blockquote", "center", "details", "dialog", "dir"),
        *("div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup"),
        *("main", "menu", "nav", "ol", "p", "search", "section", "summary", "ul", "h1"),
        *("h2", "h3", "h4", "h5", "h6", "pre", "listing", "hr"),
    )
}
_CLOSED_BY["li"] = (("li",), _SPECIAL - {"address", "div", "p", "li"})
_CLOSED_BY["dd"] = _CLOSED_BY["dt"] = (("dd", "dt"), _SPECIAL - {"address", "div", "p", "dd", "dt"})
_CLOSED_BY["td"] = _CLOSED_BY["th"] = (("td", "th"), frozenset({"table", "tr"}))
_CLOSED_BY["tr"] = (("tr",), frozenset({"table"}))
for _section in ("tbody", "thead", "tfoot"):
    _CLOSED_BY[_section] = (("tbody", "thead", "tfoot"), frozenset({"table"}))
_CLOSED_BY["option"] = (("option",), _SPECIAL)


def bound_html(html: str) -> tuple[str, bool]:
    """`html` re-emitted for nh3 with its cost to html5ever bounded (see the module docstring),
    and whether the work budget (MAX_HTML_COST) cut it short.

    No comments; at most MAX_HTML_DEPTH open elements (deeper start tags are dropped) and
    MAX_HTML_ATTRIBUTES attributes a tag; an element closed implicitly (`<li>a<li>b`, `</div>`
    of an ancestor) gets its end tag as well, but for up to _MAX_LINGERING formatting elements;
    text nodes of at most _TEXT_RUN characters; no raw-text elements that nh3 drops with their
    content (script, style, title, ...), the content of the others (xmp) as escaped text.
    """
    # The hot loop of sanitizing: kept flat, the common cases first.
    out: list[str] = []
    append = out.append
    open_tags: list[str] = []
    start_tags: dict[str, str] = {}  # as written: as emitted
    lingering: dict[str, int] = {}  # formatting elements closed without an end tag, by name
    budget = MAX_HTML_COST
    run = 0  # characters of text since the last split
    position, length = 0, len(html)
    while position < length:
        match = _TAG.search(html, position)
        stop = match.start() if match is not None else length
        if stop > position:  # text, with any "<" that starts no tag
            raw = html[position:stop]
            references = raw.count("&")
            budget -= 1 + _ENTITY_COST * (references + raw.count("<")) + len(raw) // 1000
            if budget < 0:
                return "".join(out), True
            text = unescape(raw) if references else raw
            if run + len(text) > _TEXT_RUN:
                run = _append_split_text(out, text, run)
            else:
                run += len(text)
                append(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        if match is None:
            break
        position = match.end()
        kind = match.lastindex
        if kind == _ATTRIBUTES:  # a start tag
            budget -= 1
            if budget < 0:
                return "".join(out), True
            tag = match.group(_START).lower()
            if tag in _RAW_TEXT_END:
                end = _RAW_TEXT_END[tag].search(html, position)
                stop = end.start() if end is not None else length
                if tag in _AS_TEXT and stop > position:
                    content = html[position:stop]
                    references = content.count("&") + content.count("<")
                    budget -= _ENTITY_COST * references + len(content) // 1000
                    run = _append_split_text(out, content, run)
                position = stop
                continue
            closed_by = _CLOSED_BY.get(tag)
            if closed_by is not None and open_tags:
                _close_implied(out, open_tags, lingering, *closed_by)
            if tag not in _VOID:
                if len(open_tags) >= MAX_HTML_DEPTH:
                    continue
                open_tags.append(tag)
            attributes = match.group(_ATTRIBUTES)
            if not attributes:
                append(f"<{tag}>")
            else:  # mail repeats its tags: each distinct one is parsed once
                source = match.group()
                rendered = start_tags.get(source)
                if rendered is None:
                    rendered = start_tags[source] = _start_tag(tag, attributes)
                append(rendered)
        elif kind == _END:
            budget -= 1
            if budget < 0:
                return "".join(out), True
            tag = match.group(_END).lower()
            if open_tags and open_tags[-1] == tag:
                open_tags.pop()
                append(f"</{tag}>")
            elif tag in open_tags:
                _close(out, open_tags, lingering, _last_index(open_tags, tag))
            elif lingering.get(tag):  # html5ever closes the re-opened element
                lingering[tag] -= 1
                append(f"</{tag}>")
    return "".join(out), False


def _append_split_text(out: list[str], text: str, run: int) -> int:
    """Appends escaped `text` with a split every _TEXT_RUN characters; returns the new run."""
    start = 0
    while start < len(text):
        if run >= _TEXT_RUN:
            out.append(_SPLIT)
            run = 0
        piece = text[start : start + _TEXT_RUN - run]
        out.append(piece.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
        run += len(piece)
        start += len(piece)
    return run


def _close_implied(
    out: list[str],
    open_tags: list[str],
    lingering: dict[str, int],
    targets: tuple[str, ...],
    stops: frozenset[str],
) -> None:
    # List and set operations, no loop over open_tags in Python: this runs for most start tags.
    nearest = -1
    for target in targets:
        if target in open_tags:
            nearest = max(nearest, _last_index(open_tags, target))
    if nearest >= 0 and stops.isdisjoint(open_tags[nearest + 1 :]):
        _close(out, open_tags, lingering, nearest)


def _start_tag(tag: str, attributes: str) -> str:
    rendered = [f"<{tag}"]
    for name, value in parse_attributes(attributes):
        if value is None:
            rendered.append(f" {name}")
        elif len(value) <= _TEXT_RUN or _attribute_work(value) <= _ATTRIBUTE_WORK:
            rendered.append(f' {name}="{_quote(value)}"')
    rendered.append(">")
    return "".join(rendered)


def _quote(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;")


def _attribute_work(value: str) -> int:
    return len(_SLOW_CHARACTERS.findall(value)) * len(value)


def _last_index(open_tags: list[str], tag: str) -> int:
    return len(open_tags) - 1 - open_tags[::-1].index(tag)


def _close(out: list[str], open_tags: list[str], lingering: dict[str, int], index: int) -> None:
    """Closes open_tags[index] and everything opened after it, innermost first: all with end
    tags but formatting elements, up to _MAX_LINGERING of them (see _FORMATTING)."""
    for tag in reversed(open_tags[index + 1 :]):
        if tag in _FORMATTING and sum(lingering.values()) < _MAX_LINGERING:
            lingering[tag] = lingering.get(tag, 0) + 1
        else:
            out.append(f"</{tag}>")
    out.append(f"</{open_tags[index]}>")
    del open_tags[index:]
