"""What a routing condition can look at, how it compares, and how a condition is checked.

One place for the vocabulary (fields, operators), validation (used by the model, the admin
form and the compiled rule set) and the translation of a condition into an RE2 pattern.
Every text comparison but "is in list" and "is empty" becomes a pattern, so a rule set can
test all its conditions on one field in a single linear-time pass (``routing.ruleset``).
"""

from __future__ import annotations

import re
from email.utils import getaddresses

import re2
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_domain_name
from django.db import models


class Field(models.TextChoices):
    FROM_ADDRESS = "from_address", "From address"
    FROM_NAME = "from_name", "From name"
    TO = "to", "To"
    CC = "cc", "Cc"
    RECIPIENTS = "recipients", "Any recipient"
    SUBJECT = "subject", "Subject"
    BODY = "body", "Body text"
    HEADER = "header", "Named header"
    HEADERS = "headers", "All headers"
    MESSAGE = "message", "Whole message"


class Operator(models.TextChoices):
    CONTAINS = "contains", "contains"
    NOT_CONTAINS = "not_contains", "does not contain"
    EQUALS = "equals", "equals"
    STARTS_WITH = "starts_with", "starts with"
    ENDS_WITH = "ends_with", "ends with"
    REGEX = "regex", "matches regular expression"
    IN_LIST = "in_list", "is in list"
    IS_EMPTY = "is_empty", "is empty"


# Fields whose values are email addresses: "is in list" compares addresses and domains.
ADDRESS_FIELDS = frozenset({Field.FROM_ADDRESS, Field.TO, Field.CC, Field.RECIPIENTS})
# Headers besides To and Cc that name a recipient of this copy of the mail.
RECIPIENT_HEADERS = (
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "x-envelope-to",
    "resent-to",
    "resent-cc",
    "bcc",
)
MAX_VALUE_LENGTH = 20_000
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 field name: printable ASCII but ':'
_LIST_SPLIT = re.compile(r"[\s,;]+")
_email = EmailValidator()


def re2_options(*, case_sensitive: bool = True) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    options.max_mem = 64 << 20
    return options


def split_list(value: str) -> list[str]:
    """Entries of a list value: one per line, or separated by commas, semicolons or spaces."""
    return [entry for entry in _LIST_SPLIT.split(value.strip()) if entry]


def normalize_list_entry(entry: str) -> str:
    """'@Example.COM' and 'example.com' are the same domain; addresses are lower-cased."""
    return entry.strip().lstrip("@").lower().rstrip(".")


def is_address(value: str) -> bool:
    try:
        _email(value)
    except ValidationError:
        return False
    return True


def is_domain(value: str) -> bool:
    if "@" in value or "." not in value:
        return False
    try:
        validate_domain_name(value)
    except ValidationError:
        return False
    return True


def validate(field: str, header_name: str, operator: str, value: str) -> dict[str, str]:
    """Errors by form field name; empty when the condition is sound."""
    errors: dict[str, str] = {}
    if field == Field.HEADER:
        if not header_name.strip():
            errors["header_name"] = "Name the header to test, e.g. X-Spam-Flag."
        elif not _HEADER_NAME.match(header_name.strip()):
            errors["header_name"] = "A header name has no spaces or colons, e.g. X-Spam-Flag."
    elif header_name.strip():
        errors["header_name"] = "A header name is only used with the 'named header' field."
    if operator == Operator.IS_EMPTY:
        if value.strip():
            errors["value"] = "'is empty' takes no value: clear it."
        return errors
    if not value.strip():
        errors["value"] = "Enter the value to compare with."
    elif len(value) > MAX_VALUE_LENGTH:
        errors["value"] = f"Keep the value under {MAX_VALUE_LENGTH:,} characters."
    elif operator == Operator.REGEX:
        problem = regex_error(value)
        if problem:
            errors["value"] = problem
    elif operator == Operator.IN_LIST and field in ADDRESS_FIELDS:
        bad = [
            entry
            for entry in split_list(value)
            if not (
                is_address(normalize_list_entry(entry)) or is_domain(normalize_list_entry(entry))
            )
        ]
        if bad:
            errors["value"] = (
                f"Not an address or a domain: {', '.join(bad[:5])}. "
                "List addresses (name@example.com) or domains (example.com), one per line."
            )
    return errors


def regex_error(pattern: str) -> str:
    """Why ``pattern`` is not a usable RE2 expression, or '' when it is."""
    try:
        re2.compile(pattern, re2_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return (
            f"Not a valid regular expression: {reason}. Patterns use RE2 syntax, which runs "
            "in linear time: no look-ahead, look-behind or back-references."
        )
    return ""


def pattern_for(operator: str, value: str, *, case_sensitive: bool) -> str | None:
    """The RE2 pattern that tests one value for this operator, or None (list, empty)."""
    flags = "" if case_sensitive else "(?i)"
    if operator == Operator.REGEX:
        return f"{flags}(?:{value})"
    literal = re2.escape(value.strip())
    shapes: dict[str, str] = {
        Operator.CONTAINS: "{}",
        Operator.NOT_CONTAINS: "{}",
        Operator.EQUALS: r"\A(?:{})\z",
        Operator.STARTS_WITH: r"\A(?:{})",
        Operator.ENDS_WITH: r"(?:{})\z",
    }
    shape = shapes.get(operator)
    return None if shape is None else flags + shape.format(literal)


def describe(field: str, header_name: str, operator: str, value: str, case_sensitive: bool) -> str:
    """'Subject contains "invoice"', as the admin and the explain output show a condition."""
    what = f"header {header_name}" if field == Field.HEADER else Field(field).label
    how = Operator(operator).label
    if operator == Operator.IS_EMPTY:
        return f"{what} {how}"
    shown = value if len(value) <= 60 else value[:57] + "…"
    case = " (case-sensitive)" if case_sensitive else ""
    return f'{what} {how} "{shown}"{case}'


def address_list(values: list[str]) -> list[str]:
    """Addresses named in raw header values ('A <a@x>, b@y' → ['a@x', 'b@y'])."""
    return [address for _, address in getaddresses(values) if address]
