"""Outgoing mail is well-formed: text and HTML alternatives saying the same, attachments,
any language's characters encoded for plain 7-bit transport, no header injection."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import pytest

from conduit.compose import Draft, DraftAttachment, HeaderInjection, compose
from conduit.compose_html import text_to_html


def draft(**overrides: object) -> Draft:
    fields: dict[str, object] = {
        "from_name": "Support",
        "from_address": "help@desk.example",
        "to": [("Carla Customer", "carla@example.net")],
        "subject": "Re: Order 1234 [#TB-1000]",
        "text": "Hello Carla,\n\nYour parcel left today.\n\n-- \nAnn",
        "message_id": "<mf.1000.abc@desk.example>",
        "in_reply_to": "<order1234@example.net>",
        "references": ["<first@example.net>", "<order1234@example.net>"],
    }
    fields.update(overrides)
    return Draft(**fields)  # type: ignore[arg-type]


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_text_and_html_alternatives_say_the_same() -> None:
    mail = parsed(compose(draft()))
    assert mail.get_content_type() == "multipart/alternative"
    text, html = (part.get_content_type() for part in mail.iter_parts())
    assert (text, html) == ("text/plain", "text/html")
    assert "Your parcel left today." in mail.get_body(("plain",)).get_content()
    body = mail.get_body(("html",)).get_content()
    assert "Your parcel left today." in body and "<br>" in body


def test_threading_headers_and_ids_are_ours() -> None:
    mail = parsed(compose(draft()))
    assert mail["Message-ID"] == "<mf.1000.abc@desk.example>"
    assert mail["In-Reply-To"] == "<order1234@example.net>"
    assert mail["References"].split() == ["<first@example.net>", "<order1234@example.net>"]
    assert mail["Subject"] == "Re: Order 1234 [#TB-1000]"
    assert mail["Date"] and mail["X-Mailflow-Loop"]
    assert "Auto-Submitted" not in mail


def test_attachments_make_it_mixed_with_the_alternatives_first() -> None:
    files = [
        DraftAttachment("Rechnung März.pdf", "application/pdf", b"%PDF-1.4 data"),
        DraftAttachment("说明.txt", "text/plain", "内容".encode()),
    ]
    mail = parsed(compose(draft(attachments=files)))
    assert mail.get_content_type() == "multipart/mixed"
    first, *attached = list(mail.iter_parts())
    assert first.get_content_type() == "multipart/alternative"
    assert [a.get_filename() for a in attached] == ["Rechnung März.pdf", "说明.txt"]
    assert attached[0].get_content() == b"%PDF-1.4 data"


@pytest.mark.parametrize(
    ("name", "subject", "text"),
    [
        ("Zoë Ørsted", "Ihre Bestellung: Größe & Farbe", "Grüße aus Köln — schön!"),
        ("王小明", "订单已发货 [#TB-1000]", "您好，您的包裹已经发出。"),
        ("محمد", "تم شحن طلبك", "مرحبا، تم شحن طلبك اليوم."),
        ("Алёна", "Ваш заказ отправлен", "Здравствуйте! Посылка в пути."),
        ("😀 Emoji Fan", "Done ✅ 🎉", "Thanks! 👍🏽 Family: 👨‍👩‍👧"),
        ("Ελένη", "Η παραγγελία σας " + "πολύ " * 40, "Γεια σας\n" + "μακρύ " * 400),
    ],
)
def test_any_language_survives_a_round_trip_in_7bit(name: str, subject: str, text: str) -> None:
    raw = compose(draft(to=[(name, "x@example.net")], from_name=name, subject=subject, text=text))
    assert raw.isascii()  # encoded words and transfer encodings: no SMTPUTF8 needed
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    mail = parsed(raw)
    assert mail["Subject"] == subject
    assert mail["To"].addresses[0].display_name == name
    assert mail["From"].addresses[0].display_name == name
    plain = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.rstrip("\n") == text.rstrip("\n")
    assert text.split()[0] in mail.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hi\r\nBcc: victim@example.org"},
        {"subject": "Hi\nBcc: victim@example.org"},
        {"from_name": "Support\rBcc: x@example.org"},
        {"to": [("Carla\nBcc: x@example.org", "carla@example.net")]},
        {"to": [("Carla", "carla@example.net\r\nBcc: x@example.org")]},
        {"cc": [("", "cc@example.net\nX-Evil: 1")]},
        {"in_reply_to": "<a@b>\r\nBcc: x@example.org"},
        {"references": ["<a@b>", "<c@d>\nBcc: x@example.org"]},
        {"message_id": "<a@b>\nBcc: x@example.org"},
        {"reply_to": "r@example.net\r\nBcc: x@example.org"},
        {"extra_headers": {"X-Note": "one\r\nBcc: x@example.org"}},
        {"attachments": [DraftAttachment("a\r\nBcc: x.txt", "text/plain", b"x")]},
    ],
)
def test_line_breaks_in_any_header_value_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(HeaderInjection, match="line break"):
        compose(draft(**overrides))


def test_html_part_escapes_everything_typed_and_quotes_as_blockquotes() -> None:
    text = (
        "See <script>alert(1)</script> & https://example.com/track?a=1&b=2.\n"
        "> You wrote: <b>help</b>\n> > older quote\n"
        "Bye"
    )
    html = text_to_html(text)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html and "&lt;b&gt;help&lt;/b&gt;" in html
    assert '<a href="https://example.com/track?a=1&amp;b=2">' in html  # the dot stays outside
    assert html.count("<blockquote") == 2  # the nested quote nests
    assert html.index("You wrote") < html.index("older quote") < html.index("Bye")


def test_tracking_rewrites_links_and_adds_a_pixel_only_in_the_html_part() -> None:
    raw = compose(
        draft(
            text="Track it at https://carrier.example/p/1 please",
            track_link=lambda url: "https://desk.example/c/TOKEN?u=" + url,
            tracking_pixel="https://desk.example/o/TOKEN.gif",
        )
    )
    mail = parsed(raw)
    html = mail.get_body(("html",)).get_content()
    plain = mail.get_body(("plain",)).get_content()
    assert 'href="https://desk.example/c/TOKEN?u=https://carrier.example/p/1"' in html
    assert '<img src="https://desk.example/o/TOKEN.gif"' in html
    assert "desk.example" not in plain and "https://carrier.example/p/1" in plain
