"""Fetching a mail source: one at a time per source, store before delete, back off on failure."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conduit.imap import ImapMailbox
from conduit.models import MailSource, SourceMessage
from conduit.pop3 import Pop3Mailbox
from conduit.remote import RemoteMessage, SourceError
from conduit.secretbox import SecretUnreadable
from conduit.store import store_many

logger = logging.getLogger("mailflow.conduit")

MAX_BACKOFF = timedelta(hours=1)
# Lookups of known uids go in chunks to stay under database parameter limits.
UID_CHUNK = 2000
# Downloaded mail is committed, handed on to routing and the lease renewed every this many
# messages: one transaction and one disk sync per batch.
STORE_BATCH = 50
STORE_BYTES = 16 * 1024 * 1024

Progress = Callable[[int, int], None]
AfterStore = Callable[[list[int]], None]


class LeaseLost(SourceError):
    kind = "lease"


@dataclass
class FetchReport:
    source: str
    listed: int = 0
    fetched: int = 0
    duplicates: int = 0
    oversize: int = 0
    deleted: int = 0
    stored_ids: list[int] = field(default_factory=list)
    error: str = ""
    busy: bool = False

    @property
    def ok(self) -> bool:
        return not self.error

    def summary(self) -> str:
        if self.busy:
            return f"{self.source}: skipped, another worker is fetching it"
        text = (
            f"{self.source}: {self.listed} on server, {self.fetched} fetched, "
            f"{self.duplicates} duplicates, {self.oversize} over size, "
            f"{self.deleted} deleted on server"
        )
        return f"{text}; FAILED: {self.error}" if self.error else text


def ssl_context_for(source: MailSource) -> ssl.SSLContext | None:
    if source.security == MailSource.Security.NONE:
        return None
    context = ssl.create_default_context()
    if not source.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def open_mailbox(source: MailSource) -> Pop3Mailbox | ImapMailbox:
    """Connect and log in; raises a SourceError that says what to fix."""
    common: dict[str, Any] = {
        "host": source.host,
        "port": source.effective_port,
        "security": source.security,
        "username": source.username,
        "timeout": float(source.timeout_seconds),
        "ssl_context": ssl_context_for(source),
    }
    try:
        password = source.password
    except SecretUnreadable as exc:
        raise SourceError(str(exc)) from exc
    if source.protocol == MailSource.Protocol.POP3:
        return Pop3Mailbox(**common, password=password, apop=source.auth == MailSource.Auth.APOP)
    return ImapMailbox(
        **common,
        password=password,
        sasl_plain=source.auth == MailSource.Auth.PLAIN,
        folder=source.folder or "INBOX",
    )


# -- the lease: one fetch per source at a time, across all workers ---------------------------


def _lease_ttl(source: MailSource) -> timedelta:
    return timedelta(seconds=max(120, source.timeout_seconds * 4))


def _holder_is_dead(holder: str) -> bool:
    """A lease held by a process of this host that no longer exists can be taken over."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_lease(source: MailSource, *, now: datetime | None = None) -> str | None:
    """Take the source's lease; None when another live worker holds it."""
    now = now or timezone.now()
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    expires = now + _lease_ttl(source)
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_holder="")
    if MailSource.objects.filter(free, pk=source.pk).update(
        lease_holder=holder, lease_expires_at=expires
    ):
        return holder
    current = MailSource.objects.filter(pk=source.pk).values_list("lease_holder", flat=True).first()
    if current and _holder_is_dead(current):
        taken = MailSource.objects.filter(pk=source.pk, lease_holder=current).update(
            lease_holder=holder, lease_expires_at=expires
        )
        if taken:
            logger.warning("Took over the lease of %s from dead fetcher %s", source, current)
            return holder
    return None


def renew_lease(source: MailSource, holder: str) -> None:
    expires = timezone.now() + _lease_ttl(source)
    if not MailSource.objects.filter(pk=source.pk, lease_holder=holder).update(
        lease_expires_at=expires
    ):
        raise LeaseLost(f"{source}: another worker took over this fetch; stopping.")


def release_lease(source: MailSource, holder: str) -> None:
    MailSource.objects.filter(pk=source.pk, lease_holder=holder).update(
        lease_holder="", lease_expires_at=None
    )


