"""What the fetcher needs from a mailbox, whatever the protocol, and the errors it can meet."""

from __future__ import annotations

import imaplib
import poplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


class SourceError(Exception):
    """A mail source could not be read. The message says what happened and what to check."""

    kind = "error"


class SourceConnectError(SourceError):
    kind = "connection"


class SourceTimeout(SourceError):
    kind = "timeout"


class SourceTLSError(SourceError):
    kind = "tls"


class SourceAuthError(SourceError):
    kind = "authentication"


class SourceProtocolError(SourceError):
    kind = "protocol"


@dataclass(frozen=True)
class RemoteMessage:
    """A message as listed by the server: a stable uid, its size, and the handle to fetch it."""

    uid: str
    size: int
    ref: int | str


class Mailbox(Protocol):
    def listing(self) -> list[RemoteMessage]: ...

    def retrieve_many(
        self, messages: list[RemoteMessage]
    ) -> Iterator[tuple[RemoteMessage, bytes]]: ...

    def headers(self, message: RemoteMessage) -> bytes: ...

    def delete(self, messages: list[RemoteMessage]) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


@contextmanager
def translated_errors(server: str) -> Iterator[None]:
    """Turn socket and TLS failures into SourceErrors that say, in words, what went wrong."""
    try:
        yield
    except SourceError:
        raise
    except imaplib.IMAP4.abort as exc:
        raise SourceConnectError(f"Connection to {server} was lost: {exc}.") from exc
    except imaplib.IMAP4.error as exc:
        raise SourceProtocolError(f"{server} answered with an error: {exc}.") from exc
    except poplib.error_proto as exc:
        raise SourceProtocolError(f"{server} answered with an error: {exc}.") from exc
    except ssl.SSLCertVerificationError as exc:
        raise SourceTLSError(
            f"TLS certificate of {server} was not accepted: {exc.verify_message}. Check the host "
            "name, or turn off certificate checking for a test server."
        ) from exc
    except ssl.SSLError as exc:
        raise SourceTLSError(
            f"TLS with {server} failed: {exc.reason or exc}. Check the security setting "
            "(STARTTLS or TLS) and the port."
        ) from exc
    except TimeoutError as exc:
        raise SourceTimeout(
            f"{server} did not answer within the timeout. Check the host and port, or raise "
            "the timeout."
        ) from exc
    except ConnectionRefusedError as exc:
        raise SourceConnectError(
            f"{server} refused the connection: no mail server listens there. Check host and port."
        ) from exc
    except socket.gaierror as exc:
        raise SourceConnectError(f"Host name of {server} not found: {exc.strerror}.") from exc
    except (ConnectionError, EOFError) as exc:
        raise SourceConnectError(
            f"Connection to {server} was lost: {exc or type(exc).__name__}."
        ) from exc
    except OSError as exc:
        raise SourceConnectError(f"Cannot reach {server}: {exc}.") from exc
