"""VERP return paths: the envelope sender of each outbound mail names that mail.

A bounce goes to the envelope sender, so ``bounces+<id>.<signature>@<domain>`` tells us
which OutboundMessage failed even when the report quotes nothing of it. The signature (an
HMAC with the secret key) keeps forged reports from marking arbitrary messages bounced.
Mail servers may change the case of the local part, so the match ignores case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

PREFIX = "bounces"
_VERP = re.compile(rf"^<?{PREFIX}\+(\d{{1,18}})\.([0-9a-f]{{12}})@[^>\s]+>?$", re.IGNORECASE)


def _signature(outbound_id: int) -> str:
    return salted_hmac("mailflow.verp", str(outbound_id), algorithm="sha256").hexdigest()[:12]


def return_path_for(outbound_id: int, sender: str) -> str:
    """The envelope sender for outbound message ``outbound_id`` sent as ``sender``: on
    MAILFLOW_BOUNCE_DOMAIN when set, else on the sender's own domain."""
    domain = settings.MAILFLOW["BOUNCE_DOMAIN"] or sender.rpartition("@")[2] or "localhost"
    return f"{PREFIX}+{outbound_id}.{_signature(outbound_id)}@{domain}"


def outbound_id_from(address: str) -> int | None:
    """The outbound message a return path of ours names, or None (not ours, or forged)."""
    found = _VERP.match(address.strip())
    if not found:
        return None
    outbound_id = int(found[1])
    return outbound_id if constant_time_compare(found[2].lower(), _signature(outbound_id)) else None


def first_outbound_id(addresses: Iterable[str]) -> int | None:
    """The first of ``addresses`` that is a genuine return path of ours."""
    for address in addresses:
        outbound_id = outbound_id_from(address)
        if outbound_id is not None:
            return outbound_id
    return None


def looks_like_return_path(address: str) -> bool:
    """Shaped like one of our return paths (signature not checked): a cheap first look."""
    return bool(_VERP.match(address.strip()))
