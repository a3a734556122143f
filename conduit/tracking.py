"""Delivery tracking: an image that records when a reply is opened, and links that
record when they are followed. Only for ticketboxes that turn it on (off by default, for
the customers' privacy).

Tracked links carry a signature of (token, address), so the click endpoint redirects only
to addresses we put in our own mail: it is no open redirect.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from conduit.outbound import OutboundMessage, TrackingEvent

_SALT = "mailflow.tracking"


def new_token() -> str:
    return secrets.token_urlsafe(16)


def pixel_url(token: str) -> str:
    return _absolute(reverse("track_open", args=[token]))


def link_rewriter(token: str) -> Callable[[str], str]:
    """Rewrites an address in our mail into its tracked form."""

    def rewrite(url: str) -> str:
        query = urlencode({"u": url, "s": _signature(token, url)})
        return _absolute(f"{reverse('track_click', args=[token])}?{query}")

    return rewrite


def signed(token: str, url: str, signature: str) -> bool:
    return constant_time_compare(signature, _signature(token, url))


def record_open(token: str, *, user_agent: str = "") -> bool:
    """Count an open of the mail with this token; False when no mail has it."""
    return _record(token, TrackingEvent.Kind.OPEN, user_agent=user_agent)


def record_click(token: str, url: str, *, user_agent: str = "") -> bool:
    """Count a followed link (an open too: the mail was read to follow it)."""
    return _record(token, TrackingEvent.Kind.CLICK, url=url, user_agent=user_agent)


def _record(token: str, kind: str, *, url: str = "", user_agent: str = "") -> bool:
    now = timezone.now()
    counter = "open_count" if kind == TrackingEvent.Kind.OPEN else "click_count"
    updated = OutboundMessage.objects.filter(tracking_token=token).update(
        **{counter: F(counter) + 1}, opened_at=Coalesce("opened_at", now)
    )
    if not updated:
        return False
    outbound_id = OutboundMessage.objects.filter(tracking_token=token).values_list("pk", flat=True)[
        0
    ]
    TrackingEvent.objects.create(
        outbound_id=outbound_id, kind=kind, url=url[:4000], at=now, user_agent=user_agent[:300]
    )
    return True


def _signature(token: str, url: str) -> str:
    return salted_hmac(_SALT, f"{token}\n{url}").hexdigest()[:20]


def _absolute(path: str) -> str:
    return settings.MAILFLOW["SITE_URL"].rstrip("/") + path
