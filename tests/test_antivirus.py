"""The antivirus hook against a fake clamd: INSTREAM framing, answers, failures, settings."""

from __future__ import annotations

import re
import shutil
import socket
import socketserver
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from conduit.antivirus import (
    ClamdScanner,
    ScannerUnavailable,
    ScanVerdict,
    StreamTooLarge,
    configured_scanner,
    scan_message,
)

# What the fake does with one INSTREAM conversation: the stream it received -> bytes to send
# back (None: close without a word).
Answer = Callable[[bytes], bytes | None]


@dataclass
class Received:
    """What the fake clamd saw, for the test to check the framing."""

    commands: list[bytes] = field(default_factory=list)
    chunk_sizes: list[int] = field(default_factory=list)
    streams: list[bytes] = field(default_factory=list)


class FakeClamd:
    """A tiny clamd speaking the z-protocol on a unix socket or a loopback TCP port."""

    def __init__(self, transport: str) -> None:
        self.answer: Answer = lambda stream: b"stream: OK\0"
        self.limit: int | None = None  # StreamMaxLength: past it, answer and hang up
        self.pong = b"PONG\0"
        self.hang = threading.Event()  # set: take the command, then say nothing
        self.received = Received()
        self._dir = Path(tempfile.mkdtemp(prefix="mf-fakeclamd-"))  # short: unix path < 108
        handler = self._handler()
        if transport == "unix":
            path = self._dir / "clamd.sock"
            self.server: socketserver.BaseServer = socketserver.ThreadingUnixStreamServer(
                str(path), handler
            )
            self.url = f"unix://{path}"
        else:
            self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
            self.url = f"tcp://127.0.0.1:{self.server.server_address[1]}"
        self.server.daemon_threads = True  # type: ignore[attr-defined]
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.hang.clear()
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _handler(self) -> type[socketserver.BaseRequestHandler]:
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                conn.settimeout(10)
                stream = conn.makefile("rb")
                command = _read_until_nul(stream)
                fake.received.commands.append(command)
                if fake.hang.is_set():
                    while stream.read(4096):  # swallow everything until the client gives up
                        pass
                    return
                if command == b"zPING":
                    conn.sendall(fake.pong)
                elif command == b"zINSTREAM":
                    fake._instream(conn, stream)

        return Handler

    def _instream(self, conn: socket.socket, stream: Any) -> None:
        data = bytearray()
        while True:
            size = struct.unpack(">I", stream.read(4))[0]
            if size == 0:
                break
            if self.limit is not None and len(data) + size > self.limit:
                # What clamd does: answer at once and close without reading the rest.
                conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                return
            self.received.chunk_sizes.append(size)
            data += stream.read(size)
        self.received.streams.append(bytes(data))
        reply = self.answer(bytes(data))
        if reply is not None:
            conn.sendall(reply)


def _read_until_nul(stream: Any) -> bytes:
    command = b""
    while not command.endswith(b"\0"):
        byte = stream.read(1)
        if not byte:
            break
        command += byte
    return command.rstrip(b"\0")


