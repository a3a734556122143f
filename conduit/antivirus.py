"""The conduit's antivirus hook: a stored mail is scanned before it is routed.

Off by default. With ``MAILFLOW_ANTIVIRUS_URL`` set, ``scan_message`` streams the raw mail to
ClamAV's daemon (clamd) over its INSTREAM protocol and says whether it is infected. The route
step decides what a verdict means (infected: quarantined, not routed); an unreachable or
failing scanner raises ``ScannerUnavailable`` so the mail stays stored and is tried again,
never routed unscanned.

clamd's protocol (clamd(8)): commands prefixed with ``z`` end with a NUL byte and so do the
answers. ``zINSTREAM\\0`` is followed by chunks, each a 4-byte big-endian length and the bytes,
and a zero length ends the stream; clamd answers ``stream: OK``, ``stream: <name> FOUND`` or
``<reason> ERROR``. A stream longer than clamd's ``StreamMaxLength`` is refused with
``INSTREAM size limit exceeded. ERROR`` and the connection is closed.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CLAMD_TCP_PORT = 3310
URL_EXAMPLES = (
    "unix:///run/clamav/clamd.ctl for clamd's LocalSocket or tcp://clamav:3310 for its TCPSocket"
)
# Large enough to keep system calls few, small enough to stay far below any StreamMaxLength.
CHUNK_SIZE = 64 * 1024
# clamd's answers are one short line; anything longer is not clamd.
MAX_REPLY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ScanVerdict:
    """What a scanner said about one mail."""

    infected: bool
    signature: str = ""  # e.g. "Eicar-Signature" / "Win.Test.EICAR_HDB-1"
    scanner: str = ""  # e.g. "clamd unix:///run/clamav/clamd.ctl"


class ScannerUnavailable(RuntimeError):
    """The scanner could not give a verdict (down, timed out, protocol error); try again later."""


class StreamTooLarge(ScannerUnavailable):
    """The mail is longer than clamd accepts (StreamMaxLength): retrying will not help until
    clamd's limit is raised."""


class Scanner(Protocol):
    """Anything that can scan a raw mail: clamd here, a fake in tests."""

    def scan(self, data: bytes) -> ScanVerdict: ...


class ClamdScanner:
    """A clamd reached over a unix socket (``unix:///path``) or TCP (``tcp://host:3310``)."""

    def __init__(self, url: str, *, timeout: float = 30.0, chunk_size: int = CHUNK_SIZE) -> None:
        """Check the URL; no connection is made until ``scan`` or ``ping``.

        Raises ValueError, saying what to write, for a URL that is not unix:// or tcp://.
        """
        self.url = url
        self.timeout = timeout
        self.chunk_size = chunk_size
        self._unix_path, self._tcp_address = _parse_url(url)

    @property
    def name(self) -> str:
        """How verdicts and log lines name this scanner."""
        return f"clamd {self.url}"

    def scan(self, data: bytes) -> ScanVerdict:
        """Stream ``data`` to clamd and return its verdict.

        Raises StreamTooLarge when clamd's StreamMaxLength refuses it, ScannerUnavailable
        when clamd cannot be reached, times out or answers something unexpected.
        """
        with self._connect() as sock:
            sent, send_error = self._send_stream(sock, data)
            reply = self._read_reply(sock, sent=sent, total=len(data), send_error=send_error)
        return self._verdict(reply, size=len(data))

    def ping(self) -> bool:
        """True when clamd answers PING with PONG; never raises."""
        try:
            with self._connect() as sock:
                sock.sendall(b"zPING\0")
                return _recv_reply(sock) == b"PONG"
        except (OSError, ScannerUnavailable):
            return False

    # -- the conversation -------------------------------------------------------------------

    def _connect(self) -> socket.socket:
        # One timeout for connecting and for each send and receive: a hung clamd must not
        # hold a routing worker forever.
        try:
            if self._tcp_address is not None:
                return socket.create_connection(self._tcp_address, timeout=self.timeout)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect(self._unix_path)
            except OSError:
                sock.close()
                raise
            return sock
        except OSError as exc:
            raise ScannerUnavailable(
                f"cannot reach clamd at {self.url}: {_reason(exc)}. Check that clamd is running "
                "and that MAILFLOW_ANTIVIRUS_URL points at its LocalSocket or TCPSocket."
            ) from exc

    def _send_stream(self, sock: socket.socket, data: bytes) -> tuple[int, OSError | None]:
        """Send the INSTREAM command and the chunks; return bytes sent and a send error, if any.

        clamd closes the connection as soon as the stream passes StreamMaxLength, so sending
        then fails (broken pipe, reset) while its answer is already waiting to be read: a
        send error is kept for the reply reader instead of being raised here.
        """
        view = memoryview(data)
        sent = 0
        try:
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(view), self.chunk_size):
                chunk = view[start : start + self.chunk_size]
                sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                sent += len(chunk)
            sock.sendall(struct.pack(">I", 0))
        except TimeoutError as exc:
            raise self._timed_out() from exc
        except OSError as exc:
            return sent, exc
        return sent, None

    def _read_reply(
        self, sock: socket.socket, *, sent: int, total: int, send_error: OSError | None
    ) -> bytes:
        try:
            reply = _recv_reply(sock)
        except TimeoutError as exc:
            raise self._timed_out() from exc
        except OSError as exc:
            reply = b""
            send_error = send_error or exc
        if reply:
            return reply
        if send_error is not None:
            raise ScannerUnavailable(
                f"clamd at {self.url} closed the connection after {sent} of {total} bytes "
                f"without an answer ({_reason(send_error)}). Check clamd's log and its "
                "StreamMaxLength."
            ) from send_error
        raise ScannerUnavailable(f"clamd at {self.url} closed the connection without an answer.")

    def _verdict(self, reply: bytes, *, size: int) -> ScanVerdict:
        text = reply.decode("utf-8", "replace").strip()
        if text.endswith(" ERROR"):
            if "size limit exceeded" in text:
                raise StreamTooLarge(
                    f"the mail ({size} bytes) is larger than clamd's StreamMaxLength at "
                    f"{self.url} (clamd said: {text}). Raise StreamMaxLength in clamd.conf to at "
                    "least the largest mail a source accepts (its max message size, 25 MB by "
                    "default)."
                )
            raise ScannerUnavailable(
                f"clamd at {self.url} could not scan the mail: {text.removesuffix(' ERROR')}"
            )
        if text.startswith("stream:"):
            result = text.removeprefix("stream:").strip()
            if result == "OK":
                return ScanVerdict(infected=False, scanner=self.name)
            if result.endswith(" FOUND"):
                signature = result.removesuffix(" FOUND").strip()
                return ScanVerdict(infected=True, signature=signature, scanner=self.name)
        raise ScannerUnavailable(f"unexpected answer from clamd at {self.url}: {text[:200]!r}")

    def _timed_out(self) -> ScannerUnavailable:
        return ScannerUnavailable(
            f"clamd at {self.url} did not answer within {self.timeout:g} s. Check that it is "
            "not overloaded, or raise MAILFLOW_ANTIVIRUS_TIMEOUT."
        )


