"""A throwaway clamd (Debian's clamav-daemon) on loopback for the tests, with its own signatures.

There is no network in CI, so freshclam cannot fetch ClamAV's official main/daily databases.
clamd starts happily on custom databases alone, so the instance here loads two made-up ones:

* ``mailflow.hdb``: the MD5 hash, size and a name of the EICAR test file, matched against
  every file clamd sees, including a base64 attachment it decodes out of a MIME mail;
* ``mailflow.ndb``: a body signature (hex of a marker string) matched anywhere in a file.

clamd reports custom signatures with ``.UNOFFICIAL`` appended to the name. Bytecode and PUA
signatures are off (there are none), and clamd runs in the foreground as the current user
(no ``User`` line), so it needs no root and is stopped by killing the one process.
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

EICAR_SIGNATURE = "Mailflow.Test.EICAR"
MARKER = b"MAILFLOW-ANTIVIRUS-TEST-MARKER-3c51e0"
MARKER_SIGNATURE = "Mailflow.Test.Marker"
STREAM_MAX_BYTES = 1024 * 1024  # StreamMaxLength, small so the over-size test stays quick


def eicar() -> bytes:
    """The 68-byte EICAR test file, put together here so no file of the repo carries it whole."""
    return b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-" + b"ANTIVIRUS-TEST-FILE!$H+H*"


def clamd_missing_reason() -> str | None:
    """Why a clamd cannot be started here, or None when it can."""
    if _clamd_binary() is None:
        return "needs clamd: apt-get install clamav-daemon (bash .ci/run installs it)"
    return None


def _clamd_binary() -> str | None:
    # Debian puts clamd in /usr/sbin, which is not on every user's PATH.
    return shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Clamd:
    """One clamd listening on a unix socket and a loopback TCP port."""

    def __init__(self) -> None:
        # Under /tmp, short: a unix socket path must stay below 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="mf-clamd-"))
        self.socket_path = self.root / "clamd.sock"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        database = self.root / "db"
        database.mkdir()
        sample = eicar()
        (database / "mailflow.hdb").write_text(
            f"{hashlib.md5(sample).hexdigest()}:{len(sample)}:{EICAR_SIGNATURE}\n"  # noqa: S324
        )
        # name:target type (0 = any file):offset (* = anywhere):hex of the bytes
        (database / "mailflow.ndb").write_text(f"{MARKER_SIGNATURE}:0:*:{MARKER.hex()}\n")
        (self.root / "clamd.conf").write_text(
            f"""
Foreground yes
DatabaseDirectory {database}
LocalSocket {self.socket_path}
TCPSocket {self.port}
TCPAddr 127.0.0.1
LogFile {self.root}/clamd.log
LogTime yes
PidFile {self.root}/clamd.pid
StreamMaxLength {STREAM_MAX_BYTES}
# Only our two signatures exist: no bytecode, no PUA, no official databases to check.
Bytecode no
DetectPUA no
OfficialDatabaseOnly no
# Nothing changes the databases while the tests run.
SelfCheck 0
"""
        )

    def start(self) -> None:
        binary = _clamd_binary()
        if binary is None:
            raise RuntimeError(clamd_missing_reason())
        # Output to a file, not a pipe nobody reads: a full pipe would block clamd.
        with (self.root / "stdout.log").open("wb") as out:
            self.process = subprocess.Popen(
                [binary, "--config-file", str(self.root / "clamd.conf")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"clamd exited at start; log:\n{self.log()}")
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"clamd did not answer PING within 60 s; log:\n{self.log()}")

    def ping(self) -> bool:
        """PING on the unix socket answered with PONG (raw protocol, independent of the code
        under test)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket_path))
                sock.sendall(b"zPING\0")
                return sock.recv(16) == b"PONG\0"
        except OSError:
            return False

    def stop(self) -> None:
        """Kill clamd at once, as in a crash; its socket file stays behind like after one."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        parts = []
        for name in ("stdout.log", "clamd.log"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)
