"""Focused behaviour of the conduit's MIME parser (conduit.mime.parse_message)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from conduit.mime import Address, ParsedMessage, parse_message
from conduit.mime_html import MAX_HTML_COST, REMOTE_IMAGE_ATTRIBUTE, sanitize_html


def _mail(body: str, *, headers: str = "", content_type: str = "text/plain") -> bytes:
    head = (
        "From: Alice <alice@example.com>\nTo: support@helpdesk.example\nSubject: Test\n"
        "Date: Tue, 05 Mar 2024 09:15:00 +0100\nMessage-ID: <t1@example.com>\n"
        f"MIME-Version: 1.0\nContent-Type: {content_type}\n"
    )
    return (head + headers + "\n" + body).encode("utf-8")


def _html_mail(html: str) -> ParsedMessage:
    return parse_message(_mail(html, content_type="text/html; charset=utf-8"))


def _with_attachment(disposition: str, content_type: str = "application/octet-stream") -> bytes:
    return _mail(
        "--b\nContent-Type: text/plain\n\nSee attached.\n--b\n"
        f"Content-Type: {content_type}\nContent-Disposition: {disposition}\n"
        "Content-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n",
        content_type='multipart/mixed; boundary="b"',
    )


# --------------------------------------------------------------------------- HTML


def test_script_and_event_handlers_are_removed_from_html() -> None:
    message = _html_mail(
        '<p onclick="steal()">Hi</p><script>alert("x")</script>'
        '<img src="cid:a" onerror="alert(1)"><body onload="go()">'
    )
    assert message.html is not None
    assert "<script" not in message.html
    assert "alert" not in message.html
    assert "onclick" not in message.html and "onerror" not in message.html
    assert "onload" not in message.html
    assert "<p>Hi</p>" in message.html


def test_style_and_script_contents_vanish_from_html_and_text() -> None:
    message = _html_mail(
        "<html><head><title>T</title><style>.x { color: red }</style></head>"
        "<body><script>var secret = 1;</script><p>Visible</p></body></html>"
    )
    assert message.html == "<p>Visible</p>"
    assert message.text == "Visible"


def test_active_elements_and_forms_are_removed_with_their_content() -> None:
    html = _html_mail(
        '<iframe src="https://evil.example">fallback</iframe><object data="x">o</object>'
        '<embed src="x"><form action="https://evil.example"><input name="pw">'
        "<button>Go</button></form><meta http-equiv=refresh content=0><base href=x><p>ok</p>"
    ).html
    assert html == "<p>ok</p>"


def test_javascript_vbscript_and_data_links_are_removed() -> None:
    html = _html_mail(
        '<a href="javascript:alert(1)">a</a><a href=" JaVa&#x09;script:alert(1)">b</a>'
        '<a href="vbscript:x">c</a><a href="data:text/html;base64,PHNjcmlwdD4=">d</a>'
        '<a href="https://ok.example/" title="t">e</a><a href="mailto:x@example.com">f</a>'
    ).html
    assert html is not None
    assert "script:" not in html.lower() and "data:" not in html
    link = '<a rel="noopener noreferrer">'
    assert f"{link}a</a>{link}b</a>{link}c</a>{link}d</a>" in html
    assert '<a href="https://ok.example/" title="t" rel="noopener noreferrer">e</a>' in html
    assert '<a href="mailto:x@example.com" rel="noopener noreferrer">f</a>' in html


def test_data_image_urls_are_kept_only_for_raster_images() -> None:
    html = _html_mail(
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="png">'
        '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="svg">'
    ).html
    assert html == ('<img src="data:image/png;base64,iVBORw0KGgo=" alt="png"><img alt="svg">')


def test_remote_images_are_marked_for_blocking() -> None:
    html = _html_mail(
        '<img src="https://tracker.example/p.gif" width="1"><img src="//cdn.example/x.png">'
    ).html
    assert html is not None
    assert REMOTE_IMAGE_ATTRIBUTE == "data-remote-src"
    assert 'data-remote-src="https://tracker.example/p.gif"' in html
    assert 'data-remote-src="//cdn.example/x.png"' in html
    assert ' src="https://' not in html and ' src="//' not in html
    assert html.count('src=""') == 2


def test_cid_images_are_left_for_the_ui_to_map() -> None:
    assert _html_mail('<img src="cid:logo@x" alt="logo">').html == (
        '<img src="cid:logo@x" alt="logo">'
    )


def test_css_is_limited_to_safe_properties() -> None:
    html = _html_mail(
        '<div style="color: red; position: absolute; background-image: url(https://x/y);'
        ' font-weight: bold; behavior: url(x.htc)">x</div>'
    ).html
    assert html == '<div style="color:red;font-weight:bold">x</div>'  # nh3's normal form


def test_mail_formatting_survives_sanitizing() -> None:
    source = (
        '<table border="1" cellpadding="2"><tbody><tr><td colspan="2">cell</td></tr></tbody>'
        '</table><ul><li>one</li></ul><ol start="3"><li>three</li></ol>'
        '<font color="red" face="Arial">f</font><p class="MsoNormal" dir="ltr">'
        "<b>b</b><i>i</i><u>u</u><strong>s</strong><em>e</em><br>x</p>"
        '<span style="color: blue;">s</span><blockquote>q</blockquote><pre>  p</pre>'
    )
    # nh3 writes style declarations in a normal form, without spaces
    assert _html_mail(source).html == source.replace("color: blue;", "color:blue")


def test_deeply_nested_or_attribute_stuffed_html_is_sanitized_quickly() -> None:
    hostile = "<div>" * 20000 + "x" + "<a " + " ".join(f"a{i}=1" for i in range(20000)) + ">"
    started = time.perf_counter()
    message = _html_mail(hostile + "<a" * 100000)
    assert time.perf_counter() - started < 5
    assert message.html is not None


def _image_attributes(html: str) -> list[dict[str, str | None]]:
    """The attributes of every img in `html`, as a browser reads them."""
    images: list[dict[str, str | None]] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                images.append(dict(attrs))

    Images().feed(html)
    return images


@pytest.mark.parametrize(
    "image",
    [
        '<IMG SRC="https://t.example/p.gif">',
        "<img src='https://t.example/p.gif'>",
        "<img src=https://t.example/p.gif>",
        '<img src="HTTPS://t.example/p.gif" />',
        '<img src="&#104;ttps&#x3a;//t.example/p.gif">',
        '<img src=" \thttps://t.example/p.gif">',
        '<img src="//t.example/p.gif">',
        '<img src="\\\\t.example\\p.gif">',  # browsers read \\ as //
        '<img src="/\\t.example/p.gif">',
        '<img src="http:t.example/p.gif">',
        '<image src="https://t.example/p.gif">',  # html5ever makes it an img
        '<svg><img src="https://t.example/p.gif"></svg>',  # breaks out of the svg
        '<img alt="x src=" src="https://t.example/p.gif">',
        '<img title=\'">\' src="https://t.example/p.gif">',
    ],
)
def test_remote_images_are_marked_for_blocking_however_they_are_spelled(image: str) -> None:
    html, _ = sanitize_html(f"<p>before{image}after</p>")
    assert "before" in html and "after" in html
    (attributes,) = _image_attributes(html)
    assert attributes["src"] == ""
    assert "t.example" in (attributes[REMOTE_IMAGE_ATTRIBUTE] or "")


def test_remote_image_url_is_kept_escaped_and_other_attributes_stay() -> None:
    html, _ = sanitize_html(
        '<img alt="a&quot;b" src="https://t.example/p.gif?a=1&amp;b=2" width=1>'
    )
    assert html == (
        '<img alt="a&quot;b" data-remote-src="https://t.example/p.gif?a=1&amp;b=2" src=""'
        ' width="1">'
    )


@pytest.mark.parametrize(
    "image",
    [
        '<img src="cid:part1@x">',
        '<img src="logo.png">',
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">',
        "<img>",
    ],
)
def test_local_images_are_not_marked(image: str) -> None:
    html, _ = sanitize_html(image)
    assert html == image
    assert REMOTE_IMAGE_ATTRIBUTE not in html


def test_remote_source_attribute_written_in_the_mail_is_dropped() -> None:
    html, _ = sanitize_html(
        '<img data-remote-src="javascript:alert(1)" src="cid:x"><p data-remote-src="https://x">p</p>'
    )
    assert html == '<img src="cid:x"><p>p</p>'


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        ("data:image/png;base64,iVBORw0KGgo=", True),
        ("data:image/jpeg;base64,/9j/4AAQ", True),
        ("DATA:image/webp;base64,UklGRg==", True),
        ("data:image/svg+xml;base64,PHN2Zz4=", False),
        ("data:text/html;base64,PHNjcmlwdD4=", False),
        (" data:image/svg+xml;base64,PHN2Zz4=", False),
        ("javascript:alert(1)", False),
        ("jav&#x09;ascript:alert(1)", False),
        ("vbscript:msgbox", False),
        ("file:///etc/passwd", False),
    ],
)
def test_image_sources_are_checked_by_scheme_and_data_type(source: str, kept: bool) -> None:
    html, _ = sanitize_html(f'<img src="{source}" alt="i">')
    assert ("src=" in html) is kept
    assert html.endswith('alt="i">')


def test_data_urls_are_not_kept_outside_img_src() -> None:
    html, _ = sanitize_html(
        '<a href="data:image/png;base64,iVBORw0KGgo=">a</a>'
        '<blockquote cite="data:image/png;base64,iVBORw0KGgo=">q</blockquote>'
    )
    assert "data:" not in html


def test_links_get_noopener_noreferrer_and_lose_target_and_their_own_rel() -> None:
    html, _ = sanitize_html('<a href="https://x.example/" target="_blank" rel="opener">l</a>')
    assert html == '<a href="https://x.example/" rel="noopener noreferrer">l</a>'


def test_comments_and_conditional_comments_are_removed() -> None:
    html, _ = sanitize_html(
        "<!--[if mso]><style>p{}</style><![endif]--><p>a<!-- secret -->b</p><![if !vml]>c<![endif]>"
    )
    assert html == "<p>ab</p>c"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<title>T</title><textarea>pw</textarea><p>x</p>", "<p>x</p>"),
        ("<select><option>one<option>two</select><p>x</p>", "<p>x</p>"),
        ("<noscript><img src=x></noscript><p>x</p>", "<p>x</p>"),
        ("<template><p>t</p></template><p>x</p>", "<p>x</p>"),
        ("<xmp><b>&amp;</b></xmp>", "&lt;b&gt;&amp;amp;&lt;/b&gt;"),  # raw text, as in browsers
        ("<plaintext><b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
    ],
)
def test_raw_text_elements_are_dropped_or_shown_as_text(source: str, expected: str) -> None:
    assert sanitize_html(source) == (expected, False)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<ul><li>a<li>b</ul>", "<ul><li>a</li><li>b</li></ul>"),
        ("<dl><dt>t<dd>d<dt>u</dl>", "<dl><dt>t</dt><dd>d</dd><dt>u</dt></dl>"),
        ("<p>a<div>b</div>", "<p>a</p><div>b</div>"),
        # Formatting left open continues into the next block, as browsers show it.
        ("<p>a<b>bold<p>next</b> plain", "<p>a<b>bold</b></p><p><b>next</b> plain</p>"),
        ("<div><i>x</div>after", "<div><i>x</i></div><i>after</i>"),
    ],
)
def test_implicitly_closed_elements_are_closed_as_browsers_close_them(
    source: str, expected: str
) -> None:
    assert sanitize_html(source) == (expected, False)


def test_a_long_table_without_end_tags_keeps_all_its_rows() -> None:
    html, cut = sanitize_html("<table>" + "<tr><td>a<td>b" * 300 + "</table>")
    assert not cut
    assert html == "<table><tbody>" + "<tr><td>a</td><td>b</td></tr>" * 300 + "</tbody></table>"


@pytest.mark.parametrize("text", ["a&amp;b&nbsp;\u00a9 " * 3000, "x" * 10000, "\u00a0" * 5000])
def test_long_text_is_passed_through_unchanged(text: str) -> None:
    html, _ = sanitize_html(f"<table><tr><td><p>{text}</p></td></tr></table>")
    # Split into short text nodes for html5ever (bound_html), joined again in the output.
    expected = text.replace("\u00a0", "&nbsp;")
    assert html == f"<table><tbody><tr><td><p>{expected}</p></td></tr></tbody></table>"


def test_html_over_the_work_budget_is_cut_and_reported() -> None:
    message = _html_mail("<p>start</p>" + "<i>x</i>" * MAX_HTML_COST)
    assert message.html is not None and message.html.startswith("<p>start</p><i>x</i>")
    assert "HTML too complex to show in full; the end was dropped" in message.defects
    assert sanitize_html("<i>x</i>" * 1000)[1] is False


# MAX_HTML_CHARS (1 MB) of HTML aimed at html5ever's slow paths: each must stay fast.
_HOSTILE_HTML = {
    "no-break spaces": "<p>" + "\u00a0" * 1_000_000,
    "copyright signs in an attribute": '<p title="' + "\u00a9" * 1_000_000 + '">x',
    "bare ampersands": "&" * 1_000_000,
    "character references": "&nbsp;&amp;" * 90_000,
    "no-break spaces in a table": "<table>" + "\u00a0" * 1_000_000,
    "no-break spaces in a select": "<select>" + "\u00a0" * 1_000_000,
    "no-break spaces in a title": "<title>" + "\u00a0" * 1_000_000,
    "no-break spaces in xmp": "<xmp>" + "\u00a0" * 1_000_000,
    "deep divs": "<div>" * 200_000,
    "deep lists": "<ul>" * 1000 + "<li>" * 240_000,
    "misnested formatting": "<a><b><a>" * 110_000,
    "formatting re-opened": "".join(f"<p><b c={i}>x" for i in range(55_000)),
    "formatting in closed blocks": "".join(
        "<div>" + "".join(f"<b c={r}_{i}>" for i in range(90)) + "</div>x" for r in range(900)
    ),
    "attributes": "<a " + " ".join(f"a{i}=1" for i in range(110_000)) + ">",
    "unclosed tags": "<a" * 500_000,
    "tracking pixels": '<img src="https://t.example/p.gif">' * 29_000,
}


@pytest.mark.parametrize("name", list(_HOSTILE_HTML))
def test_hostile_html_is_sanitized_quickly(name: str) -> None:
    hostile = _HOSTILE_HTML[name]
    started = time.perf_counter()
    message = _html_mail(hostile)
    assert time.perf_counter() - started < 5
    assert message.html is not None
    assert len(message.html) < 8 * len(hostile)


def test_sanitizing_from_several_threads_gives_the_same_results() -> None:
    documents = [
        f'<p>{i}<img src="https://t.example/{i}"><a href="/{i}">l</a></p>' * 20 for i in range(40)
    ]
    expected = [sanitize_html(document) for document in documents]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(sanitize_html, documents * 5)) == expected * 5


# --------------------------------------------------------------------------- text


def test_text_is_made_from_html_only_mail() -> None:
    message = _html_mail(
        "<html><head><style>p{}</style></head><body><p>Dear support,</p>"
        "<p>Order <b>#5</b> is late&nbsp;&amp; broken.<br>See "
        '<a href="https://shop.example/5">the order</a>.</p>'
        "<ul><li>Mug</li><li>Plate</li></ul><ol><li>first</li><li>second</li></ol>"
        "<table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )
    assert message.text == (
        "Dear support,\n\nOrder #5 is late & broken.\nSee the order "
        "(https://shop.example/5).\n\n- Mug\n- Plate\n\n1. first\n2. second\n\na\tb"
    )


def test_plain_text_part_is_preferred_for_text_and_html_part_for_html() -> None:
    message = parse_message(
        _mail(
            "--a\nContent-Type: text/plain\n\nPlain words.\n--a\n"
            "Content-Type: text/html\n\n<p>HTML words.</p>\n--a--\n",
            content_type='multipart/alternative; boundary="a"',
        )
    )
    assert message.text == "Plain words."
    assert message.html == "<p>HTML words.</p>"


def test_text_only_mail_has_no_html() -> None:
    assert parse_message(_mail("Just text.\n")).html is None


def test_format_flowed_lines_are_joined() -> None:
    message = parse_message(
        _mail("One long \nline.\n> quoted \n> too\n", content_type="text/plain; format=flowed")
    )
    assert message.text == "One long line.\n> quoted too"


def test_uuencoded_block_is_extracted_and_removed_from_text() -> None:
    data = b"uuencoded payload\n" * 5
    lines = [binascii.b2a_uu(data[i : i + 45]).decode().rstrip("\n") for i in range(0, 90, 45)]
    block = "begin 600 notes.txt\n" + "\n".join(lines) + "\n`\nend\n"
    message = parse_message(_mail(f"Before.\n{block}After.\n"))
    assert [(a.filename, a.payload) for a in message.attachments] == [("notes.txt", data)]
    assert message.text == "Before.\nAfter."


def test_forwarded_message_text_is_not_merged_into_body() -> None:
    inner = "From: c@example.net\nSubject: Help/me please\n\nINNER TEXT\n"
    message = parse_message(
        _mail(
            f"--f\nContent-Type: text/plain\n\nOuter.\n--f\nContent-Type: message/rfc822\n\n{inner}"
            "--f--\n",
            content_type='multipart/mixed; boundary="f"',
        )
    )
    assert message.text == "Outer."
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("Help_me please.eml", "message/rfc822")
    ]
    assert b"INNER TEXT" in message.attachments[0].payload


# --------------------------------------------------------------------------- attachments


@pytest.mark.parametrize(
    ("raw_name", "safe_name"),
    [
        ("..\\..\\evil.exe", "evil.exe"),
        ("/etc/passwd", "passwd"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        (".htaccess", "htaccess"),
        ("...", "attachment.bin"),
        ("in\x07voice\u202egpj.exe", "invoicegpj.exe"),
        ('what?<>|*:".txt', "what_______.txt"),
    ],
)
def test_attachment_filename_is_reduced_to_a_safe_base_name(raw_name: str, safe_name: str) -> None:
    quoted = raw_name.replace("\\", "\\\\").replace('"', '\\"')
    message = parse_message(_with_attachment(f'attachment; filename="{quoted}"'))
    assert [a.filename for a in message.attachments] == [safe_name]


def test_long_attachment_filename_is_cut_to_255_bytes_keeping_its_extension() -> None:
    name = "ü" * 300 + ".pdf"
    message = parse_message(_with_attachment(f"attachment; filename*=utf-8''{name}"))
    filename = message.attachments[0].filename
    assert len(filename.encode("utf-8")) <= 255
    assert filename.endswith("ü.pdf")


def test_nameless_attachment_is_named_after_its_content_type() -> None:
    message = parse_message(_with_attachment("attachment", content_type="image/png"))
    assert [(a.filename, a.content_type, a.payload) for a in message.attachments] == [
        ("attachment.png", "image/png", b"hello")
    ]


def test_inline_image_keeps_its_content_id_without_brackets() -> None:
    message = parse_message(
        _mail(
            '--r\nContent-Type: text/html\n\n<img src="cid:pic@x">\n--r\n'
            "Content-Type: image/gif\nContent-ID: < pic@x >\nContent-Transfer-Encoding: base64\n\n"
            "R0lGODlhAQABAAAAACw=\n--r--\n",
            content_type='multipart/related; boundary="r"',
        )
    )
    (image,) = message.attachments
    assert (image.inline, image.content_id, image.size) == (True, "pic@x", 14)
    assert image.sha256 == hashlib.sha256(base64.b64decode("R0lGODlhAQABAAAAACw=")).hexdigest()


def test_tnef_body_becomes_the_text_when_the_mail_has_no_other() -> None:
    def attribute(level: int, ident: int, kind: int, data: bytes) -> bytes:
        size = len(data).to_bytes(4, "little")
        checksum = (sum(data) & 0xFFFF).to_bytes(2, "little")
        return (
            bytes([level])
            + ident.to_bytes(2, "little")
            + kind.to_bytes(2, "little")
            + (size + data + checksum)
        )

    tnef = (0x223E9F78).to_bytes(4, "little") + b"\x01\x00"
    tnef += attribute(1, 0x9007, 6, (1252).to_bytes(4, "little") + bytes(4))
    tnef += attribute(1, 0x800C, 2, "Only in TNEF: café".encode("cp1252"))
    tnef += attribute(2, 0x9002, 6, bytes(14))
    tnef += attribute(2, 0x8010, 1, b"a.txt\x00")
    tnef += attribute(2, 0x800F, 6, b"AB")
    message = parse_message(
        _mail(
            base64.b64encode(tnef).decode() + "\n",
            headers="Content-Transfer-Encoding: base64\n",
            content_type='application/ms-tnef; name="winmail.dat"',
        )
    )
    assert message.text == "Only in TNEF: café"
    assert [(a.filename, a.payload) for a in message.attachments] == [("a.txt", b"AB")]


def test_binhex_crc_mismatch_is_recorded_as_a_defect() -> None:
    # name "x", type/creator, data "hi", all CRCs zero: the header CRC check must fail.
    stream = b"\x01x\x00TEXTttxt\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00hi\x00\x00\x00\x00"
    six = (
        base64.b64encode(stream)
        .rstrip(b"=")
        .translate(
            bytes.maketrans(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr",
            )
        )
    )
    message = parse_message(
        _mail(":" + six.decode() + ":\n", content_type="application/mac-binhex40")
    )
    assert [(a.filename, a.payload) for a in message.attachments] == [("x", b"hi")]
    assert "BinHex header CRC mismatch" in message.defects


def test_malformed_base64_is_decoded_as_far_as_possible_and_recorded() -> None:
    message = parse_message(
        _mail(
            "--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment\n"
            "Content-Transfer-Encoding: base64\n\naGVs*bG8gd29y!bGQ\n--b--\n",
            content_type='multipart/mixed; boundary="b"',
        )
    )
    assert message.attachments[0].payload == b"hello world"
    assert any(defect.startswith("malformed base64") for defect in message.defects)


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("header", "priority"),
    [
        ("X-Priority: 1 (Highest)", "urgent"),
        ("X-Priority: 2", "high"),
        ("X-Priority: 3 (Normal)", "normal"),
        ("X-Priority: 4", "low"),
        ("X-Priority: 5 (Lowest)", "low"),
        ("Importance: High", "high"),
        ("Importance: low", "low"),
        ("Priority: urgent", "urgent"),
        ("Priority: non-urgent", "low"),
        ("X-Priority: 1\nImportance: low", "urgent"),
        ("X-Priority: banana", "normal"),
        ("", "normal"),
    ],
)
def test_priority_is_mapped_from_priority_headers(header: str, priority: str) -> None:
    headers = f"{header}\n" if header else ""
    assert parse_message(_mail("x\n", headers=headers)).priority == priority


@pytest.mark.parametrize(
    ("headers", "subject", "auto"),
    [
        ("Auto-Submitted: auto-replied\n", "Re: x", True),
        ("Auto-Submitted: auto-generated; owner-email=x@y\n", "x", True),
        ("Auto-Submitted: no\n", "x", False),
        ("Precedence: bulk\n", "x", True),
        ("Precedence: junk\n", "x", True),
        ("Precedence: list\n", "x", True),
        ("Precedence: auto_reply\n", "x", True),
        ("X-Autoreply: yes\n", "x", True),
        ("X-Autorespond: vacation\n", "x", True),
        ("X-Auto-Response-Suppress: All\n", "x", False),
        ("", "Out of Office: back Monday", True),
        ("", "Automatic reply: Your ticket", True),
        ("", "Abwesenheitsnotiz: Ihre Anfrage", True),
        ("", "Réponse automatique : absent", True),
        ("", "Risposta automatica: ferie", True),
        ("", "Autosvar: semester", True),
        ("", "AutoReply: away", True),
        ("", "Re: my out of office plan", False),
        ("", "Question about automatic replies", False),
    ],
)
def test_auto_submitted_is_set_only_by_signs_of_automatic_mail(
    headers: str, subject: str, auto: bool
) -> None:
    raw = _mail("x\n", headers=headers).replace(b"Subject: Test", f"Subject: {subject}".encode())
    assert parse_message(raw).auto_submitted is auto


@pytest.mark.parametrize(
    ("sender", "subject", "report"),
    [
        ("MAILER-DAEMON@mx.example", "Undelivered Mail Returned to Sender", True),
        (
            "Mail Delivery Subsystem <mailer-daemon@google.example>",
            "Delivery Status Notification (Failure)",
            True,
        ),
        ("postmaster@corp.example", "Undeliverable: Invoice", True),
        ("MAILER-DAEMON@qmail.example", "failure notice", True),
        (
            "Mail Delivery System <postmaster@x.example>",
            "Mail delivery failed: returning message to sender",
            True,
        ),
        ("mailer-daemon@x.example", "Returned mail: see transcript for details", True),
        ("alice@example.com", "Undeliverable: why did my order fail?", False),
        ("MAILER-DAEMON@mx.example", "Your weekly digest", False),
    ],
)
def test_non_standard_bounces_are_recognised_by_sender_and_subject(
    sender: str, subject: str, report: bool
) -> None:
    raw = (
        f"From: {sender}\nTo: support@helpdesk.example\nSubject: {subject}\n"
        "Date: Tue, 05 Mar 2024 09:15:00 +0100\n\nbody\n"
    ).encode()
    message = parse_message(raw)
    assert message.delivery_report is report
    assert message.auto_submitted is report


def test_rfc3464_report_is_a_delivery_report_whoever_sends_it() -> None:
    message = parse_message(
        _mail(
            "--r\nContent-Type: text/plain\n\nSorry.\n--r\nContent-Type: message/delivery-status"
            "\n\nReporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; x@y\nAction: failed\n"
            "--r--\n",
            content_type='multipart/report; report-type=delivery-status; boundary="r"',
        )
    )
    assert message.delivery_report is True
    assert message.auto_submitted is True
    assert [a.content_type for a in message.attachments] == ["message/delivery-status"]


# --------------------------------------------------------------------------- headers


def test_addresses_are_parsed_with_decoded_names() -> None:
    message = parse_message(
        _mail(
            "x\n",
            headers='Cc: "Doe, John" <john@example.com>, =?utf-8?Q?Ren=C3=A9?= <rene@x.fr>,\n'
            " undisclosed-recipients:;, Team: a@x.org, b@x.org;, MAILER-DAEMON\n"
            "Reply-To: <Replies@Example.COM> (Sales)\n",
        )
    )
    assert message.cc == [
        Address("Doe, John", "john@example.com"),
        Address("René", "rene@x.fr"),
        Address("", "a@x.org"),
        Address("", "b@x.org"),
        Address("", "MAILER-DAEMON"),
    ]
    assert message.reply_to == [Address("(Sales)", "Replies@Example.COM")]


def test_subject_encoded_words_split_mid_character_are_joined() -> None:
    euro = "5€".encode()
    words = [base64.b64encode(euro[:2]).decode(), base64.b64encode(euro[2:]).decode()]
    raw = _mail("x\n").replace(
        b"Subject: Test", f"Subject: =?utf-8?B?{words[0]}?=\n =?utf-8?B?{words[1]}?=".encode()
    )
    assert parse_message(raw).subject == "5€"


def test_threading_headers_keep_brackets_order_and_drop_duplicates() -> None:
    message = parse_message(
        _mail(
            "x\n",
            headers="In-Reply-To: <b@x> (comment) <c@x>\nReferences: <a@x>\n <b@x>\t<a@x> <c@x>\n",
        )
    )
    assert message.message_id == "<t1@example.com>"
    assert message.in_reply_to == "<b@x>"
    assert message.references == ["<a@x>", "<b@x>", "<c@x>"]


def test_date_without_timezone_is_taken_as_utc() -> None:
    raw = _mail("x\n").replace(b"+0100", b"-0000")
    assert parse_message(raw).date == datetime(2024, 3, 5, 9, 15, tzinfo=UTC)


def test_headers_are_all_kept_decoded_and_in_order() -> None:
    message = parse_message(_mail("x\n", headers="X-Tag: =?utf-8?q?gr=C3=BCn?=\nX-Tag: two\n"))
    assert message.headers[-2:] == [("X-Tag", "grün"), ("X-Tag", "two")]
    assert [name for name, _ in message.headers][:3] == ["From", "To", "Subject"]


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 100,
        b"\xff\xfe\xfd",
        b"From: a@b\n",
        b"Content-Type: multipart/mixed; boundary=\n\n--\n--\n",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: message/rfc822\n\n",
        b"Content-Type: text/plain; charset=rot13\n\nabc\xff",
        b"Content-Type: text/plain; charset=unicode_escape\n\n\\u0041\xff",
        b"Content-Transfer-Encoding: base64\n\n====",
        b"Subject: =?utf-8?B?====?= =?x?Q?=ZZ?= =?\n\n",
        b"Date: Mon, 99 Foo 99999 99:99:99 +9999\n\n",
        b'From: <<<>>>"\\\nTo: ,,,;;;:::\n\n',
        b"Content-Type: application/ms-tnef\n\n\x78\x9f\x3e\x22" + b"\x02\x10\x80" * 10,
        b"Content-Type: application/mac-binhex40\n\n:!!!!!!!!!:",
        bytearray(b"From: a@b\n\nbytearray input"),
        memoryview(b"From: a@b\n\nmemoryview input"),
    ],
)
def test_parse_message_never_raises(raw: bytes) -> None:
    message = parse_message(raw)
    assert isinstance(message, ParsedMessage)
    assert message.priority in {"low", "normal", "high", "urgent"}


def test_ten_thousand_parts_parse_in_bounded_time_with_a_defect() -> None:
    parts = "".join(f"--m\nContent-Type: text/plain; name=f{i}.txt\n\n{i}\n" for i in range(10000))
    raw = _mail(parts + "--m--\n", content_type='multipart/mixed; boundary="m"')
    started = time.perf_counter()
    message = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert len(message.attachments) < 1000
    assert "more than 1000 MIME parts; the rest were ignored" in message.defects


def test_huge_headers_parse_in_bounded_time() -> None:
    addresses = ", ".join(f"user{i}@example.com" for i in range(200000))
    raw = _mail("x\n", headers=f"Cc: {addresses}\n" + "Received: by x\n" * 5000)
    started = time.perf_counter()
    message = parse_message(raw)
    assert time.perf_counter() - started < 2
    assert message.cc[0] == Address("", "user0@example.com")
    assert any("headers; the rest were ignored" in defect for defect in message.defects)


def test_unreadable_message_still_returns_a_message_with_defects() -> None:
    message = parse_message(b"\x00\x01\x02 not a mail")
    assert message.from_ is None and message.subject == "" and message.date is None
    assert "removed 1 NUL bytes" in message.defects
    assert "no From header" in message.defects


def test_as_json_has_exactly_the_documented_keys() -> None:
    data = parse_message(_with_attachment('attachment; filename="a.bin"')).as_json(file="f.eml")
    assert list(data) == [
        *("file", "message_id", "from", "to", "cc", "reply_to", "subject", "date"),
        *("in_reply_to", "references", "text", "html", "attachments", "priority"),
        *("auto_submitted", "delivery_report", "defects"),
    ]
    assert data["from"] == {"name": "Alice", "address": "alice@example.com"}
    assert data["date"] == "2024-03-05T09:15:00+01:00"
    assert data["attachments"] == [
        {
            "filename": "a.bin",
            "content_type": "application/octet-stream",
            "size": 5,
            "inline": False,
            "content_id": "",
            "sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        }
    ]


def test_base64_encoded_forwarded_message_is_decoded_into_the_eml() -> None:
    inner = b"From: c@example.net\nSubject: Encoded inner\n\nhello inner\n"
    message = parse_message(
        _mail(
            "--b\nContent-Type: text/plain\n\nouter\n--b\nContent-Type: message/rfc822\n"
            f"Content-Transfer-Encoding: base64\n\n{base64.b64encode(inner).decode()}\n--b--\n",
            content_type='multipart/mixed; boundary="b"',
        )
    )
    assert [(a.filename, a.payload) for a in message.attachments] == [("Encoded inner.eml", inner)]