def configured_scanner() -> Scanner | None:
    """The scanner set up by MAILFLOW_ANTIVIRUS_URL, or None when antivirus is off (empty).

    Raises ImproperlyConfigured, saying what to write, for a URL or timeout that cannot work.
    """
    url = settings.MAILFLOW_ANTIVIRUS_URL.strip()
    if not url:
        return None
    timeout = float(settings.MAILFLOW_ANTIVIRUS_TIMEOUT)
    if timeout <= 0:
        raise ImproperlyConfigured(
            f"MAILFLOW_ANTIVIRUS_TIMEOUT must be a number of seconds above 0, not {timeout:g}."
        )
    try:
        return ClamdScanner(url, timeout=timeout)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"MAILFLOW_ANTIVIRUS_URL: {exc} Leave it empty to turn antivirus off."
        ) from exc


def scan_message(raw: bytes) -> ScanVerdict | None:
    """Scan one raw mail with the configured scanner; None when antivirus is off.

    Raises ScannerUnavailable when a scanner is configured but gives no verdict: the caller
    keeps the mail stored and tries again later rather than routing it unscanned.
    """
    scanner = configured_scanner()
    if scanner is None:
        return None
    return scanner.scan(raw)


def _parse_url(url: str) -> tuple[str, tuple[str, int] | None]:
    """(socket path, None) for a unix:// URL, ("", (host, port)) for a tcp:// one.

    Raises ValueError saying what to write for anything else.
    """
    parts = urlsplit(url)
    if parts.scheme == "unix":
        # unix:///run/clamav/clamd.ctl; a host part ("unix://run/...") is a missing slash.
        if parts.netloc or not parts.path.startswith("/"):
            raise ValueError(
                f"{url!r} has no absolute socket path: write unix:// followed by the path, "
                "e.g. unix:///run/clamav/clamd.ctl (three slashes)."
            )
        return parts.path, None
    if parts.scheme == "tcp":
        try:
            port = parts.port or CLAMD_TCP_PORT
        except ValueError as exc:
            raise ValueError(f"{url!r} has an invalid port: write e.g. tcp://clamav:3310.") from exc
        if not parts.hostname:
            raise ValueError(f"{url!r} has no host name: write e.g. tcp://clamav:3310.")
        if parts.path not in ("", "/"):
            raise ValueError(f"{url!r} has a path after the port: write e.g. tcp://clamav:3310.")
        return "", (parts.hostname, port)
    raise ValueError(f"{url!r} is not a clamd address: write {URL_EXAMPLES}.")


def _recv_reply(sock: socket.socket) -> bytes:
    """One NUL-terminated answer (the terminator dropped); what came before EOF otherwise."""
    reply = b""
    while not reply.endswith(b"\0") and len(reply) < MAX_REPLY_BYTES:
        data = sock.recv(4096)
        if not data:
            break
        reply += data
    return reply.split(b"\0", 1)[0].strip()


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
