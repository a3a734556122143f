"""Deleting tickets for good: rows and the files only they used (raw mail, attachments,
spooled copies of their replies).

Files are removed after the transaction commits (a rollback leaves everything in place),
and only when no remaining row still names them: attachment files are shared by content,
so a file another ticket uses stays.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.files.storage import default_storage
from django.db import transaction

from conduit.models import InboundMessage, OutboundMessage
from tickets.models import Attachment, Message, Ticket, attachment_file_name

logger = logging.getLogger("mailflow.tickets")
CHUNK = 500
# Mail still on its way keeps its spool file (the spooler is sending it or will).
_IN_FLIGHT = (OutboundMessage.State.SENDING,)


def purge_tickets(ticket_ids: Sequence[int]) -> int:
    """Delete the tickets with their messages, notes, history, stored raw mail and files.
    Call inside a transaction; returns how many tickets were deleted."""
    deleted = 0
    for start in range(0, len(ticket_ids), CHUNK):
        deleted += _purge_chunk(list(ticket_ids[start : start + CHUNK]))
    return deleted


def _purge_chunk(ids: list[int]) -> int:
    messages = Message.objects.filter(ticket_id__in=ids)
    inbound_ids = list(messages.exclude(inbound=None).values_list("inbound_id", flat=True))
    shas = set(Attachment.objects.filter(message__in=messages).values_list("sha256", flat=True))
    outbound = OutboundMessage.objects.filter(ticket_id__in=ids).exclude(state__in=_IN_FLIGHT)
    files = set(outbound.values_list("raw", flat=True))
    files |= set(InboundMessage.objects.filter(pk__in=inbound_ids).values_list("raw", flat=True))
    outbound.delete()
    count, _ = Ticket.objects.filter(pk__in=ids).delete()
    InboundMessage.objects.filter(pk__in=inbound_ids).delete()
    still_used = set(Attachment.objects.filter(sha256__in=shas).values_list("sha256", flat=True))
    files -= set(InboundMessage.objects.filter(raw__in=files).values_list("raw", flat=True))
    files |= {attachment_file_name(sha) for sha in shas - still_used}
    names = sorted(name for name in files if name)
    delete_files_on_commit(names, "after emptying the trash")
    return count


def delete_files_on_commit(names: Sequence[str], why: str) -> None:
    """Remove these stored files once the current transaction commits (none if it rolls
    back); a file that cannot be removed is logged (``why`` says when) and skipped."""
    names = list(names)

    def delete() -> None:
        for name in names:
            try:
                default_storage.delete(name)
            except OSError as error:
                logger.warning("Could not delete %s %s: %s", name, why, error)

    transaction.on_commit(delete)
