"""A real SMTP server on loopback (aiosmtpd in a thread) that tests steer: login with PLAIN,
LOGIN or CRAM-MD5 checked by the server, STARTTLS or implicit TLS with a self-signed
certificate made at test time, scripted answers (421, 451, 550…), a dropped connection after
DATA, a SIZE limit, and being down (nothing listening on its port) then up again.

``python -m tests.integration.smtp PORT [DELAY]`` runs a plain sink in a process of its own
(for the spool benchmark), printing how many messages it took when stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import signal
import ssl
import sys
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, auth_mechanism

from tests.integration.dovecot import _free_port as free_port
from tests.integration.dovecot import _self_signed

# aiosmtpd logs every command at INFO.
logging.getLogger("mail.log").setLevel(logging.ERROR)

USER = "relay-user"
PASSWORD = "relay-pässword-1"
_MESSAGE_ID = re.compile(rb"^message-id:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


@cache
def certificate_files() -> tuple[str, str]:
    """A self-signed certificate and key for localhost (PEM files), made once."""
    folder = Path(tempfile.mkdtemp(prefix="mf-smtp-tls-"))
    cert, key = folder / "cert.pem", folder / "key.pem"
    _self_signed(cert, key)
    return str(cert), str(key)


def _server_tls() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate_files())
    return context


@dataclass(frozen=True)
class Received:
    """A message the server accepted (or took and then hung up on, for drop-after-DATA)."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    message_id: str
    mail_options: list[str]
    login: str | None
    tls: bool


@dataclass
class SmtpServer:
    """Steer it with the attributes; read what happened in ``received``, ``logins`` and
    ``connections``. ``security`` is "none", "starttls" (required before MAIL) or "tls"."""

    security: str = "none"
    auth: str | None = None  # "PLAIN", "LOGIN" or "CRAM-MD5": offered alone and required
    size_limit: int | None = None
    delay: float = 0.0  # seconds before taking a message (after its DATA)
    answer_delay: float = 0.0  # seconds between taking a message and saying so
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)  # (mechanism, user)
    connections: int = 0
    refused_recipients: dict[str, str] = field(default_factory=dict)  # address → reply
    drops_after_data: int = 0  # take the next N messages, then hang up without answering
    _script: deque[tuple[str, str]] = field(default_factory=deque)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_next(self, command: str, reply: str, times: int = 1) -> None:
        """Answer the next ``times`` MAIL / RCPT / DATA commands with ``reply``."""
        self._script.extend([(command.upper(), reply)] * times)

    def scripted(self, command: str) -> str | None:
        with self._lock:
            if self._script and self._script[0][0] == command:
                return self._script.popleft()[1]
        return None

    @property
    def message_ids(self) -> list[str]:
        return [r.message_id for r in self.received]

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "server_hostname": "mx.test.example",
            "data_size_limit": self.size_limit,
            "auth_require_tls": self.security == "starttls",
            "ready_timeout": 10.0,
        }
        if self.auth:
            others = {"PLAIN", "LOGIN", "CRAM-MD5"} - {self.auth}
            kwargs.update(
                auth_required=True,
                authenticator=self._authenticate,
                auth_exclude_mechanism=sorted(others),
            )
        if self.security == "starttls":
            kwargs.update(tls_context=_server_tls(), require_starttls=True)
        elif self.security == "tls":
            kwargs["ssl_context"] = _server_tls()
        self._controller = _Controller(_Handler(self), **kwargs)
        self._controller.start()
        self.connections = 0  # the controller's own start-up probe does not count
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == USER
            and data.password.decode() == PASSWORD
        )
        if ok:
            self.logins.append((mechanism, USER))
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


class _Smtp(SMTP):
    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, _: Any, args: list[str]) -> AuthResult:
        """RFC 2195: the client proves it knows the password by an HMAC of our challenge."""
        owner: SmtpServer = self.event_handler.owner
        challenge = f"<{secrets.token_hex(8)}.{self.loop.time():.0f}@mx.test.example>".encode()
        answer = await self.challenge_auth(challenge)
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = bytes(answer).decode().rpartition(" ")
        expected = hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest()
        if user != USER or not hmac.compare_digest(digest, expected):
            return AuthResult(success=False, handled=False)
        owner.logins.append(("CRAM-MD5", user))
        return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))


