"""An SMTP client session to a destination: connect, greet, secure (STARTTLS or TLS), log
in with the chosen mechanism (PLAIN, LOGIN or CRAM-MD5), then one transaction per message
(MAIL, RCPT per recipient, DATA), reused for many messages. Over aiosmtplib.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import aiosmtplib

from conduit.destinations import SmtpDestination

Security = SmtpDestination.Security
Auth = SmtpDestination.Auth
_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})(?!\d)")
# What breaks a connection rather than answering a command.
BROKEN = (aiosmtplib.SMTPException, OSError, TimeoutError)


def enhanced_status(text: str) -> str:
    """The RFC 3463 status code an SMTP reply text starts with ("5.1.1"), or ''."""
    match = _ENHANCED.match(text)
    return match.group(1) if match else ""


def reply_line(code: int | None, text: str) -> str:
    """A reply as one line: "451 4.7.1 Try again later"."""
    text = " ".join(text.split())
    return f"{code} {text}" if code else text


class SmtpProblem(Exception):
    """A server could not be used (connection, TLS, greeting, login): nothing was sent."""

    def __init__(self, text: str, code: int | None = None) -> None:
        super().__init__(text)
        self.code = code


@dataclass(frozen=True)
class Server:
    """A destination's settings as plain values: the event loop never touches the ORM."""

    name: str
    host: str
    port: int
    security: str = Security.NONE
    verify_certificate: bool = True
    auth: str = Auth.NONE
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    helo_name: str = ""
    max_message_bytes: int = 0
    concurrency: int = 1

    @classmethod
    def of(cls, destination: SmtpDestination) -> Server:
        """Raises secretbox.SecretUnreadable when the password cannot be decrypted."""
        return cls(
            name=destination.name,
            host=destination.host,
            port=destination.effective_port,
            security=destination.security,
            verify_certificate=destination.verify_certificate,
            auth=destination.auth,
            username=destination.username,
            password=destination.password if destination.auth != Auth.NONE else "",
            timeout=float(destination.timeout_seconds),
            helo_name=destination.helo_name,
            max_message_bytes=destination.max_message_bytes,
            concurrency=destination.concurrency,
        )

    @property
    def label(self) -> str:
        return server_label(self.name, self.host, self.port)


def server_label(name: str, host: str, port: int) -> str:
    """How attempts name a server: "Relay (smtp.example.com:587)" (``host_of`` reads it)."""
    return f"{name} ({host}:{port})"


def host_of(label: str) -> str:
    """The host in a ``Server.label``."""
    match = re.search(r"\(([^()]*):\d+\)$", label)
    return match.group(1) if match else label


@cache
def _local_name() -> str:
    return socket.getfqdn()


