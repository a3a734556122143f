"""Bounce classification: real-world-shaped delivery reports from many mail servers, and
the edges (malformed reports, missing parts, odd charsets, huge mail, forged return paths)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from conduit.bounces import MAX_PARSE_BYTES, classify
from conduit.outbound import BounceCategory
from conduit.verp import outbound_id_from, return_path_for

DATA = Path(__file__).parent / "data" / "bounces"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
MTAS = ("postfix", "exim", "sendmail", "qmail", "o365", "exchange", "gmail", "yahoo", "ses")


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_the_corpus_covers_every_mail_server_and_category() -> None:
    files = sorted(p.name for p in DATA.glob("*.eml"))
    assert files == sorted(EXPECTED)
    reports = [name for name, e in EXPECTED.items() if e["category"] is not None]
    assert len(reports) >= 60
    for mta in MTAS:
        assert any(name.startswith(f"{mta}-") for name in files), mta
    categories = {e["category"] for e in EXPECTED.values()} - {None}
    wanted = set(BounceCategory.values) - {BounceCategory.USER_REPLY, BounceCategory.UNKNOWN}
    assert wanted <= categories


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_report_is_classified_as_expected(name: str) -> None:
    expected = EXPECTED[name]
    report = classify(read(name))
    if expected["category"] is None:
        assert report is None
        return
    assert report is not None
    assert report.category == expected["category"]
    assert report.recipient == expected["recipient"]
    assert report.status == expected["status"]
    assert report.hard is expected["hard"]
    assert report.original_message_id == expected["original_message_id"]
    assert report.diagnostic  # always something an agent can read


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("delayed-")))
def test_delay_warnings_are_soft_and_not_final(name: str) -> None:
    report = classify(read(name))
    assert report is not None
    assert report.category == BounceCategory.TRANSIENT
    assert not report.hard and not report.failed


def test_multi_line_smtp_reply_is_one_readable_line() -> None:
    report = classify(read("gmail-no-such-user.eml"))
    assert report is not None
    assert report.diagnostic.startswith("550-5.1.1 The email account that you tried to reach")
    assert "550-5.1.1 double-checking" not in report.diagnostic
    assert "\n" not in report.diagnostic


def test_human_reply_to_our_return_path_is_user_reply() -> None:
    raw = (
        "From: Carla <carla@example.net>\r\n"
        f"To: {return_path_for(42, 'support@desk.example.com')}\r\n"
        "Subject: Re: Your order\r\nIn-Reply-To: <mf.1.a@desk.example.com>\r\n"
        "Message-ID: <c1@example.net>\r\n\r\nThanks, that helped!\r\n"
    ).encode()
    report = classify(raw)
    assert report is not None
    assert report.category == BounceCategory.USER_REPLY
    assert report.return_path_id == 42
    assert report.recipient == "carla@example.net"
    assert report.original_message_id == "<mf.1.a@desk.example.com>"
    assert not report.hard and not report.failed


def test_bounce_to_our_return_path_names_the_outbound_message() -> None:
    verp = return_path_for(7, "support@desk.example.com")
    raw = read("qmail-no-mailbox-here.eml").replace(
        b"bounces+41.5f1c0a9e3b7d@desk.example.com", verp.upper().encode()
    )
    report = classify(raw)
    assert report is not None and report.category == BounceCategory.USER_UNKNOWN
    assert report.return_path_id == 7  # mail servers may upper-case the local part


def test_verp_address_round_trip_and_forgery(settings: Any) -> None:
    settings.MAILFLOW = {**settings.MAILFLOW, "BOUNCE_DOMAIN": "bounces.example.com"}
    address = return_path_for(1234, "support@desk.example.com")
    assert address.startswith("bounces+1234.") and address.endswith("@bounces.example.com")
    assert outbound_id_from(address) == 1234
    assert outbound_id_from(f"<{address}>") == 1234
    forged = address.replace("bounces+1234.", "bounces+1235.")
    assert outbound_id_from(forged) is None
    assert outbound_id_from("support@desk.example.com") is None
    settings.MAILFLOW = {**settings.MAILFLOW, "BOUNCE_DOMAIN": ""}
    assert return_path_for(5, "help@shop.example").endswith("@shop.example")


def test_ordinary_mail_is_not_a_report() -> None:
    raw = b"From: a@example.net\r\nTo: b@example.com\r\nSubject: Hello\r\n\r\nHi there\r\n"
    assert classify(raw) is None


def test_malformed_status_part_still_yields_a_report() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nTo: support@desk.example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"this is not a header block\r\n\r\nFinal-Recipient rfc822 nobody\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n"  # no closing boundary either
    )
    report = classify(raw)
    assert report is not None
    assert report.category == BounceCategory.USER_UNKNOWN and report.status == "5.1.1"
    assert report.recipient is None and report.original_message_id is None


def test_report_without_status_part_or_original_falls_back_to_the_text() -> None:
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        b"To: support@desk.example.com\r\nSubject: Mail delivery failed\r\n\r\n"
        b"This message was created automatically by mail delivery software.\r\n\r\n"
        b"A message that you sent could not be delivered to one or more of its\r\n"
        b"recipients. The following address(es) failed:\r\n\r\n  gone@example.org\r\n"
        b"    mailbox is full: retry timeout exceeded\r\n"
    )
    report = classify(raw)
    assert report is not None
    assert report.category == BounceCategory.MAILBOX_FULL
    assert report.recipient == "gone@example.org"
    assert report.original_message_id is None


def test_unknown_charset_and_undecodable_bytes_are_tolerated() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nSubject: =?x-unknown?q?Undeliverable?=\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        b"Hi. This is the qmail-send program at mx.example.org.\r\n"
        b"I'm afraid I wasn't able to deliver your message \xff\xfe\x80.\r\n\r\n"
        b"<user@example.org>:\r\n"
        b"Sorry, no mailbox here by that name. (#5.1.1)\r\n"
    )
    report = classify(raw)
    assert report is not None
    assert report.category == BounceCategory.USER_UNKNOWN
    assert report.recipient == "user@example.org"


def test_huge_report_is_classified_quickly() -> None:
    # 30 MB of quoted original after the report: the parse and the scan are capped.
    filler = b"spam blocked policy user unknown 5.7.1 " * (30 * 1024 * 1024 // 39)
    raw = read("qmail-over-quota.eml") + filler
    started = time.perf_counter()
    report = classify(raw)
    elapsed = time.perf_counter() - started
    assert report is not None and report.category == BounceCategory.MAILBOX_FULL
    assert elapsed < 2.0
    assert len(raw) > 20 * MAX_PARSE_BYTES


def test_pathological_text_does_not_backtrack() -> None:
    body = ("<" + "a" * 50_000 + "@" + "b." * 20_000 + "\n") + "5." * 30_000
    raw = (
        "From: MAILER-DAEMON@mx.example.org\r\nSubject: failure notice\r\n\r\n"
        "Hi. This is the qmail-send program at mx.example.org.\r\n" + body
    ).encode()
    started = time.perf_counter()
    classify(raw)
    assert time.perf_counter() - started < 2.0


def test_as_json_has_exactly_the_command_keys() -> None:
    report = classify(read("postfix-user-unknown.eml"))
    assert report is not None
    assert list(report.as_json(file="x.eml")) == [
        "file",
        "category",
        "hard",
        "recipient",
        "status",
        "diagnostic",
        "original_message_id",
    ]


def test_success_notice_is_no_failure() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\r\nSubject: Successful Mail Delivery Report\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; carla@example.net\r\nAction: delivered\r\n"
        b"Status: 2.0.0\r\n\r\n--b--\r\n"
    )
    report = classify(raw)
    assert report is not None
    assert report.category == BounceCategory.UNKNOWN and report.status == "2.0.0"
    assert not report.failed and not report.hard