@pytest.fixture(params=["unix", "tcp"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeClamd]:
    server = FakeClamd(request.param)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def unix_fake() -> Iterator[FakeClamd]:
    server = FakeClamd("unix")
    try:
        yield server
    finally:
        server.close()


# -- verdicts ---------------------------------------------------------------------------------


def test_clean_answer_is_a_clean_verdict_naming_the_scanner(fake: FakeClamd) -> None:
    verdict = ClamdScanner(fake.url, timeout=5).scan(b"Subject: hi\r\n\r\nhello\r\n")

    assert verdict == ScanVerdict(infected=False, signature="", scanner=f"clamd {fake.url}")
    assert fake.received.commands == [b"zINSTREAM"]
    assert fake.received.streams == [b"Subject: hi\r\n\r\nhello\r\n"]


def test_found_answer_is_an_infected_verdict_with_the_signature(fake: FakeClamd) -> None:
    fake.answer = lambda stream: b"stream: Win.Test.EICAR_HDB-1 FOUND\0"

    verdict = ClamdScanner(fake.url, timeout=5).scan(b"anything")

    assert verdict.infected
    assert verdict.signature == "Win.Test.EICAR_HDB-1"
    assert verdict.scanner == f"clamd {fake.url}"


def test_answer_ending_in_a_newline_is_understood(unix_fake: FakeClamd) -> None:
    unix_fake.answer = lambda stream: b"stream: Eicar-Signature FOUND\n"
    verdict = ClamdScanner(unix_fake.url, timeout=5).scan(b"x")
    assert verdict.signature == "Eicar-Signature"


def test_data_larger_than_a_chunk_arrives_whole_in_framed_chunks(fake: FakeClamd) -> None:
    data = bytes(range(256)) * 1000  # 256 000 bytes: four chunks of 64 KiB, the last shorter

    verdict = ClamdScanner(fake.url, timeout=5).scan(data)

    assert not verdict.infected
    assert fake.received.chunk_sizes == [65536, 65536, 65536, 256_000 - 3 * 65536]
    assert fake.received.streams == [data]


def test_chunk_size_can_be_chosen(unix_fake: FakeClamd) -> None:
    ClamdScanner(unix_fake.url, timeout=5, chunk_size=1000).scan(b"a" * 2500)
    assert unix_fake.received.chunk_sizes == [1000, 1000, 500]


def test_empty_data_is_sent_as_an_empty_stream(unix_fake: FakeClamd) -> None:
    assert not ClamdScanner(unix_fake.url, timeout=5).scan(b"").infected
    assert unix_fake.received.chunk_sizes == []
    assert unix_fake.received.streams == [b""]


# -- failures ---------------------------------------------------------------------------------


def test_stream_over_the_limit_raises_a_clear_stream_too_large(fake: FakeClamd) -> None:
    fake.limit = 100_000

    with pytest.raises(StreamTooLarge) as caught:
        ClamdScanner(fake.url, timeout=5).scan(b"a" * 300_000)

    assert isinstance(caught.value, ScannerUnavailable)
    message = str(caught.value)
    assert f"(300000 bytes) is larger than clamd's StreamMaxLength at {fake.url}" in message
    assert "Raise StreamMaxLength in clamd.conf" in message


def test_other_error_answer_raises_scanner_unavailable_with_clamds_words(
    unix_fake: FakeClamd,
) -> None:
    unix_fake.answer = lambda stream: b"Can't allocate memory ERROR\0"
    with pytest.raises(
        ScannerUnavailable,
        match=re.escape(f"clamd at {unix_fake.url} could not scan the mail: Can't allocate memory"),
    ):
        ClamdScanner(unix_fake.url, timeout=5).scan(b"x")


@pytest.mark.parametrize(
    "answer", [b"PONG\0", b"stream: MAYBE\0", b"hello world\0", b"stream: FOUND\0"]
)
def test_unexpected_answer_is_a_protocol_error(unix_fake: FakeClamd, answer: bytes) -> None:
    unix_fake.answer = lambda stream: answer
    with pytest.raises(ScannerUnavailable, match="unexpected answer from clamd at"):
        ClamdScanner(unix_fake.url, timeout=5).scan(b"x")


def test_hang_up_without_an_answer_is_unavailable(fake: FakeClamd) -> None:
    fake.answer = lambda stream: None
    with pytest.raises(ScannerUnavailable, match="closed the connection without an answer"):
        ClamdScanner(fake.url, timeout=5).scan(b"x")


def test_silent_clamd_times_out(unix_fake: FakeClamd) -> None:
    unix_fake.hang.set()
    with pytest.raises(ScannerUnavailable, match=r"did not answer within 0\.3 s"):
        ClamdScanner(unix_fake.url, timeout=0.3).scan(b"x")


def test_nothing_listening_is_cannot_reach() -> None:
    url = "unix:///nonexistent/mailflow/clamd.sock"
    with pytest.raises(ScannerUnavailable, match=re.escape(f"cannot reach clamd at {url}: ")):
        ClamdScanner(url, timeout=1).scan(b"x")


def test_closed_tcp_port_is_cannot_reach() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ScannerUnavailable, match=re.escape(f"cannot reach clamd at {url}: ")):
        ClamdScanner(url, timeout=1).scan(b"x")


# -- ping ---------------------------------------------------------------------------------------


