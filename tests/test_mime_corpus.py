"""Every real-world-shaped message in tests/data/mail parses to what a person reading it sees.

One expectation per file: the sender, the subject, a distinctive phrase of the body text and
the attachments (name, type, size and, where the content is known exactly, its SHA-256),
plus the flags and defects that file is about.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from conduit.mime import ParsedMessage, parse_message

MAIL_DIR = Path(__file__).parent / "data" / "mail"


@dataclass(frozen=True)
class Att:
    filename: str
    content_type: str
    size: int | None  # None: the size is not the point of this file
    sha256: str | None = None
    inline: bool = False
    content_id: str = ""


@dataclass(frozen=True)
class Expected:
    sender: str | None  # From address, None when the message has no usable sender
    subject: str
    phrase: str | None  # a distinctive piece of the body text, None when there is no text
    attachments: tuple[Att, ...] = ()
    sender_name: str | None = None
    defect: str | None = None  # a substring of some defect; None means no defects at all
    priority: str = "normal"
    auto_submitted: bool = False
    delivery_report: bool = False
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    message_id: str | None = None  # checked when given
    no_date: bool = False
    html_contains: tuple[str, ...] = ()
    html_absent: tuple[str, ...] = ()
    text_contains: tuple[str, ...] = ()
    text_absent: tuple[str, ...] = ()
    min_headers: int = 0


LONG_SUBJECT = (
    "Très long sujet : "
    + "la commande numéro 4711 n'est toujours pas arrivée et personne ne répond, " * 4
).strip()

CORPUS: dict[str, Expected] = {
    "plain_ascii.eml": Expected(
        "alice@example.com", "Printer on floor 3 is jammed", "keeps jamming on page two"
    ),
    "utf8_8bit.eml": Expected(
        "juergen@example.de",
        "Lieferung bestätigt ✓",
        "danke schön. Emoji: 🎉",
        sender_name="Jürgen Müller",
    ),
    "iso8859_1_qp.eml": Expected(
        "alice@example.com", "Rechnung für März", "Rechnung für März. Größe: 42 µm"
    ),
    "iso8859_15_euro.eml": Expected(
        "alice@example.com", "Devis 120 €", "120 € hors taxes. Œuvre complète"
    ),
    "windows1252_smart_quotes.eml": Expected(
        "alice@example.com",
        "Feedback on the new release",
        "We “love” your product – really… it’s great.",
    ),
    "koi8r.eml": Expected(
        "ivan@example.ru",
        "Не работает вход",
        "Не работает вход в личный кабинет",
        sender_name="Иван Петров",
    ),
    "shift_jis.eml": Expected("tanaka@example.jp", "請求書の件", "請求書を添付いたします"),
    "iso2022jp.eml": Expected(
        "sato@example.jp", "打ち合わせ", "来週の打ち合わせの件", sender_name="佐藤"
    ),
    "gb2312.eml": Expected("wang@example.cn", "本月发票", "附件是本月的发票"),
    "gbk.eml": Expected("li@example.cn", "信件已收到", "朱镕基先生的信件已收到"),
    "big5.eml": Expected("chen@example.tw", "訂單查詢", "請問訂單何時出貨"),
    "euc_kr.eml": Expected("kim@example.kr", "비밀번호 재설정", "비밀번호를 재설정할 수 없습니다"),
    "declared_ascii_is_utf8.eml": Expected(
        "alice@example.com",
        "Wrong bill",
        "Déjà vu: the naïve café bill",
        defect="text is not valid us-ascii",
    ),
    "declared_utf8_is_latin1.eml": Expected(
        "alice@example.com",
        "Facture",
        "la facture de décembre est déjà réglée",
        defect="text is not valid utf-8",
    ),
    "unknown_charset.eml": Expected(
        "alice@example.com",
        "Unknown charset",
        "Straße und Grüße",
        defect="unknown charset 'x-klingon-7'",
    ),
    "rfc2047_missing_end.eml": Expected(
        "alice@example.com", "Café order missing", "never closes", defect="closing '?='"
    ),
    "rfc2047_wrong_charset.eml": Expected(
        "rene@example.fr",
        "Café crème",
        "charsets that lie",
        sender_name="René",
        defect="unknown charset 'x-unknown'",
    ),
    "rfc2047_split_multibyte.eml": Expected(
        "alice@example.com", "Preis: 5€ pro Stück", "split across two encoded words"
    ),
    "rfc2047_b_and_q_mixed.eml": Expected(
        "francois@example.fr",
        "Re: Été à Paris and more",
        "Mixed B and Q",
        sender_name="François Dupont",
    ),
    "rfc2231_filename.eml": Expected(
        "alice@example.com",
        "Report with a long international name",
        "quarterly overview attached",
        attachments=(
            Att(
                "Überblick Quartal 3 — Ergebnisse 2024.txt",
                "text/plain",
                720,
                sha256="4ef77010a2baba39a0f71c28564f4809ea0d463854318233d15005ba31d22578",
            ),
        ),
    ),
    "raw_8bit_headers_utf8.eml": Expected(
        "zoe@example.se",
        "Återbetalning för order 1234 – snälla",
        "Jag vill ha en återbetalning",
        sender_name="Zoë Åberg",
        defect="raw 8-bit header",
    ),
    "raw_8bit_headers_latin1.eml": Expected(
        "jose@example.es",
        "Devolución del pedido nº 77",
        "Quiero la devolución, por favor. Año 2024.",
        sender_name="José Núñez",
        defect="raw 8-bit header",
    ),
    "base64_bad_padding.eml": Expected(
        "alice@example.com",
        "Bad padding",
        "lacks its base64 padding",
        attachments=(
            Att(
                "data.bin",
                "application/octet-stream",
                50,
                sha256="a622e13829e488422ee72a5fc92cb11d25c3d0f185a1384b8138df5074c983bf",
            ),
        ),
        defect="malformed base64",
    ),
    "base64_garbage_chars.eml": Expected(
        "alice@example.com",
        "Garbage in base64",
        "junk characters",
        attachments=(
            Att(
                "invoice.pdf",
                "application/pdf",
                125,
                sha256="79370862c6cb54e96ed3125464c11e4ce3e8b08fb5048723695b6b9e9728d701",
            ),
        ),
        defect="outside the base64 alphabet",
    ),
    "base64_truncated.eml": Expected(
        "alice@example.com",
        "Truncated upload",
        "connection dropped",
        attachments=(
            Att(
                "logs.zip",
                "application/zip",
                1500,
                sha256="73ad3a94b762fca17c96d8d69a1080dc8eb422bba43186d8cd6fbfb272b8df4e",
            ),
        ),
        defect="truncated",
    ),
    "qp_malformed.eml": Expected(
        "alice@example.com",
        "Malformed quoted-printable",
        "Price = 10 =ZZ euros, café is fine and raw 8-bit é here.",
        defect="malformed quoted-printable",
    ),
    "missing_from.eml": Expected(
        None, "No sender here", "no From header at all", defect="no From header"
    ),
    "missing_date.eml": Expected(
        "alice@example.com",
        "No date",
        "without a Date header",
        defect="no Date header",
        no_date=True,
    ),
    "missing_message_id.eml": Expected(
        "alice@example.com",
        "No message id",
        "Nobody gave this message an id",
        defect="no Message-ID header",
        message_id="",
    ),
    "missing_content_type.eml": Expected(
        "bob@example.org", "Old school mail", "naïve façade", defect="no Content-Type header"
    ),
    "uuencoded_in_text.eml": Expected(
        "alice@example.com",
        "Log file (uuencoded)",
        "Regards, the old mail client",
        attachments=(
            Att(
                "server.log",
                "text/plain",
                1091,
                sha256="84a1d3580cc5351ac30062f8426db5ce28d9159c8edf96d3c61ef927163297fc",
            ),
        ),
        text_absent=("begin 644",),
    ),
    "binhex_part.eml": Expected(
        "alice@example.com",
        "BinHex attachment",
        "from my old Mac",
        attachments=(
            Att(
                "Budget Plan",
                "application/octet-stream",
                280,
                sha256="e121895f570e667eb545b1a45c77fbcd97efa0a4b8ad079d5905beb402a67533",
            ),
        ),
    ),
    "binhex_in_text.eml": Expected(
        "alice@example.com",
        "CV in BinHex",
        "Best wishes, Carla",
        attachments=(
            Att(
                "CV.txt",
                "text/plain",
                105,
                sha256="7eb69bbd72348a0f9e0bb82c48b2be6ebf08757dee9cea3d9ff429f6a008f1df",
            ),
        ),
        text_absent=("converted with BinHex",),
    ),
    "outlook_winmail_dat.eml": Expected(
        "sam.miller@corp.example",
        "Quarterly figures",
        "quarterly figures are attached as discussed",
        attachments=(
            Att(
                "Quarterly figures.pdf",
                "application/pdf",
                125,
                sha256="79370862c6cb54e96ed3125464c11e4ce3e8b08fb5048723695b6b9e9728d701",
            ),
            Att(
                "notes.txt",
                "text/plain",
                31,
                sha256="9c8e279eca4f4d3986bd56b85b4f0183c3188a8a1890af3a6650bda7f1bfacf8",
            ),
        ),
        sender_name="Miller, Sam",
    ),
    "tnef_broken.eml": Expected(
        "alice@example.com",
        "Broken winmail.dat",
        "winmail.dat attached to this mail is damaged",
        attachments=(
            Att(
                "winmail.dat",
                "application/ms-tnef",
                70,
                sha256="b8682e6c88d1c662fe5f8a4d0bf97db57cfbcd96a5382f9398bd1c9b3bc7980e",
            ),
        ),
        defect="TNEF",
    ),
    "nested_mixed_alternative_related.eml": Expected(
        "alice@example.com",
        "Nested structure",
        "Plain version of the nested message.",
        attachments=(
            Att(
                "attachment.png",
                "image/png",
                70,
                sha256="6b7fa434f92a8b80aab02d9bf1a12e49ffcae424e4013a1c4f68b67e3d2bbcd0",
                inline=True,
                content_id="logo@nested",
            ),
            Att(
                "terms.pdf",
                "application/pdf",
                125,
                sha256="79370862c6cb54e96ed3125464c11e4ce3e8b08fb5048723695b6b9e9728d701",
            ),
        ),
        html_contains=(
            'src="cid:logo@nested"',
            "<b>nested</b>",
        ),
    ),
    "html_only.eml": Expected(
        "alice@example.com",
        "HTML only",
        "my order #5512 never arrived & I'm waiting.\nTracking: track it (https://track.example.com/5512)",
        text_contains=("- Blue mug\n- Red plate",),
        text_absent=("color: red",),
    ),
    "html_malicious.eml": Expected(
        "security@phish.example",
        "Verify your account",
        "Please verify your account.",
        html_contains=(
            'data-remote-src="https://tracker.example.com/pixel.gif?id=42"',
            "Help centre",
            'style="color:green"',
        ),
        html_absent=(
            "<script",
            "document.cookie",
            "onerror",
            "onload",
            "onclick",
            "javascript:",
            "vbscript:",
            "<iframe",
            "iframe fallback",
            "<form",
            "<input",
            "<style",
            "<meta",
            "<base",
            "<object",
            "<embed",
            "data:text",
            "position",
            "url(",
            "background: url",
            "alert(",
        ),
    ),
    "inline_images_cid.eml": Expected(
        "alice@example.com",
        "Screenshots inline",
        "First screenshot:",
        attachments=(
            Att(
                "shot1.png",
                "image/png",
                70,
                sha256="6b7fa434f92a8b80aab02d9bf1a12e49ffcae424e4013a1c4f68b67e3d2bbcd0",
                inline=True,
                content_id="shot1@example.com",
            ),
            Att(
                "attachment.png",
                "image/png",
                76,
                sha256="4db0e000bea097b6a3ca366d1bf262153d101b83f4e91132694b9aa4cf94b4b8",
                inline=True,
                content_id="shot2@example.com",
            ),
        ),
        html_contains=(
            'src="cid:shot1@example.com"',
            'src="cid:shot2@example.com"',
        ),
    ),
    "calendar_invite.eml": Expected(
        "alice@example.com",
        "Invitation: Onboarding call @ Sun Mar 10, 2024 3pm",
        "invited to the onboarding call",
        attachments=(
            Att(
                "attachment.ics",
                "text/calendar",
                315,
                sha256="c5eb863c642bfce59d4ee85dbbec78b45b0d202ba4afc84628ee607360a10aea",
            ),
            Att(
                "invite.ics",
                "application/ics",
                316,
                sha256="d2cac06fbbdeec4da2f5922218579961a8c4725e60a664d7624bc094f797ceca",
            ),
        ),
        text_absent=("BEGIN:VCALENDAR",),
    ),
    "forwarded_rfc822.eml": Expected(
        "alice@example.com",
        "Fwd: Forwarded message",
        "Forwarding the customer mail",
        attachments=(
            Att(
                "Forwarded message.eml",
                "message/rfc822",
                274,
                sha256="accafb288f5a49d5e28f74e3354158b68ba499e99d8c1f38cdbb02105bd04b3d",
            ),
        ),
        text_absent=("INNER BODY",),
    ),
    "inline_forward.eml": Expected(
        "alice@example.com",
        "Fwd: Broken zipper",
        "---------- Forwarded message ---------\nFrom: Dan Buyer <dan@example.net>",
    ),
    "reply_threading.eml": Expected(
        "alice@example.com",
        "Re: [#1042] Password reset",
        "the reset link worked",
        in_reply_to="<ticket-1042-3@helpdesk.example>",
        references=(
            "<ticket-1042-1@helpdesk.example>",
            "<ticket-1042-2@helpdesk.example>",
            "<ticket-1042-3@helpdesk.example>",
        ),
    ),
    "huge_received_headers.eml": Expected(
        "alice@example.com", "Looped through 300 relays", "went through 300 relays", min_headers=300
    ),
    "long_subject_folded.eml": Expected(
        "alice@example.com",
        LONG_SUBJECT,
        "See the subject.",
    ),
    "outlook_html.eml": Expected(
        "sam.miller@corp.example",
        "VPN not connecting",
        "Our VPN client stopped connecting this morning.",
        html_contains=(
            'class="MsoNormal"',
            "VPN client stopped",
        ),
        html_absent=(
            'font-family:"Calibri"',
            "mso 9",
            "<o:p>",
            "<style",
        ),
    ),
    "gmail_alternative.eml": Expected(
        "greta.gmail@gmail.com",
        "Question about my subscription",
        "Can I switch my subscription to yearly billing?",
        html_contains=('<div dir="ltr">',),
    ),
    "apple_mail.eml": Expected(
        "andy@icloud.example",
        "Photo of the damage",
        "the parcel arrived damaged — see the photo.",
        attachments=(
            Att(
                "IMG_0042.png",
                "image/png",
                75,
                sha256="5de92f660ca2243cb2730afad28f81d7efdb9f693d18e5c461c940e2d26f4763",
                inline=True,
                content_id="E1A2B3C4-D5E6-4F70-8192-A3B4C5D6E7F8",
            ),
        ),
        html_contains=('src="cid:E1A2B3C4-D5E6-4F70-8192-A3B4C5D6E7F8"',),
    ),
    "thunderbird_flowed.eml": Expected(
        "theo@example.org",
        "Long paragraph with format=flowed",
        "wrapped at seventy-two characters, and format=flowed lets us join the lines again"
        " so the agent sees one paragraph.",
        text_contains=("> A quoted line that was also wrapped.",),
    ),
    "auto_reply.eml": Expected(
        "noreply@vendor.example",
        "Re: Your request",
        "will answer within 2 days",
        auto_submitted=True,
        delivery_report=False,
    ),
    "out_of_office_subject_only.eml": Expected(
        "bea@example.com",
        "Automatic reply: Printer on floor 3 is jammed",
        "out of the office until Monday",
        auto_submitted=True,
    ),
    "out_of_office_german.eml": Expected(
        "klaus@example.de", "Abwesenheitsnotiz: Ihre Anfrage", "nicht im Büro", auto_submitted=True
    ),
    "newsletter_bulk.eml": Expected(
        "news@shop.example",
        "Spring sale: 20% off everything",
        "20% off everything until Sunday",
        auto_submitted=True,
        html_contains=('data-remote-src="https://cdn.shop.example/banner.jpg"',),
    ),
    "dsn_rfc3464.eml": Expected(
        "MAILER-DAEMON@mx.helpdesk.example",
        "Undelivered Mail Returned to Sender",
        "550 5.1.1 User unknown",
        attachments=(
            Att("attachment.txt", "message/delivery-status", None),
            Att(
                "[#1042] Your ticket.eml",
                "message/rfc822",
                204,
                sha256="2d4106e8b3015cf65d8c1e6ce151e4c5ce7a030801ff1af04719a06dc015e06d",
            ),
        ),
        auto_submitted=True,
        delivery_report=True,
    ),
    "bounce_qmail.eml": Expected(
        "MAILER-DAEMON@mail.qmail.example",
        "failure notice",
        "no mailbox here by that name",
        defect="no Message-ID header",
        auto_submitted=True,
        delivery_report=True,
    ),
    "bounce_exchange.eml": Expected(
        "postmaster@corp.example",
        "Undeliverable: [#1044] Your invoice",
        "Delivery has failed to these recipients or groups",
        auto_submitted=True,
        delivery_report=True,
    ),
    "priority_urgent.eml": Expected(
        "alice@example.com", "Production is down!", "production line is down", priority="urgent"
    ),
    "importance_low.eml": Expected(
        "alice@example.com", "FYI: new coffee machine", "new coffee machine", priority="low"
    ),
    "priority_high_x2.eml": Expected(
        "alice@example.com", "Soon please", "handle this soon", priority="high"
    ),
    "filename_path_traversal.eml": Expected(
        "alice@example.com",
        "Files with paths",
        "dangerous names",
        attachments=(
            Att(
                "evil.exe",
                "application/octet-stream",
                18,
                sha256="8ac8dd84944893b41c64fdc5d72f6d75d286e5b72a8f30f567769bcc2db2786a",
            ),
            Att(
                "passwd",
                "text/plain",
                32,
                sha256="e787b373a74594b33b77892a903647d7a6cf519d427a0b0790e11be4482696e0",
            ),
        ),
    ),
    "zero_byte_attachment.eml": Expected(
        "alice@example.com",
        "Empty file",
        "attached file is empty",
        attachments=(
            Att(
                "empty.txt",
                "text/plain",
                0,
                sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        ),
    ),
    "attachment_no_filename.eml": Expected(
        "alice@example.com",
        "Nameless attachment",
        "has no name",
        attachments=(
            Att(
                "attachment.pdf",
                "application/pdf",
                125,
                sha256="79370862c6cb54e96ed3125464c11e4ce3e8b08fb5048723695b6b9e9728d701",
            ),
        ),
    ),
    "filename_rfc2047_outlook.eml": Expected(
        "alice@example.com",
        "CV attached",
        "My résumé is attached.",
        attachments=(
            Att(
                "Résumé 2024.pdf",
                "application/pdf",
                125,
                sha256="79370862c6cb54e96ed3125464c11e4ce3e8b08fb5048723695b6b9e9728d701",
            ),
        ),
    ),
    "docx_and_pdf.eml": Expected(
        "alice@example.com",
        "Contract documents",
        "Contract and annex attached.",
        attachments=(
            Att(
                "Contract.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                772,
                sha256="394e862c7147efaa1c6e1d04f3ddb133bbcb12632b3c5ed1070b54393348adf8",
            ),
            Att(
                "Annex A.pdf",
                "application/pdf",
                125,
                sha256="79370862c6cb54e96ed3125464c11e4ce3e8b08fb5048723695b6b9e9728d701",
            ),
        ),
    ),
    "pgp_signed.eml": Expected(
        "alice@example.com",
        "Signed message",
        "signed with PGP",
        attachments=(
            Att(
                "signature.asc",
                "application/pgp-signature",
                94,
                sha256="503039258128a9dc20c89549d28cc3c8c40da12da753f7411f0c7ceb2bf817c0",
            ),
        ),
    ),
    "garbage_bytes.eml": Expected(None, "", None, defect="no From header"),
    "empty.eml": Expected(None, "", None, defect="empty message"),
    "crlf_line_endings.eml": Expected(
        "alice@example.com", "Windows line endings", "Line one.\nLine two with CRLF."
    ),
    "bare_cr_line_endings.eml": Expected(
        "alice@example.com",
        "Classic Mac line endings",
        "Line one.\nLine two with bare CR.",
        defect="bare CR",
    ),
    "nul_bytes.eml": Expected(
        "alice@example.com", "Has NUL bytes", "Text with NUL bytes inside.", defect="NUL bytes"
    ),
    "ten_thousand_parts.eml": Expected(
        "alice@example.com",
        "Ten thousand parts",
        "part 0\n\npart 1\n",
        defect="more than 1000 MIME parts",
    ),
    "deeply_nested.eml": Expected(
        "alice@example.com", "Deeply nested", None, defect="nested deeper than"
    ),
    "multipart_without_boundary.eml": Expected(
        "alice@example.com",
        "Multipart without boundary",
        "no boundary parameter at all",
        defect="boundary",
    ),
    "unparseable_date_and_bare_ids.eml": Expected(
        "alice@example.com",
        "Odd headers",
        "unparseable date",
        defect="unparseable Date header",
        in_reply_to="<bare-parent@example.com>",
        no_date=True,
    ),
}


@functools.cache
def _parse(name: str) -> ParsedMessage:
    return parse_message((MAIL_DIR / name).read_bytes())


def test_corpus_has_at_least_sixty_messages_and_each_has_an_expectation() -> None:
    files = sorted(path.name for path in MAIL_DIR.glob("*.eml"))
    assert len(files) >= 60
    assert set(files) == set(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_message_has_expected_sender_subject_and_text(name: str) -> None:
    expected = CORPUS[name]
    message = _parse(name)
    assert (message.from_.address if message.from_ else None) == expected.sender
    if expected.sender_name is not None:
        assert message.from_ is not None and message.from_.name == expected.sender_name
    assert message.subject == expected.subject
    if expected.phrase is not None:
        assert expected.phrase in message.text
    for piece in expected.text_contains:
        assert piece in message.text
    for piece in expected.text_absent:
        assert piece not in message.text


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_message_has_expected_attachments(name: str) -> None:
    expected = CORPUS[name]
    attachments = _parse(name).attachments
    assert [(item.filename, item.content_type) for item in attachments] == [
        (item.filename, item.content_type) for item in expected.attachments
    ]
    for got, want in zip(attachments, expected.attachments, strict=True):
        if want.size is not None:
            assert got.size == want.size
        if want.sha256 is not None:
            assert got.sha256 == want.sha256
        assert got.inline == want.inline
        assert got.content_id == want.content_id


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_message_has_expected_flags_threading_and_defects(name: str) -> None:
    expected = CORPUS[name]
    message = _parse(name)
    assert message.priority == expected.priority
    assert message.auto_submitted == expected.auto_submitted
    assert message.delivery_report == expected.delivery_report
    assert message.in_reply_to == expected.in_reply_to
    assert tuple(message.references) == expected.references
    if expected.message_id is not None:
        assert message.message_id == expected.message_id
    if expected.sender is not None and not expected.no_date:
        assert message.date is not None and message.date.tzinfo is not None
    if expected.no_date:
        assert message.date is None
    if expected.defect is None:
        assert message.defects == []
    else:
        assert any(expected.defect in defect for defect in message.defects), message.defects
    assert len(message.headers) >= expected.min_headers


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_message_html_is_sanitized_as_expected(name: str) -> None:
    expected = CORPUS[name]
    html = _parse(name).html or ""
    for piece in expected.html_contains:
        assert piece in html
    for piece in expected.html_absent:
        assert piece not in html
