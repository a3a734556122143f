"""POP3 mailboxes (poplib): USER/PASS or APOP, plain, STARTTLS or TLS; UIDL as the stable uid."""

from __future__ import annotations

import poplib
import ssl
from collections.abc import Iterator

from conduit.remote import (
    RemoteMessage,
    SourceAuthError,
    SourceProtocolError,
    translated_errors,
)

# poplib refuses lines over 2048 bytes; real mail has longer ones (RFC 5322 allows 998 chars,
# broken mailers send far more), so allow up to 1 MiB per line.
poplib._MAXLINE = 1024 * 1024  # type: ignore[attr-defined]


class Pop3Mailbox:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        apop: bool,
        timeout: float,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.server = f"POP3 server {host}:{port}"
        with translated_errors(self.server):
            self._pop: poplib.POP3
            if security == "tls":
                self._pop = poplib.POP3_SSL(host, port, timeout=timeout, context=ssl_context)
            else:
                self._pop = poplib.POP3(host, port, timeout=timeout)
                if security == "starttls":
                    try:
                        self._pop.stls(context=ssl_context)
                    except poplib.error_proto as exc:
                        raise SourceProtocolError(
                            f"{self.server} does not offer STARTTLS ({_text(exc)}). Choose TLS "
                            "or no security."
                        ) from exc
            self._login(username, password, apop=apop)

    def _login(self, username: str, password: str, *, apop: bool) -> None:
        try:
            if apop:
                self._pop.apop(username, password)
            else:
                self._pop.user(username)
                self._pop.pass_(password)
        except poplib.error_proto as exc:
            reason = _text(exc)
            if apop and "timestamp" in reason.lower():
                raise SourceAuthError(
                    f"{self.server} does not offer APOP (no timestamp in its greeting). Use "
                    "password authentication."
                ) from exc
            raise SourceAuthError(
                f"{self.server} refused the login of '{username}': {reason.rstrip('.')}. "
                "Check user name and password."
            ) from exc

    def listing(self) -> list[RemoteMessage]:
        with translated_errors(self.server):
            try:
                _, uid_lines, _ = self._pop.uidl()
                _, size_lines, _ = self._pop.list()
            except poplib.error_proto as exc:
                raise SourceProtocolError(
                    f"{self.server} cannot list messages: {_text(exc)}"
                ) from exc
        sizes = dict(_pairs(size_lines))
        return [
            RemoteMessage(uid=uid, size=int(sizes.get(num, "0")), ref=int(num))
            for num, uid in _pairs(uid_lines)
        ]

    def retrieve(self, message: RemoteMessage) -> bytes:
        with translated_errors(self.server):
            try:
                _, lines, _ = self._pop.retr(int(message.ref))
            except poplib.error_proto as exc:
                raise SourceProtocolError(
                    f"{self.server} cannot send message {message.uid}: {_text(exc)}"
                ) from exc
        return b"\r\n".join(lines) + b"\r\n"

    def retrieve_many(self, messages: list[RemoteMessage]) -> Iterator[tuple[RemoteMessage, bytes]]:
        for message in messages:
            yield message, self.retrieve(message)

    def headers(self, message: RemoteMessage) -> bytes:
        with translated_errors(self.server):
            try:
                _, lines, _ = self._pop.top(int(message.ref), 0)
            except poplib.error_proto as exc:
                raise SourceProtocolError(
                    f"{self.server} cannot send the headers of {message.uid}: {_text(exc)}"
                ) from exc
        return b"\r\n".join(lines) + b"\r\n"

    def delete(self, messages: list[RemoteMessage]) -> None:
        """Mark for deletion; POP3 deletes only when the session ends with QUIT (close())."""
        with translated_errors(self.server):
            for message in messages:
                self._pop.dele(int(message.ref))

    def close(self) -> None:
        """End the session with QUIT, which makes the server carry out the deletions."""
        with translated_errors(self.server):
            try:
                self._pop.quit()
            except poplib.error_proto as exc:
                raise SourceProtocolError(
                    f"{self.server} failed to end the session: {_text(exc)}"
                ) from exc

    def abort(self) -> None:
        """Drop the connection without QUIT: the server keeps every message."""
        try:
            self._pop.close()
        except OSError:
            pass


def _pairs(lines: list[bytes]) -> Iterator[tuple[str, str]]:
    for line in lines:
        parts = line.decode("ascii", "replace").split(None, 1)
        if len(parts) == 2:
            yield parts[0], parts[1].strip()


def _text(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
