"""The durable store: raw bytes on disk and an InboundMessage row, committed, deduplicated.

Nothing is deleted on a mail server until ``store_raw`` has returned inside a committed
transaction. The same mail reaching us twice (two of our addresses, a re-import, a fetch
repeated after a crash) is stored once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from conduit.models import InboundMessage, MailSource, raw_mail_path

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
# Headers that are the same in every copy of one mail; trace headers (Received,
# Delivered-To, Return-Path) differ between the mailboxes a mail reached and are left out.
_IDENTITY_HEADERS = (b"message-id", b"from", b"date", b"subject", b"to", b"cc")


@dataclass(frozen=True)
class Stored:
    inbound: InboundMessage
    created: bool


def message_id_of(raw: bytes) -> str:
    """The Message-ID header value, unfolded, or '' when the mail has none."""
    head = _HEADER_END.split(raw, 1)[0]
    match = _MESSAGE_ID.search(head)
    if not match:
        return ""
    value = re.sub(rb"\r?\n[ \t]+", b" ", match.group(1)).strip()
    return value.decode("ascii", "replace")[:998]


def dedupe_key(raw: bytes) -> str:
    """Identity of a mail across mailboxes: its Message-ID plus a hash of its content.

    A mail without a Message-ID is identified by its exact bytes.
    """
    parts = _HEADER_END.split(raw, 1)
    head, body = parts[0], parts[1] if len(parts) > 1 else b""
    if not message_id_of(raw):
        return hashlib.sha256(b"raw\0" + raw).hexdigest()
    digest = hashlib.sha256(b"mid\0")
    unfolded = re.sub(rb"\r?\n[ \t]+", b" ", head)
    for line in unfolded.splitlines():
        name, _, value = line.partition(b":")
        if name.strip().lower() in _IDENTITY_HEADERS:
            digest.update(name.strip().lower() + b":" + value.strip() + b"\n")
    digest.update(b"\0" + body.replace(b"\r\n", b"\n").rstrip())
    return digest.hexdigest()


def write_media_file(relative: str, data: bytes, *, durable: bool = True) -> None:
    """Write a file under MEDIA_ROOT atomically (temp file, rename) and, unless the caller
    syncs a whole batch itself with os.sync(), durably (fsync).

    Paths are content-addressed, so an existing file of the right size is already this one.
    """
    path = Path(settings.MEDIA_ROOT) / relative
    if path.exists() and path.stat().st_size == len(data):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_many(
    raws: list[bytes],
    *,
    origin: str,
    source: MailSource | None = None,
    received_at: datetime | None = None,
) -> list[Stored]:
    """Store mails as they arrived, one result per mail, in order; duplicates (of stored
    mail or within the list) come back as the existing InboundMessage.

    The raw files are on disk (synced) before the rows are inserted. Call it inside the
    transaction that also records where the mail came from.
    """
    keys = [dedupe_key(raw) for raw in raws]
    known = {m.dedupe_key: m for m in InboundMessage.objects.filter(dedupe_key__in=set(keys))}
    results: list[Stored] = []
    new: list[InboundMessage] = []
    for raw, key in zip(raws, keys, strict=True):
        if key in known:
            results.append(Stored(known[key], created=False))
            continue
        inbound = InboundMessage(
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            dedupe_key=key,
            message_id=message_id_of(raw),
            received_at=received_at or timezone.now(),
            origin=origin[:300],
            source=source,
        )
        relative = raw_mail_path(inbound, "")
        write_media_file(relative, raw, durable=len(raws) == 1)
        inbound.raw.name = relative
        known[key] = inbound
        new.append(inbound)
        results.append(Stored(inbound, created=True))
    if not new:
        return results
    if len(raws) > 1:
        os.sync()  # one sync for the whole batch instead of an fsync per file
    try:
        with transaction.atomic():
            InboundMessage.objects.bulk_create(new)
    except IntegrityError:
        if len(raws) == 1:
            raise
        # Another worker stored one of these a moment ago: store them one at a time.
        return [
            store_raw(raw, origin=origin, source=source, received_at=received_at) for raw in raws
        ]
    return results


def store_raw(
    raw: bytes,
    *,
    origin: str,
    source: MailSource | None = None,
    received_at: datetime | None = None,
) -> Stored:
    """Store one mail as it arrived; return the existing InboundMessage when it is a duplicate."""
    try:
        return store_many([raw], origin=origin, source=source, received_at=received_at)[0]
    except IntegrityError:
        # Another worker stored the same mail a moment ago.
        return Stored(InboundMessage.objects.get(dedupe_key=dedupe_key(raw)), created=False)


def read_raw(inbound: InboundMessage) -> bytes:
    with inbound.raw.open("rb") as handle:
        return handle.read()
