"""The values of one mail that routing conditions look at, worked out once and cached."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings

from conduit.mime import ParsedMessage
from routing.conditions import RECIPIENT_HEADERS, Field, address_list


class MailFacts:
    """Condition fields of one parsed mail. Multi-valued fields (To, Cc, a repeated header)
    give one value each; a condition holds when any value satisfies it ("does not contain"
    when none contains)."""

    def __init__(self, parsed: ParsedMessage, raw: bytes = b"") -> None:
        self.parsed = parsed
        self.raw = raw
        self.scan_bytes: int = settings.MAILFLOW["RULE_SCAN_BYTES"]

    def values(self, field: str, header: str = "") -> list[str]:
        if field == Field.HEADER:
            return self.header_values.get(header.lower(), [])
        return getattr(self, f"_{field}")

    @cached_property
    def sender(self) -> str:
        return self.parsed.from_.address.strip() if self.parsed.from_ else ""

    @cached_property
    def header_values(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, value in self.parsed.headers:
            found.setdefault(name.lower(), []).append(value)
        return found

    @cached_property
    def _from_address(self) -> list[str]:
        return [self.sender] if self.sender else []

    @cached_property
    def _from_name(self) -> list[str]:
        return [self.parsed.from_.name] if self.parsed.from_ and self.parsed.from_.name else []

    @cached_property
    def _to(self) -> list[str]:
        return [a.address for a in self.parsed.to if a.address]

    @cached_property
    def _cc(self) -> list[str]:
        return [a.address for a in self.parsed.cc if a.address]

    @cached_property
    def _recipients(self) -> list[str]:
        extra = [v for name in RECIPIENT_HEADERS for v in self.header_values.get(name, [])]
        return list(dict.fromkeys([*self._to, *self._cc, *address_list(extra)]))

    @cached_property
    def _subject(self) -> list[str]:
        return [self.parsed.subject] if self.parsed.subject else []

    @cached_property
    def _body(self) -> list[str]:
        text = self.parsed.text[: self.scan_bytes]
        return [text] if text.strip() else []

    @cached_property
    def _headers(self) -> list[str]:
        return ["\n".join(f"{name}: {value}" for name, value in self.parsed.headers)]

    @cached_property
    def _message(self) -> list[str]:
        return [self.raw[: self.scan_bytes].decode("utf-8", "replace")] if self.raw else []