def test_ping_is_true_on_pong(fake: FakeClamd) -> None:
    assert ClamdScanner(fake.url, timeout=5).ping() is True
    assert fake.received.commands == [b"zPING"]


def test_ping_is_false_on_another_answer_or_nobody_listening(unix_fake: FakeClamd) -> None:
    unix_fake.pong = b"PANG\0"
    assert ClamdScanner(unix_fake.url, timeout=5).ping() is False
    assert ClamdScanner("unix:///nonexistent/clamd.sock", timeout=1).ping() is False


# -- URLs and settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "unix:///run/clamav/clamd.ctl",
        "tcp://clamav:3310",
        "tcp://clamav",
        "tcp://[::1]:3310",
        "tcp://127.0.0.1:3310/",
    ],
)
def test_well_formed_urls_are_accepted(url: str) -> None:
    assert ClamdScanner(url).name == f"clamd {url}"


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("http://clamav:3310", "is not a clamd address: write unix:///run/clamav/clamd.ctl"),
        ("/run/clamav/clamd.ctl", "is not a clamd address"),
        ("clamav:3310", "is not a clamd address"),
        ("unix://run/clamav/clamd.ctl", "(three slashes)"),
        ("unix:", "has no absolute socket path"),
        ("tcp://:3310", "has no host name: write e.g. tcp://clamav:3310"),
        ("tcp://clamav:port", "has an invalid port"),
        ("tcp://clamav:3310/scan", "has a path after the port"),
    ],
)
def test_wrong_url_is_refused_saying_what_to_write(url: str, hint: str, settings: Any) -> None:
    settings.MAILFLOW_ANTIVIRUS_URL = url
    with pytest.raises(ImproperlyConfigured) as caught:
        configured_scanner()
    message = str(caught.value)
    assert message.startswith(f"MAILFLOW_ANTIVIRUS_URL: {url!r}")
    assert hint in message
    assert "Leave it empty to turn antivirus off." in message


def test_antivirus_is_off_by_default() -> None:
    from django.conf import settings

    assert settings.MAILFLOW_ANTIVIRUS_URL == ""
    assert configured_scanner() is None
    assert scan_message(b"Subject: hi\r\n\r\nhello\r\n") is None


def test_configured_scanner_uses_the_settings(settings: Any) -> None:
    settings.MAILFLOW_ANTIVIRUS_URL = "tcp://clamav:3310"
    settings.MAILFLOW_ANTIVIRUS_TIMEOUT = 7.5
    scanner = configured_scanner()
    assert isinstance(scanner, ClamdScanner)
    assert (scanner.url, scanner.timeout) == ("tcp://clamav:3310", 7.5)


def test_zero_timeout_is_refused(settings: Any) -> None:
    settings.MAILFLOW_ANTIVIRUS_URL = "tcp://clamav:3310"
    settings.MAILFLOW_ANTIVIRUS_TIMEOUT = 0
    with pytest.raises(ImproperlyConfigured, match="MAILFLOW_ANTIVIRUS_TIMEOUT must be"):
        configured_scanner()


def test_scan_message_asks_the_configured_clamd(unix_fake: FakeClamd, settings: Any) -> None:
    settings.MAILFLOW_ANTIVIRUS_URL = unix_fake.url
    unix_fake.answer = lambda stream: (
        b"stream: Eicar-Signature FOUND\0" if b"evil" in stream else b"stream: OK\0"
    )

    infected = scan_message(b"Subject: x\r\n\r\nevil\r\n")
    clean = scan_message(b"Subject: x\r\n\r\nfine\r\n")

    assert infected == ScanVerdict(True, "Eicar-Signature", f"clamd {unix_fake.url}")
    assert clean == ScanVerdict(False, "", f"clamd {unix_fake.url}")


def test_scan_message_raises_when_configured_clamd_is_down(settings: Any) -> None:
    settings.MAILFLOW_ANTIVIRUS_URL = "unix:///nonexistent/mailflow/clamd.sock"
    with pytest.raises(ScannerUnavailable, match="cannot reach clamd at unix:///nonexistent"):
        scan_message(b"Subject: x\r\n\r\nhello\r\n")