# -- fetching ---------------------------------------------------------------------------------


def fetch_source(
    source: MailSource,
    *,
    on_progress: Progress | None = None,
    after_store: AfterStore | None = None,
) -> FetchReport:
    """Fetch every new message of one source into the raw store.

    Each message is committed (raw file and rows) before it is deleted on the server.
    ``after_store`` receives the ids of newly stored InboundMessages once committed
    (the route step). Errors are recorded on the source with back-off, never raised.
    """
    report = FetchReport(source=source.name)
    holder = acquire_lease(source)
    if holder is None:
        report.busy = True
        return report
    started = timezone.now()
    try:
        _fetch(source, holder, report, on_progress, after_store)
    except SourceError as exc:
        report.error = str(exc)
    except Exception as exc:
        logger.exception("Unexpected failure fetching %s", source)
        report.error = f"Unexpected error: {type(exc).__name__}: {exc}"
    finally:
        _record_outcome(source, report, started)
        release_lease(source, holder)
    return report


def _fetch(
    source: MailSource,
    holder: str,
    report: FetchReport,
    on_progress: Progress | None,
    after_store: AfterStore | None,
) -> None:
    mailbox = open_mailbox(source)
    try:
        listed = mailbox.listing()
        report.listed = len(listed)
        known = _known(source, [m.uid for m in listed])
        new = [m for m in listed if m.uid not in known]
        too_big = [m for m in new if m.size > source.max_message_bytes]
        wanted = [m for m in new if m.size <= source.max_message_bytes]
        deletable = _leftovers(source, listed, known)
        for message in too_big:
            if _record_oversize(source, mailbox.headers(message), message, report):
                deletable.append(message)
        pending: list[tuple[RemoteMessage, bytes]] = []
        try:
            for done, (message, raw) in enumerate(mailbox.retrieve_many(wanted), start=1):
                if len(raw) > source.max_message_bytes:
                    if _record_oversize(source, raw, message, report):
                        deletable.append(message)
                    continue
                pending.append((message, raw))
                if not source.leave_copies:
                    deletable.append(message)
                if on_progress:
                    on_progress(done, len(wanted))
                if len(pending) >= STORE_BATCH or sum(len(r) for _, r in pending) > STORE_BYTES:
                    _store_batch(source, pending, report, after_store)
                    renew_lease(source, holder)
        finally:
            # Mail downloaded whole before a failure is stored too (and only then deleted,
            # on a later run, since deletions below happen only when everything succeeded).
            _store_batch(source, pending, report, after_store)
        mailbox.delete(deletable)
        mailbox.close()
    except BaseException:
        mailbox.abort()
        raise
    # Only now, after QUIT/EXPUNGE succeeded, are the deletions real.
    _mark_deleted(source, [m.uid for m in deletable])
    report.deleted = len(deletable)


def _known(source: MailSource, uids: list[str]) -> dict[str, SourceMessage]:
    known: dict[str, SourceMessage] = {}
    for start in range(0, len(uids), UID_CHUNK):
        chunk = uids[start : start + UID_CHUNK]
        for seen in SourceMessage.objects.filter(source=source, uid__in=chunk).only(
            "uid", "state", "seen_at", "deleted_from_server_at"
        ):
            known[seen.uid] = seen
    return known


def _leftovers(
    source: MailSource, listed: Iterable[RemoteMessage], known: dict[str, SourceMessage]
) -> list[RemoteMessage]:
    """Messages already stored that should go: left by a crash, or copies past their days."""
    cutoff = None
    if source.leave_copies and source.delete_copies_after_days is not None:
        cutoff = timezone.now() - timedelta(days=source.delete_copies_after_days)
    leftovers = []
    for message in listed:
        seen = known.get(message.uid)
        if seen is None:
            continue
        if seen.state == SourceMessage.State.OVERSIZE:
            if source.delete_oversize:
                leftovers.append(message)
        elif not source.leave_copies or (cutoff is not None and seen.seen_at <= cutoff):
            leftovers.append(message)
    return leftovers


