"""What delivery reports and automatic answers say, as data: ``conduit.bounces`` reads them.

Tables, not code, so a new mail server's wording is one line here. Every pattern is a plain
alternation without nested repetition (linear time on the capped text ``bounces`` scans).
"""

from __future__ import annotations

import re

from conduit.outbound import BounceCategory as C


def _any(*phrases: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in phrases), re.IGNORECASE)


# Enhanced status codes (RFC 3463) that say what happened whatever the text around them.
STRONG_STATUSES: dict[str, str] = {
    "5.1.1": C.USER_UNKNOWN,
    "5.1.10": C.USER_UNKNOWN,
    "5.1.6": C.USER_UNKNOWN,  # mailbox has moved, no forwarding address
    "5.1.2": C.HOST_UNKNOWN,
    "4.1.2": C.HOST_UNKNOWN,
    "5.4.4": C.HOST_UNKNOWN,  # unable to route: the domain has no mail servers
    "4.4.4": C.HOST_UNKNOWN,
    "5.2.2": C.MAILBOX_FULL,
    "4.2.2": C.MAILBOX_FULL,
    "5.3.4": C.MESSAGE_TOO_LARGE,
    "5.2.3": C.MESSAGE_TOO_LARGE,
    "5.2.1": C.MAILBOX_DISABLED,
}

# Codes too general to trust over the wording (5.7.1 is used for dead mailboxes as well as
# spam blocks), by class.subject: used only when no text pattern matched.
WEAK_STATUSES: dict[str, str] = {
    "5.1": C.USER_UNKNOWN,
    "5.7": C.REJECTED_POLICY,
    "4.7": C.TRANSIENT,  # greylisting and rate limits: the server will be tried again
    "5.3": C.REJECTED_POLICY,
    "5.6": C.REJECTED_POLICY,  # media not supported / content conversion refused
}

# The wording of diagnostics, tried in this order (the first category whose pattern matches
# wins): "user is over quota" is a full mailbox, not an unknown user.
TEXT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        C.MAILBOX_DISABLED,
        _any(
            r"account (?:has been |is )?"
            r"(?:disabled|deactivated|suspended|inactive|closed|expired|locked)",
            r"mailbox (?:is )?(?:disabled|inactive|suspended|locked|frozen)",
            r"(?:user|recipient|address) (?:account )?(?:is )?(?:disabled|suspended|inactive)",
            r"account that you tried to reach is disabled",
            r"disabled or discontinued",
            r"is no longer (?:valid|active|in use)",
            r"not accepting (?:any )?(?:mail|messages)",
        ),
    ),
    (
        C.MAILBOX_FULL,
        _any(
            r"mail ?box (?:is )?full",
            r"over ?quota",
            r"quota (?:exceeded|exceed|full)",
            r"exceeded (?:the |their )?(?:storage|quota)",
            r"exceeds? (?:the |its )?(?:mailbox )?quota",
            r"out of storage space",
            r"insufficient (?:system )?storage",
            r"mailbox size limit",
            r"mail ?folder is full",
            r"disk quota",
            r"storage allocation",
        ),
    ),
    (
        C.MESSAGE_TOO_LARGE,
        _any(
            r"message (?:size )?(?:is )?too (?:large|big)",
            r"message too large",
            r"exceeds? (?:the )?(?:maximum|max|fixed maximum) (?:message )?size",
            r"message size exceeds",
            r"size limit",
            r"RecipSizeLimit",
            r"message length exceeds",
        ),
    ),
    (
        C.HOST_UNKNOWN,
        _any(
            r"host (?:or domain name )?not found",
            r"host unknown",
            r"domain (?:name )?(?:not found|does not exist|doesn't exist|unknown)",
            r"unrouteable (?:mail )?(?:address|domain)",
            r"name or service not known",
            r"no mx (?:record|host)",
            r"mx records point to non-existent hosts",
            r"dns (?:lookup )?fail",
            r"nxdomain",
            r"no such domain",
            r"unknown domain",
            r"could not be resolved",
        ),
    ),
    (
        C.USER_UNKNOWN,
        _any(
            r"user unknown",
            r"unknown (?:user|recipient|local[- ]part|address|mailbox)",
            r"no such (?:user|mailbox|recipient|address|person)",
            r"user (?:not found|doesn't exist|does not exist)",
            r"(?:address|mailbox|recipient|account) "
            r"(?:not found|doesn't exist|does not exist|unavailable)",
            r"(?:address|recipient) (?:not known|is invalid)",
            r"invalid (?:recipient|mailbox|address|user)",
            r"no mailbox here",
            r"mailbox not found",
            r"RecipientNotFound",
            r"couldn't be found",
            r"wasn't found at",
            r"doesn't have an? [\w.-]+ account",
            r"account that you tried to reach does not exist",
            r"recipient address rejected: (?:user unknown|undeliverable|access denied)",
            r"not our customer",
            r"bad destination mailbox",
            r"user not local",
        ),
    ),
    (
        C.REJECTED_POLICY,
        _any(
            r"\bspam",
            r"blocked",
            r"black ?list",
            r"block ?list",
            r"deny ?list",
            r"\bpolicy",
            r"virus",
            r"malware",
            r"content rejected",
            r"not authori[sz]ed",
            r"relay(?:ing)? (?:access )?(?:denied|not permitted)",
            r"access denied",
            r"\bspf\b",
            r"dmarc",
            r"\bdkim\b",
            r"reputation",
            r"spamhaus",
            r"\brbl\b",
            r"unsolicited",
            r"message rejected",
        ),
    ),
    (
        C.TRANSIENT,
        _any(
            r"delayed",
            r"temporar(?:y|ily)",
            r"try (?:again )?later",
            r"timed? ?out",
            r"connection (?:refused|reset|dropped|lost)",
            r"greylist",
            r"grey-listed",
            r"deferred",
            r"will (?:be )?retr(?:y|ied)",
            r"network (?:is )?unreachable",
            r"too many (?:connections|messages)",
            r"not yet been delivered",
        ),
    ),
]

