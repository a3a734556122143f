"""A throwaway Dovecot (Debian's dovecot-imapd + dovecot-pop3d) on loopback for the tests.

Set up like ../shared/tools/dovecot-up.sh: a passwd-file user with a plain-text password
(so APOP works), Maildir storage, IMAP and POP3 listeners on free loopback ports, plus
IMAPS/POP3S and STARTTLS with a self-signed certificate made here.
"""

from __future__ import annotations

import datetime
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "mailflow"
PASSWORD = "s3cret-mail"


def dovecot_missing_reason() -> str | None:
    """Why a Dovecot cannot be started here, or None when it can."""
    if shutil.which("dovecot") is None:
        return (
            "needs Dovecot: apt-get install dovecot-imapd dovecot-pop3d (bash .ci/run installs it)"
        )
    if os.geteuid() != 0:
        return "needs root to start Dovecot as its mail user"
    try:
        pwd.getpwnam("dovenull")
    except KeyError:
        return "Dovecot's dovenull user is missing: reinstall dovecot-core"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _self_signed(cert: Path, key: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)


class Dovecot:
    """One Dovecot instance with one user; mail is put in place by writing Maildir files."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mf-dovecot-"))
        self.root.chmod(0o755)  # the auth process (user dovecot) reads the passwd file
        self.ports = {name: _free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
        entry = pwd.getpwnam("dovenull")
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.home = self.root / "mail" / USER
        self.maildir = self.home / "Maildir"
        self._write_config()

    # -- life cycle ---------------------------------------------------------------------------

    def _write_config(self) -> None:
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir()
        _self_signed(self.root / "cert.pem", self.root / "key.pem")
        (self.root / "passwd").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{self.uid}:{self.gid}::{self.home}\n"
        )
        (self.root / "dovecot.conf").write_text(
            f"""
base_dir = {self.root}/run
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.root}/cert.pem
ssl_key = <{self.root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login apop
mail_location = maildir:~/Maildir
# Throwaway mail store: no fsync, so a loaded CI disk does not slow every command.
mail_fsync = never
log_path = {self.root}/dovecot.log
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.ports["imap"]}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ports["imaps"]}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.ports["pop3"]}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.ports["pop3s"]}
    ssl = yes
  }}
}}
pop3_uidl_format = %08Xu%08Xv
first_valid_uid = 1
first_valid_gid = 1
mail_max_userip_connections = 100
# Stricter than Dovecot's default (64k), as some servers are: commands must stay short.
imap_max_line_length = 4k
# Answer failed logins at once; the default 2 s delay only slows the tests.
auth_failure_delay = 0
"""
        )
        self._chown()

    def _chown(self) -> None:
        for path in [self.root / "mail", *(self.root / "mail").rglob("*")]:
            os.chown(path, self.uid, self.gid)

    @property
    def pidfile(self) -> Path:
        return self.root / "run" / "master.pid"

    def start(self) -> None:
        # The daemon keeps inherited pipes open: send its output to a file, not a pipe.
        with (self.root / "start.log").open("wb") as out:
            result = subprocess.run(
                ["dovecot", "-c", str(self.root / "dovecot.conf")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=30,
            )
        if result.returncode != 0:
            raise RuntimeError(
                "Dovecot refused to start: " + (self.root / "start.log").read_text(errors="replace")
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if all(self._listening(port) for port in self.ports.values()):
                return
            time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start; log:\n{self.log()}")

    @staticmethod
    def _alive(pid: int) -> bool:
        """Running, and not a zombie waiting for init to reap it."""
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")

    def _processes(self) -> list[int]:
        """Every process of this instance: the master and its services work in base_dir, mail
        sessions in the user's home, both under root (orphans are found this way too)."""
        run = str(self.root)
        pids = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if cwd == run or cwd.startswith(run + "/"):
                pids.append(int(proc.name))
        return pids

    def stop(self) -> None:
        """Stop the whole server at once: sessions in progress are cut, as in a crash."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            alive = [pid for pid in self._processes() if self._alive(pid)]
            if not alive:
                break
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)  # a graceful stop waits seconds for children
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        self.pidfile.unlink(missing_ok=True)  # a zombie master would look alive to a restart
        while any(self._listening(port) for port in self.ports.values()):
            time.sleep(0.05)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @staticmethod
    def _listening(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    # -- the mailbox ---------------------------------------------------------------------------

    def folder_path(self, folder: str = "INBOX") -> Path:
        return self.maildir if folder == "INBOX" else self.maildir / f".{folder}"

    def create_folder(self, folder: str) -> None:
        path = self.folder_path(folder)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        (path / "maildirfolder").touch()
        subscriptions = self.maildir / "subscriptions"
        names = set(subscriptions.read_text().split()) if subscriptions.exists() else set()
        subscriptions.write_text("\n".join(sorted(names | {folder})) + "\n")
        self._chown()

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put one message in a folder as a delivery agent would (tmp/ then rename into new/)."""
        path = self.folder_path(folder)
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.mailflow-test"
        tmp = path / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, path / "new" / name)

    def count(self, folder: str = "INBOX") -> int:
        path = self.folder_path(folder)
        return sum(1 for sub in ("cur", "new") for _ in (path / sub).iterdir())

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        path = self.folder_path(folder)
        return [f.read_bytes() for sub in ("cur", "new") for f in sorted((path / sub).iterdir())]


def sample_mail(index: int, *, size: int = 0, subject: str | None = None) -> bytes:
    """A plain customer mail with a unique Message-ID; ``size`` pads the body to about that."""
    body = f"Hello, this is customer message number {index}.\r\nPlease help.\r\n"
    if size > len(body):
        line = "x" * 76 + "\r\n"
        body += line * ((size - len(body)) // len(line) + 1)
    return (
        f"From: Customer {index} <customer{index}@example.net>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: {subject or f'Question {index}'}\r\n"
        f"Date: Mon, 23 Nov 2026 10:{index % 60:02d}:00 +0000\r\n"
        f"Message-ID: <msg-{index}-{uuid.uuid4().hex[:8]}@example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n" + body
    ).encode()