def _store_batch(
    source: MailSource,
    pending: list[tuple[RemoteMessage, bytes]],
    report: FetchReport,
    after_store: AfterStore | None,
) -> None:
    """Commit a batch of downloaded mails (raw files, rows, what the server calls them)."""
    if not pending:
        return
    now = timezone.now()
    with transaction.atomic():
        results = store_many(
            [raw for _, raw in pending], origin=f"source:{source.name}", source=source
        )
        SourceMessage.objects.bulk_create(
            SourceMessage(
                source=source,
                uid=message.uid,
                state=SourceMessage.State.STORED,
                inbound=result.inbound,
                size=len(raw),
                seen_at=now,
            )
            for (message, raw), result in zip(pending, results, strict=True)
        )
    pending.clear()
    new_ids = [r.inbound.pk for r in results if r.created]
    report.fetched += len(new_ids)
    report.duplicates += len(results) - len(new_ids)
    report.stored_ids.extend(new_ids)
    if new_ids and after_store is not None:
        after_store(new_ids)


def _record_oversize(
    source: MailSource, header_bytes: bytes, message: RemoteMessage, report: FetchReport
) -> bool:
    """Record an over-size message (sender, subject, size) and report it. True: delete it."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(header_bytes)
    sender = str(headers.get("From", ""))[:998]
    subject = str(headers.get("Subject", ""))[:998]
    SourceMessage.objects.create(
        source=source,
        uid=message.uid,
        state=SourceMessage.State.OVERSIZE,
        size=message.size,
        from_header=sender,
        subject=subject,
        seen_at=timezone.now(),
    )
    report.oversize += 1
    logger.warning(
        "%s: message from %s (%r, %d bytes) is over the limit of %d bytes; %s",
        source,
        sender or "unknown sender",
        subject,
        message.size,
        source.max_message_bytes,
        "deleted from the server" if source.delete_oversize else "left on the server",
        extra={"alert": "inbound_oversize", "source_id": source.pk},
    )
    return source.delete_oversize


def _mark_deleted(source: MailSource, uids: list[str]) -> None:
    now = timezone.now()
    for start in range(0, len(uids), UID_CHUNK):
        SourceMessage.objects.filter(source=source, uid__in=uids[start : start + UID_CHUNK]).update(
            deleted_from_server_at=now
        )


def _record_outcome(source: MailSource, report: FetchReport, started: datetime) -> None:
    """Status on the source; on failure exponential back-off so a broken server is not hammered."""
    now = timezone.now()
    interval = timedelta(seconds=source.check_interval_seconds)
    if report.error:
        failures = source.failure_count + 1
        delay = min(interval * (2 ** min(failures, 16)), MAX_BACKOFF)
        MailSource.objects.filter(pk=source.pk).update(
            last_check_at=started,
            last_error=f"{now:%Y-%m-%d %H:%M:%S} UTC: {report.error}",
            failure_count=failures,
            next_check_at=now + delay,
        )
        source.failure_count = failures
        logger.error(
            "Fetching %s failed (%d in a row, next try in %s): %s",
            source,
            failures,
            delay,
            report.error,
            extra={"alert": "inbound_failure", "source_id": source.pk},
        )
        return
    MailSource.objects.filter(pk=source.pk).update(
        last_check_at=started,
        last_success_at=now,
        last_error="",
        failure_count=0,
        next_check_at=now + interval,
        fetched_count=F("fetched_count") + report.fetched,
        oversize_count=F("oversize_count") + report.oversize,
    )
    source.failure_count = 0
    logger.info("%s", report.summary())


def due_sources(now: datetime | None = None) -> list[MailSource]:
    """Enabled sources whose next check is due."""
    now = now or timezone.now()
    return list(
        MailSource.objects.filter(enabled=True).filter(
            Q(next_check_at__isnull=True) | Q(next_check_at__lte=now)
        )
    )


def claim_due_sources(now: datetime | None = None) -> list[int]:
    """Due sources, each claimed by moving its next check forward, so that a second beat
    (or a slow worker) never queues the same source twice."""
    now = now or timezone.now()
    claimed = []
    for source in due_sources(now):
        moved = MailSource.objects.filter(pk=source.pk, next_check_at=source.next_check_at).update(
            next_check_at=now + timedelta(seconds=source.check_interval_seconds)
        )
        if moved:
            claimed.append(source.pk)
    return claimed