def answer_of(exc: BaseException) -> tuple[int | None, str]:
    """The server's answer carried by an exception, or what went wrong without one."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code, exc.message
    return None, str(exc) or type(exc).__name__


class Connection:
    """One SMTP session to a server, opened on demand and reused for many messages."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.smtp: aiosmtplib.SMTP | None = None
        self.steps: list[str] = []

    @property
    def is_open(self) -> bool:
        return self.smtp is not None and self.smtp.is_connected

    @property
    def size_limit(self) -> int:
        """The server's SIZE (RFC 1870) limit in bytes, 0 when it names none."""
        value = self.smtp.esmtp_extensions.get("size", "") if self.smtp else ""
        return int(value) if value.strip().isdigit() else 0

    def _extension(self, name: str) -> bool:
        return self.smtp is not None and self.smtp.supports_extension(name)

    async def open(self) -> None:
        """Connect, greet, secure and log in as the destination says; raises SmtpProblem."""
        await self.close()  # what is left of a session the server ended
        s = self.server
        where = f"{s.host}:{s.port}"
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.security == Security.TLS,
            start_tls=False,
            validate_certs=s.verify_certificate,
            local_hostname=s.helo_name or _local_name(),
        )
        stage = f"Cannot connect to {where}"
        try:
            greeting = await smtp.connect()
            self.steps = [reply_line(greeting.code, greeting.message)]
            stage = f"{where} refused our greeting (EHLO)"
            await self._greet(smtp)
            if s.security == Security.STARTTLS:
                stage = f"STARTTLS with {where} failed"
                if not smtp.supports_extension("starttls"):
                    raise SmtpProblem(f"{where} does not offer STARTTLS")
                await smtp.starttls()
                await self._greet(smtp)
                self.steps.append("STARTTLS")
            if s.auth != Auth.NONE:
                stage = f"{where} refused the login of {s.username!r} with {s.auth.upper()}"
                login = {
                    Auth.PLAIN: smtp.auth_plain,
                    Auth.LOGIN: smtp.auth_login,
                    Auth.CRAM_MD5: smtp.auth_crammd5,
                }[Auth(s.auth)]
                answer = await login(s.username, s.password)
                self.steps.append(f"logged in with {s.auth.upper()}: {answer.code}")
        except SmtpProblem:
            smtp.close()
            raise
        except BROKEN as exc:
            smtp.close()
            code, text = answer_of(exc)
            raise SmtpProblem(f"{stage}: {reply_line(code, text)}", code) from exc
        self.smtp = smtp

    @staticmethod
    async def _greet(smtp: aiosmtplib.SMTP) -> None:
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            await smtp.helo()

    async def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        if smtp.is_connected:
            try:
                await smtp.quit(timeout=min(self.server.timeout, 5.0))
            except BROKEN:
                pass  # the server went away first: nothing to be polite to
        smtp.close()

    async def send(
        self, sender: str, recipients: Sequence[str], raw: bytes
    ) -> tuple[int | None, str, dict[str, str]]:
        """One SMTP transaction: MAIL, RCPT per recipient, DATA. Returns the deciding reply
        and the refused recipients; raises what breaks the connection."""
        smtp = self.smtp
        assert smtp is not None
        options, encoding = [], "ascii"
        if self._extension("size"):
            options.append(f"SIZE={len(raw)}")
        if not raw.isascii() and self._extension("8bitmime"):
            options.append("BODY=8BITMIME")
        if not all(a.isascii() for a in (sender, *recipients)):
            if not self._extension("smtputf8"):
                return None, "The server does not take international addresses (SMTPUTF8)", {}
            options.append("SMTPUTF8")
            encoding = "utf-8"
        try:
            await smtp.mail(sender, options=options, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            return exc.code, exc.message, {}
        refusals: list[aiosmtplib.SMTPRecipientRefused] = []
        accepted = 0
        for recipient in recipients:
            try:
                await smtp.rcpt(recipient, encoding=encoding)
                accepted += 1
            except aiosmtplib.SMTPRecipientRefused as exc:
                refusals.append(exc)
                if not smtp.is_connected:  # 421: the server is closing
                    return exc.code, exc.message, _refused(refusals)
        if not accepted:
            await self._reset()
            # Worth another try when any recipient was only refused for now.
            worst = next((e for e in refusals if 400 <= e.code < 500), refusals[0])
            return worst.code, worst.message, _refused(refusals)
        refused = _refused(refusals)
        try:
            reply = await smtp.data(raw)
        except aiosmtplib.SMTPDataError as exc:
            return exc.code, exc.message, refused
        return reply.code, reply.message, refused

    async def _reset(self) -> None:
        """RSET after a refused transaction, so the connection can take the next message."""
        if self.smtp is not None and self.smtp.is_connected:
            try:
                await self.smtp.rset()
            except BROKEN:
                self.smtp.close()


def _refused(refusals: list[aiosmtplib.SMTPRecipientRefused]) -> dict[str, str]:
    return {e.recipient: reply_line(e.code, e.message) for e in refusals}


def check_server(server: Server) -> str:
    """Connect, greet, secure and log in as a delivery would, then say goodbye: what the
    server answered, for the admin's "Test connection". Raises SmtpProblem."""

    async def probe() -> str:
        connection = Connection(server)
        await connection.open()
        try:
            steps = list(connection.steps)
            limit = connection.size_limit
            if limit:
                steps.append(f"SIZE limit {limit:,} bytes")
        finally:
            await connection.close()
        return f"{server.host}:{server.port}: " + "; ".join(steps)

    return asyncio.run(probe())
