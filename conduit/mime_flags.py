"""What the headers say about a message: its priority, whether a machine sent it, whether it
is a delivery report (bounce).

`auto_submitted` is set only by headers that say *this* message is automatic: RFC 3834
Auto-Submitted (other than "no"), Precedence bulk/junk/list/auto_reply, X-Autoreply,
X-Autorespond, X-Auto-Reply, an out-of-office subject, or being a delivery report.
X-Auto-Response-Suppress is deliberately ignored: it asks *recipients* not to auto-reply and
is set by Exchange on plenty of human mail; routing can still read it from `headers`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_X_PRIORITY = {"1": "urgent", "2": "high", "3": "normal", "4": "low", "5": "low"}
_PRIORITY = {"urgent": "urgent", "normal": "normal", "non-urgent": "low"}
_IMPORTANCE = {"high": "high", "normal": "normal", "low": "low"}
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-reply")
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|autoreply"
    r"|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|absence du bureau"
    r"|risposta automatica|respuesta autom[aá]tica|autosvar|automatisch antwoord"
    r"|afwezigheidsbericht|resposta autom[aá]tica|automaattinen vastaus|fuera de la oficina)"
    r"\s*[:\-(]",
    re.IGNORECASE,
)
_DAEMON_NAMES = re.compile(
    r"^(?:mailer-daemon|postmaster|mail delivery (?:system|subsystem)|microsoft outlook"
    r"|mail administrator|mdaemon)\b",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver(?:ed|able)|returned mail|delivery status notification|mail delivery fail"
    r"|failure notice|delivery failure|non[- ]?delivery|unzustellbar|non remis"
    r"|non recapitabile|could not be delivered|message not delivered|delivery has failed",
    re.IGNORECASE,
)


def priority_from(headers: Mapping[str, str]) -> str:
    """low / normal / high / urgent from X-Priority, Priority or Importance (that order)."""
    x_priority = headers.get("x-priority", "").strip()[:1]
    if x_priority in _X_PRIORITY:
        return _X_PRIORITY[x_priority]
    priority = headers.get("priority", "").strip().lower()
    if priority in _PRIORITY:
        return _PRIORITY[priority]
    return _IMPORTANCE.get(headers.get("importance", "").strip().lower(), "normal")


def is_auto_submitted(headers: Mapping[str, str], *, subject: str) -> bool:
    """Whether the message says it was sent by a machine (see the module docstring)."""
    auto_submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if headers.get("precedence", "").strip().lower() in _BULK_PRECEDENCE:
        return True
    for name in _AUTOREPLY_HEADERS:
        if name in headers and headers[name].strip().lower() not in ("no", "false", "0"):
            return True
    return bool(_OUT_OF_OFFICE.match(subject))


def is_delivery_report(
    *,
    content_type: str,
    report_type: str,
    has_status_part: bool,
    sender_address: str,
    sender_name: str,
    subject: str,
) -> bool:
    """An RFC 3464 report, or a bounce from a mailer daemon in one of the common shapes."""
    if content_type == "multipart/report" and report_type.lower() == "delivery-status":
        return True
    if has_status_part:
        return True
    candidates = (sender_address.split("@", 1)[0], sender_name.strip())
    is_daemon = any(_DAEMON_NAMES.match(candidate) for candidate in candidates)
    return is_daemon and bool(_BOUNCE_SUBJECT.search(subject))
