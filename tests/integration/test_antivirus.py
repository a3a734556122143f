"""Scanning mail with a real clamd: infected found by name, clean passes, failures are loud."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from conduit.antivirus import ClamdScanner, ScannerUnavailable, StreamTooLarge, scan_message
from tests.integration.clamd import (
    EICAR_SIGNATURE,
    MARKER,
    MARKER_SIGNATURE,
    STREAM_MAX_BYTES,
    Clamd,
    clamd_missing_reason,
    eicar,
)

pytestmark = [pytest.mark.integration]

TRANSPORTS = ["unix", "tcp"]


def _start_clamd() -> Clamd:
    reason = clamd_missing_reason()
    if reason:
        pytest.skip(reason)
    server = Clamd()
    try:
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server


@pytest.fixture(scope="module")
def clamd() -> Iterator[Clamd]:
    """One clamd for the module: it starts in well under a second, but there is no need."""
    server = _start_clamd()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(params=TRANSPORTS)
def scanner(request: pytest.FixtureRequest, clamd: Clamd) -> ClamdScanner:
    url = clamd.unix_url if request.param == "unix" else clamd.tcp_url
    return ClamdScanner(url, timeout=10)


def _mail(
    *, attachment: bytes | None = None, filename: str = "invoice.pdf", text: str = ""
) -> bytes:
    message = EmailMessage()
    message["From"] = "Customer <customer@example.net>"
    message["To"] = "support@example.com"
    message["Subject"] = "Please see the attached file"
    message["Message-ID"] = "<av-test@example.net>"
    message.set_content(text or "Hello,\n\nthe file you asked for is attached.\n")
    if attachment is not None:
        message.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename=filename
        )
    return message.as_bytes()


def test_eicar_attachment_in_a_mime_mail_is_found_by_name(scanner: ClamdScanner) -> None:
    raw = _mail(attachment=eicar(), filename="eicar.com")
    assert eicar() not in raw  # base64 in the mail: clamd must decode the MIME part to see it

    verdict = scanner.scan(raw)

    assert verdict.infected
    assert verdict.signature == f"{EICAR_SIGNATURE}.UNOFFICIAL"
    assert verdict.scanner == f"clamd {scanner.url}"


def test_body_signature_in_the_text_is_found(scanner: ClamdScanner) -> None:
    verdict = scanner.scan(_mail(text=f"Look: {MARKER.decode()}\n"))
    assert verdict.infected
    assert verdict.signature == f"{MARKER_SIGNATURE}.UNOFFICIAL"


def test_clean_mail_with_an_attachment_passes(scanner: ClamdScanner) -> None:
    verdict = scanner.scan(_mail(attachment=b"%PDF-1.4 harmless\n" * 1000))
    assert verdict.infected is False
    assert verdict.signature == ""
    assert verdict.scanner == f"clamd {scanner.url}"


def test_mail_just_under_stream_max_length_is_scanned(scanner: ClamdScanner) -> None:
    # Sixteen chunks: the signature at the very end is still seen, so the stream arrived whole.
    padding = b"x" * (STREAM_MAX_BYTES - 4096)
    verdict = scanner.scan(padding + MARKER)
    assert verdict.infected
    assert verdict.signature == f"{MARKER_SIGNATURE}.UNOFFICIAL"


def test_mail_larger_than_stream_max_length_is_refused_clearly(scanner: ClamdScanner) -> None:
    raw = _mail(attachment=b"\0" * (2 * STREAM_MAX_BYTES))

    with pytest.raises(StreamTooLarge) as caught:
        scanner.scan(raw)

    assert isinstance(caught.value, ScannerUnavailable)  # the route step keeps it stored
    message = str(caught.value)
    assert f"({len(raw)} bytes) is larger than clamd's StreamMaxLength at {scanner.url}" in message
    assert "Raise StreamMaxLength in clamd.conf" in message
    # The connection was torn down cleanly: the next scan works.
    assert scanner.scan(_mail()).infected is False


def test_ping_answers_while_clamd_runs(scanner: ClamdScanner) -> None:
    assert scanner.ping() is True


def test_scan_message_uses_the_configured_clamd(clamd: Clamd, settings: Any) -> None:
    settings.MAILFLOW_ANTIVIRUS_URL = clamd.unix_url

    verdict = scan_message(_mail(attachment=eicar(), filename="eicar.com"))

    assert verdict is not None and verdict.infected
    assert verdict.signature == f"{EICAR_SIGNATURE}.UNOFFICIAL"
    clean = scan_message(_mail())
    assert clean is not None and not clean.infected


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stopped_clamd_is_reported_as_unreachable(transport: str, settings: Any) -> None:
    server = _start_clamd()
    try:
        url = server.unix_url if transport == "unix" else server.tcp_url
        settings.MAILFLOW_ANTIVIRUS_URL = url
        assert ClamdScanner(url, timeout=10).ping()
        server.stop()

        assert ClamdScanner(url, timeout=10).ping() is False
        with pytest.raises(ScannerUnavailable, match=re.escape(f"cannot reach clamd at {url}: ")):
            scan_message(_mail())
    finally:
        server.destroy()


@pytest.mark.django_db
def test_infected_mail_is_quarantined_not_routed(clamd: Clamd, settings: Any) -> None:
    from django.db import transaction

    from conduit.models import InboundMessage
    from conduit.store import store_raw
    from routing.services import route_inbound
    from tickets.models import Ticket

    settings.MAILFLOW_ANTIVIRUS_URL = clamd.unix_url
    with transaction.atomic():
        infected = store_raw(_mail(attachment=eicar()), origin="test").inbound
        clean = store_raw(_mail(attachment=b"just a text file\n"), origin="test")
    assert route_inbound(infected.pk).ticket_id is None
    assert route_inbound(clean.inbound.pk).ticket_id is not None
    infected.refresh_from_db()
    assert infected.state == InboundMessage.State.QUARANTINED
    assert "Virus found by clamd" in infected.error and "EICAR" in infected.error
    assert Ticket.objects.count() == 1
