"""IMAP mailboxes (imapclient): LOGIN or SASL PLAIN, any folder; uid = UIDVALIDITY:UID."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from conduit.remote import (
    RemoteMessage,
    SourceAuthError,
    SourceProtocolError,
    translated_errors,
)

# Fetch bodies in batches: few round trips, bounded memory.
BATCH_MESSAGES = 100
BATCH_BYTES = 16 * 1024 * 1024
# UIDs per command: servers cap the length of a command line (Dovecot: 64 KB by default).
COMMAND_UIDS = 500


class ImapMailbox:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        sasl_plain: bool,
        folder: str,
        timeout: float,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.server = f"IMAP server {host}:{port}"
        self.folder = folder
        with translated_errors(self.server):
            self._imap = IMAPClient(
                host,
                port=port,
                ssl=security == "tls",
                ssl_context=ssl_context,
                timeout=timeout,
                use_uid=True,
            )
            if security == "starttls":
                try:
                    self._imap.starttls(ssl_context)
                except IMAPClientError as exc:
                    raise SourceProtocolError(
                        f"{self.server} does not offer STARTTLS ({exc}). Choose TLS or no security."
                    ) from exc
            try:
                if sasl_plain:
                    self._imap.plain_login(username, password)
                else:
                    self._imap.login(username, password)
            except (LoginError, IMAPClientError) as exc:
                raise SourceAuthError(
                    f"{self.server} refused the login of '{username}': "
                    f"{_text(exc).rstrip('.')}. Check user name and password."
                ) from exc
            try:
                status = self._imap.select_folder(folder)
            except IMAPClientError as exc:
                raise SourceProtocolError(
                    f"{self.server} cannot open folder '{folder}': {_text(exc)}. Check the "
                    "folder name."
                ) from exc
        self.uidvalidity = int(status[b"UIDVALIDITY"])
        self.exists = int(status.get(b"EXISTS", 0))

    def listing(self) -> list[RemoteMessage]:
        if not self.exists:
            return []
        with translated_errors(self.server):
            # A range, not a list of UIDs: servers cap the length of a command line.
            sizes = self._imap.fetch("1:*", ["RFC822.SIZE"])
        return [
            RemoteMessage(
                uid=f"{self.uidvalidity}:{uid}", size=int(data.get(b"RFC822.SIZE", 0)), ref=uid
            )
            for uid, data in sorted(sizes.items())
        ]

    def retrieve_many(self, messages: list[RemoteMessage]) -> Iterator[tuple[RemoteMessage, bytes]]:
        """Bodies in batches, without setting \\Seen (BODY.PEEK)."""
        for batch in _batches(messages):
            with translated_errors(self.server):
                data = self._imap.fetch([m.ref for m in batch], ["BODY.PEEK[]"])
            for message in batch:
                body = data.get(message.ref, {}).get(b"BODY[]")
                if body is None:
                    raise SourceProtocolError(
                        f"{self.server} did not send message {message.uid} (deleted meanwhile?)."
                    )
                yield message, bytes(body)

    def headers(self, message: RemoteMessage) -> bytes:
        with translated_errors(self.server):
            data = self._imap.fetch([message.ref], ["BODY.PEEK[HEADER]"])
        return bytes(data.get(message.ref, {}).get(b"BODY[HEADER]", b""))

    def delete(self, messages: list[RemoteMessage]) -> None:
        """Flag as deleted and expunge just those messages (UID EXPUNGE where supported)."""
        if not messages:
            return
        uidplus = self._imap.has_capability("UIDPLUS")
        with translated_errors(self.server):
            for start in range(0, len(messages), COMMAND_UIDS):
                refs = [m.ref for m in messages[start : start + COMMAND_UIDS]]
                self._imap.delete_messages(refs)
                if uidplus:
                    self._imap.uid_expunge(refs)
            if not uidplus:
                self._imap.expunge()

    def close(self) -> None:
        with translated_errors(self.server):
            try:
                self._imap.logout()
            except IMAPClientError as exc:
                raise SourceProtocolError(f"{self.server} failed to log out: {exc}") from exc

    def abort(self) -> None:
        try:
            self._imap.shutdown()
        except (OSError, IMAPClientError):
            pass


def _batches(messages: list[RemoteMessage]) -> Iterator[list[RemoteMessage]]:
    batch: list[RemoteMessage] = []
    size = 0
    for message in messages:
        if batch and (len(batch) >= BATCH_MESSAGES or size + message.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.size
    if batch:
        yield batch


def _text(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