class _Controller(Controller):
    def factory(self) -> SMTP:
        self.handler.owner.connections += 1
        with warnings.catch_warnings():
            # A login without TLS is what some tests want.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return _Smtp(self.handler, **self.SMTP_kwargs)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.owner.scripted("MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.owner.refused_recipients.get(address) or self.owner.scripted("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        owner = self.owner
        if owner.delay:
            await asyncio.sleep(owner.delay)
        reply = owner.scripted("DATA")
        if reply:
            return reply
        content = bytes(envelope.original_content or b"")
        found = _MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        owner.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=content,
                message_id=found.group(1).decode() if found else "",
                mail_options=list(envelope.mail_options),
                login=login,
                tls=server._tls_protocol is not None or owner.security == "tls",
            )
        )
        if owner.answer_delay:
            await asyncio.sleep(owner.answer_delay)
        if owner.drops_after_data > 0:
            owner.drops_after_data -= 1
            server.transport.abort()  # the mail is taken, the answer never comes
            return "250 2.0.0 never sent"
        return f"250 2.0.0 OK queued as {len(owner.received)}"


def main() -> None:
    """A sink in a process of its own: takes every message, counts them on SIGTERM."""
    port = int(sys.argv[1])
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    server = SmtpServer(port=port, delay=delay).start()
    print("ready", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    ids = server.message_ids
    print(f"received {len(ids)} messages, {len(set(ids))} distinct", flush=True)


if __name__ == "__main__":
    main()


# What the spooler sends to it -----------------------------------------------------------------


def destination_for(server: SmtpServer, **fields: Any) -> Any:
    """The default SmtpDestination pointing at ``server`` (its security and login)."""
    from conduit.models import SmtpDestination

    password = fields.pop("password", PASSWORD)
    destination = SmtpDestination(
        name=fields.pop("name", "Test relay"),
        host="127.0.0.1",
        port=server.port,
        security=server.security,
        verify_certificate=fields.pop("verify_certificate", False),
        auth=(server.auth or "none").lower(),
        username=USER if server.auth else "",
        timeout_seconds=fields.pop("timeout_seconds", 10),
        is_default=fields.pop("is_default", True),
        **fields,
    )
    if server.auth:
        destination.password = password
    destination.full_clean()
    destination.save()
    return destination


def spooled_reply(
    *, agent: Any = None, to: Sequence[str] = ("customer@example.net",), body: str = "Hello"
) -> Any:
    """An agent's reply on a new ticket, queued in the spool as the desk queues it."""
    from conduit.models import OutboundMessage
    from tests.factories import make_agent, make_ticket, make_ticketbox
    from tickets.models import TicketboxAccess
    from tickets.replies import send_reply

    agent = agent or make_agent()
    box = make_ticketbox(from_address="support@example.com")
    TicketboxAccess.objects.create(ticketbox=box, agent=agent, level=TicketboxAccess.Level.REPLY)
    ticket = make_ticket(ticketbox=box)
    message = send_reply(
        ticket, agent=agent, to=[("", a) for a in to], subject="Re: Printer on fire", body=body
    )
    return OutboundMessage.objects.get(ticket_message=message)


def bulk_spool(count: int, *, tag: str = "bulk", body_lines: int = 40) -> list[str]:
    """``count`` queued replies written straight to the spool (files, then one bulk insert),
    for the crash test and the benchmark; returns their Message-IDs."""
    import os
    import uuid

    from django.conf import settings

    from conduit.compose import Draft, compose
    from conduit.models import OutboundMessage
    from conduit.outbound import spool_path
    from conduit.store import write_media_file

    rows, ids = [], []
    text = "\n".join(f"Line {n} of the answer, with some words in it." for n in range(body_lines))
    # One composed reply; each copy differs in its Message-ID, recipient and subject.
    template = compose(
        Draft(
            from_address="support@example.com",
            from_name="Support",
            to=[("A Customer", "customer-N@example.net")],
            subject="Re: [#TB-N] Order N",
            text=f"Hello,\n\n{text}\n",
            message_id="<ID@mailflow.test>",
        )
    )
    for n in range(count):
        message_id = f"<{tag}-{n}.{uuid.uuid4().hex[:8]}@mailflow.test>"
        raw = (
            template.replace(b"<ID@mailflow.test>", message_id.encode())
            .replace(b"customer-N@", f"customer{n}@".encode())
            .replace(b"#TB-N] Order N", f"#TB-{n}] Order {n}".encode())
        )
        outbound = OutboundMessage(
            kind=OutboundMessage.Kind.REPLY,
            message_id=message_id,
            envelope_from="support@example.com",
            recipients=[f"customer{n}@example.net"],
            subject=f"Re: Order {n}",
            size=len(raw),
        )
        outbound.raw.name = spool_path(outbound, f"{uuid.uuid4().hex}.eml")
        write_media_file(outbound.raw.name, raw, durable=False)
        rows.append(outbound)
        ids.append(message_id)
    os.sync()
    OutboundMessage.objects.bulk_create(rows, batch_size=1000)
    assert settings.MEDIA_ROOT
    return ids
