"""parse_message on mutated corpus messages and random bytes: never raises, stays fast.

parse_message turns an internal exception into the defect "message could not be parsed";
that counts as a failure here, so the fuzzing finds bugs rather than hiding them.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conduit.mime import parse_message
from conduit.mime_html import ALLOWED_TAGS, REMOTE_IMAGE_ATTRIBUTE, sanitize_html

MAIL_DIR = Path(__file__).parent / "data" / "mail"
SEEDS = [path.read_bytes() for path in sorted(MAIL_DIR.glob("*.eml"))]
TIME_LIMIT_SECONDS = 2.0
# Fragments that steer mutations into the parser's interesting corners.
SNIPPETS = [
    b"\n--==b1==\n",
    b"\n--outer--\n",
    b"\n--x\nContent-Type: text/plain\n\n",
    b"Content-Type: multipart/mixed; boundary=x\n",
    b"Content-Type: message/rfc822\n\n",
    b"Content-Type: application/ms-tnef; name=winmail.dat\n",
    b"Content-Type: application/mac-binhex40\n\n:",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Disposition: attachment; filename*0*=utf-8''%C3; filename*1=x\n",
    b"Subject: =?utf-8?B?w6",
    b"=?koi8-r?Q?=FF=",
    b"?=",
    b"\n\n",
    b"\r",
    b"\x00",
    b"begin 644 x.bin\nM",
    b"\nend\n",
    b"(This file must be converted with BinHex 4.0)\n:!!",
    b"<script>",
    b"<div>" * 40,
    b"<a href='",
    b"\xff\xfe\x80",
]
_POSITION = st.integers(min_value=0, max_value=2**31)
_MUTATION = st.one_of(
    st.tuples(st.just("flip"), _POSITION, st.integers(min_value=1, max_value=255)),
    st.tuples(st.just("truncate"), _POSITION),
    st.tuples(st.just("insert"), _POSITION, st.sampled_from(SNIPPETS)),
    st.tuples(st.just("insert"), _POSITION, st.binary(max_size=64)),
    st.tuples(st.just("delete"), _POSITION, st.integers(min_value=1, max_value=200)),
)


def _mutate(raw: bytes, mutation: tuple[Any, ...]) -> bytes:
    kind, position = mutation[0], mutation[1] % (len(raw) + 1)
    if kind == "flip" and raw:
        index = min(position, len(raw) - 1)
        return raw[:index] + bytes([raw[index] ^ mutation[2]]) + raw[index + 1 :]
    if kind == "truncate":
        return raw[:position]
    if kind == "insert":
        return raw[:position] + mutation[2] + raw[position:]
    if kind == "delete":
        return raw[:position] + raw[position + mutation[2] :]
    return raw


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(SEEDS))
    for mutation in draw(st.lists(_MUTATION, max_size=8)):
        raw = _mutate(raw, mutation)
    return raw


@settings(
    max_examples=300,
    deadline=None,  # the time bound is asserted below, per call, not by hypothesis
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=st.one_of(mutated_messages(), st.binary(max_size=4096)))
def test_mutated_messages_never_raise_and_parse_within_the_time_bound(raw: bytes) -> None:
    started = time.perf_counter()
    message = parse_message(raw)
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT_SECONDS
    assert not any(defect.startswith("message could not be parsed") for defect in message.defects)
    encoded = json.dumps(message.as_json(file="fuzz.eml"))  # everything is serializable
    assert json.loads(encoded)["file"] == "fuzz.eml"


# Pieces of HTML that steer sanitize_html into its corners: attribute spellings, URL schemes,
# raw-text and foreign elements, misnesting, the characters html5ever is slow on.
HTML_PIECES = [
    *("<img", "<IMG", "<image", " src=", " SRC=", " src =", "=", '"', "'", ">", "<", "/", " "),
    *("https://t.example/p.gif", "//t.example/p", "\\\\t.example/p", "http:t.example/p"),
    *("&#104;ttps://t.example/", "&amp;", "&quot;", "&#x3a;", "\t", "\n", "\x00", "\xa0", "©"),
    *("javascript:alert(1)", "jav&#x09;ascript:x", "vbscript:x", "data:image/png;base64,AA"),
    *("data:image/svg+xml,x", "data:text/html,x", "cid:a@b", " data-remote-src=", " onerror="),
    *("<a href=", "</a>", " rel=", " target=", " style=", "color:red;position:fixed", "url(x)"),
    *("<p>", "</p>", "<b>", "</b>", "<i>", "<div>", "</div>", "<li>", "<table>", "<tr>", "<td>"),
    *("<svg>", "</svg>", "<math>", "<script>", "</script>", "<style>", "</style>", "<title>"),
    *("<xmp>", "</xmp>", "<select>", "<textarea>", "<noscript>", "<template>", "<plaintext>"),
    *("<!--", "-->", "<![CDATA[", "]]>", "<!doctype html>", "<?xml?>", "<x-split>"),
]
_URI_NOISE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")


class _Tags(HTMLParser):
    """Start tags with their attributes as a browser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


@settings(max_examples=400, deadline=None, database=None)
@given(pieces=st.lists(st.one_of(st.sampled_from(HTML_PIECES), st.text(max_size=6)), max_size=40))
def test_sanitized_html_has_nothing_active_and_no_remote_image(pieces: list[str]) -> None:
    started = time.perf_counter()
    html, _ = sanitize_html("".join(pieces))
    assert time.perf_counter() - started < TIME_LIMIT_SECONDS
    parser = _Tags()
    parser.feed(html)
    parser.close()
    for tag, attributes in parser.tags:
        assert tag in ALLOWED_TAGS
        for name, value in attributes.items():
            assert not name.startswith("on")
            uri = _URI_NOISE.sub("", value).lower().replace("\\", "/")
            if name in ("href", "src", "cite"):
                assert not uri.startswith(("javascript:", "vbscript:", "file:"))
                assert not uri.startswith("data:") or (
                    tag == "img" and re.match(r"data:image/(png|gif|jpeg|jpg|webp|bmp)[;,]", uri)
                )
            if tag == "img" and name == "src":
                assert not uri.startswith(("http:", "https:", "//")), html
            if name == REMOTE_IMAGE_ATTRIBUTE:
                assert tag == "img" and attributes.get("src") == ""
                assert uri.startswith(("http:", "https:", "//"))
            if name == "style":  # declarations of the safe properties only
                assert not re.search(r"(^|;)\s*position\s*:", value)