# Who sends delivery reports, and what they call them.
DAEMON_SENDER = re.compile(
    r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounce|bounces|mdaemon)@"
    r"|@(?:[\w-]+\.)*amazonses\.com$",
    re.IGNORECASE,
)
DAEMON_NAME = re.compile(
    r"^(?:mail delivery (?:system|subsystem)|mailer-daemon|microsoft outlook|postmaster"
    r"|mail administrator|system administrator)\b",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = _any(
    r"undeliver(?:ed|able)",
    r"returned mail",
    r"delivery status notification",
    r"mail delivery failed",
    r"failure notice",
    r"delivery failure",
    r"non[- ]?delivery",
    r"could not be delivered",
    r"message not delivered",
    r"delivery has failed",
    r"delivery (?:report|problem)",
    r"warning: (?:could not send|message .* delayed)",
    r"delayed mail",
    r"mail system error",
    r"unzustellbar",
    r"non remis",
)
# A first line a report begins its human-readable text with.
BOUNCE_MARKERS = _any(
    r"this is the qmail-send program",
    r"this message was created automatically by mail delivery software",
    r"a message that you sent (?:could not be|has not yet been) delivered",
    r"i'm afraid i wasn't able to deliver your message",
    r"sorry, we were unable to deliver your message",
    r"the following addresses had permanent fatal errors",
    r"could not send message for past",
    r"delivery to the following recipients? (?:failed|has been delayed)",
    r"your message (?:wasn't|was not|couldn't be|could not be) delivered",
    r"delivery has failed to these recipients",
    r"the following recipient\(s\) (?:cannot|could not) be reached",
    r"your message did not reach some or all of the intended recipients",
    r"was undeliverable",
    r"an error occurred while trying to deliver the mail",
    r"this is the mail system at host",
    r"message could not be delivered",
    r"delivery has been delayed",
    r"unable to deliver your message",
)
DELAY_MARKERS = _any(
    r"has not yet been delivered",
    r"delivery (?:to the following recipients? )?has been delayed",
    r"could not send message for past",
    r"will (?:continue to )?(?:be )?retr(?:y|ied)",
    r"delivery attempts will continue",
    r"no action is required on your part",
    r"this is a warning message only",
    r"message delayed",
    r"status notification \(delay\)",
    r"delayed mail",
    r"still being retried",
)
# Where the copy of the failed mail starts in a plain-text report: wording after it is the
# customer's, not the mail server's.
COPY_MARKERS = _any(
    r"^[ \t]*-+ ?below this line is a copy of the message",
    r"^[ \t]*-+ ?this is a copy of the message",
    r"^[ \t]*-+ ?original message",
    r"^original message headers:",
    r"^[ \t]*-+ ?unsent message below",
    r"^[ \t]*-+ ?the header of the original message",
    r"^[ \t]*-+ ?message header follows",
    r"^message contents follow",
)

# Automatic answers.
AUTO_REPLY_SUBJECT = _any(
    r"^\s*(?:re:\s*)?(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|autoreply"
    r"|auto:|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|absence du bureau"
    r"|risposta automatica|respuesta autom[aá]tica|autosvar|automatisch antwoord"
    r"|afwezigheidsbericht|fuera de la oficina|on vacation|vacation|away from)",
)
AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-reply", "x-autogenerated")
CHALLENGE_SENDERS = re.compile(
    r"@(?:[\w-]+\.)*(?:boxbe\.com|spamarrest\.com|mailblocks\.com|choicemail\.com"
    r"|sendio\.com|bluebottle\.com|qurb\.com|mailfrontier\.com)$",
    re.IGNORECASE,
)
CHALLENGE_TEXT = _any(
    r"verify (?:that )?you are (?:a )?(?:human|real person|not a robot)",
    r"prove (?:that )?you are (?:a )?(?:human|real person)",
    r"confirm (?:that )?(?:your (?:message|e-?mail)|you are (?:a )?(?:human|real person)|you sent)",
    r"please (?:verify|confirm) (?:your|this) (?:e-?mail|message|address)",
    r"sender verification",
    r"challenge[- ]response",
    r"approved senders? list",
    r"added to (?:my|the) (?:approved|allowed) (?:senders|list)",
    r"i am protecting myself from (?:receiving )?junk mail",
    r"guaranteed spam-free",
    r"spam arrest",
    r"boxbe",
    r"waiting (?:for|in) (?:the )?guest list",
)
