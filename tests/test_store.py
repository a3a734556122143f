"""The raw store: byte-exact, deduplicated across mailboxes and within a batch."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction

from conduit.models import InboundMessage
from conduit.store import dedupe_key, message_id_of, read_raw, store_many, store_raw

pytestmark = pytest.mark.django_db

MAIL = (
    b"From: a@example.net\r\nTo: support@example.com\r\nSubject: Hi\r\n"
    b"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMessage-ID: <same@example.net>\r\n\r\nBody\r\n"
)


def test_raw_bytes_are_kept_exactly_on_disk(_media_root: Path) -> None:
    with transaction.atomic():
        stored = store_raw(MAIL, origin="test")
    assert stored.created
    assert read_raw(stored.inbound) == MAIL
    assert (_media_root / stored.inbound.raw.name).read_bytes() == MAIL
    assert stored.inbound.message_id == "<same@example.net>"
    assert not list(_media_root.rglob(".incoming-*"))


def test_trace_headers_and_line_endings_do_not_make_a_second_copy() -> None:
    other_box = b"Received: from mx2\r\nDelivered-To: sales@example.com\r\n" + MAIL
    unix_lines = MAIL.replace(b"\r\n", b"\n")
    assert dedupe_key(MAIL) == dedupe_key(other_box) == dedupe_key(unix_lines)
    with transaction.atomic():
        results = store_many([MAIL, other_box, unix_lines], origin="test")
    assert [r.created for r in results] == [True, False, False]
    assert {r.inbound.pk for r in results} == {results[0].inbound.pk}
    assert InboundMessage.objects.count() == 1


def test_same_message_id_with_other_content_is_another_mail() -> None:
    changed = MAIL.replace(b"Body", b"A different body")
    assert dedupe_key(MAIL) != dedupe_key(changed)
    with transaction.atomic():
        store_many([MAIL, changed], origin="test")
    assert InboundMessage.objects.count() == 2


def test_mail_without_message_id_is_identified_by_its_bytes() -> None:
    bare = b"From: a@example.net\r\nSubject: no id\r\n\r\nhello\r\n"
    assert message_id_of(bare) == ""
    with transaction.atomic():
        first = store_raw(bare, origin="test")
        again = store_raw(bare, origin="test")
        other = store_raw(bare + b"!", origin="test")
    assert first.created and not again.created and other.created


def test_folded_message_id_header_is_read_whole() -> None:
    folded = b"Message-ID:\r\n <folded@example.net>\r\nSubject: x\r\n\r\nb\r\n"
    assert message_id_of(folded) == "<folded@example.net>"
