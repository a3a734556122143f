"""Fetching from a real Dovecot over POP3 and IMAP: nothing lost, nothing doubled."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from conduit.fetch import acquire_lease, claim_due_sources, fetch_source, release_lease
from conduit.models import InboundMessage, MailSource, SourceMessage
from conduit.store import read_raw
from tests.integration.dovecot import Dovecot, sample_mail

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MakeSource = Callable[..., MailSource]


def _stored_digests() -> set[str]:
    return {hashlib.sha256(read_raw(m)).hexdigest() for m in InboundMessage.objects.all()}


def _digests(mails: list[bytes]) -> set[str]:
    return {hashlib.sha256(m).hexdigest() for m in mails}


@pytest.mark.parametrize(
    ("protocol", "auth"),
    [("pop3", "password"), ("pop3", "apop"), ("imap", "password"), ("imap", "plain")],
)
def test_fetch_stores_every_message_once_and_deletes_it_on_the_server(
    dovecot: Dovecot, make_source: MakeSource, protocol: str, auth: str
) -> None:
    mails = [sample_mail(i) for i in range(5)]
    for mail in mails:
        dovecot.deliver(mail)
    source = make_source(protocol, auth=auth)

    report = fetch_source(source)

    assert report.ok, report.error
    assert (report.listed, report.fetched, report.deleted) == (5, 5, 5)
    assert _stored_digests() == _digests(mails)
    assert dovecot.count() == 0
    again = fetch_source(source)
    assert (again.listed, again.fetched) == (0, 0)
    assert InboundMessage.objects.count() == 5
    source.refresh_from_db()
    assert source.fetched_count == 5 and source.last_error == "" and source.last_success_at


@pytest.mark.parametrize("security", ["tls", "starttls"])
@pytest.mark.parametrize("protocol", ["pop3", "imap"])
def test_fetch_over_tls_and_starttls(
    dovecot: Dovecot, make_source: MakeSource, protocol: str, security: str
) -> None:
    dovecot.deliver(sample_mail(1))
    report = fetch_source(make_source(protocol, security=security))
    assert report.ok, report.error
    assert report.fetched == 1


def test_imap_reads_the_configured_folder_only(dovecot: Dovecot, make_source: MakeSource) -> None:
    dovecot.create_folder("Support")
    dovecot.deliver(sample_mail(1), folder="Support")
    dovecot.deliver(sample_mail(2))
    report = fetch_source(make_source("imap", folder="Support"))
    assert report.ok, report.error
    assert report.fetched == 1
    assert dovecot.count("Support") == 0
    assert dovecot.count("INBOX") == 1


def test_missing_imap_folder_is_reported_by_name(dovecot: Dovecot, make_source: MakeSource) -> None:
    report = fetch_source(make_source("imap", folder="Nowhere"))
    assert "cannot open folder 'Nowhere'" in report.error


@pytest.mark.parametrize("protocol", ["pop3", "imap"])
def test_leave_copies_keeps_mail_on_the_server_and_fetches_it_once(
    dovecot: Dovecot, make_source: MakeSource, protocol: str
) -> None:
    for i in range(3):
        dovecot.deliver(sample_mail(i))
    source = make_source(protocol, leave_copies=True)
    assert fetch_source(source).fetched == 3
    dovecot.deliver(sample_mail(9))
    second = fetch_source(source)
    assert (second.listed, second.fetched, second.deleted) == (4, 1, 0)
    assert dovecot.count() == 4
    assert InboundMessage.objects.count() == 4


@pytest.mark.parametrize("protocol", ["pop3", "imap"])
def test_copies_are_deleted_after_the_configured_days(
    dovecot: Dovecot, make_source: MakeSource, protocol: str
) -> None:
    dovecot.deliver(sample_mail(1))
    source = make_source(protocol, leave_copies=True, delete_copies_after_days=3)
    fetch_source(source)
    dovecot.deliver(sample_mail(2))
    SourceMessage.objects.update(seen_at=timezone.now() - timedelta(days=4))
    report = fetch_source(source)
    assert (report.fetched, report.deleted) == (1, 1)
    assert dovecot.count() == 1  # the new one stays for its own three days


@pytest.mark.parametrize("protocol", ["pop3", "imap"])
@pytest.mark.parametrize("delete_oversize", [False, True])
def test_oversize_mail_is_recorded_not_imported(
    dovecot: Dovecot,
    make_source: MakeSource,
    protocol: str,
    delete_oversize: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dovecot.deliver(sample_mail(1, size=200_000, subject="Huge scan"))
    dovecot.deliver(sample_mail(2))
    source = make_source(protocol, max_message_bytes=100_000, delete_oversize=delete_oversize)

    report = fetch_source(source)

    assert (report.fetched, report.oversize) == (1, 1)
    assert InboundMessage.objects.count() == 1
    record = SourceMessage.objects.get(state=SourceMessage.State.OVERSIZE)
    assert record.subject == "Huge scan"
    assert "customer1@example.net" in record.from_header
    assert record.size > 200_000
    assert "over the limit" in caplog.text and "Huge scan" in caplog.text
    assert dovecot.count() == (0 if delete_oversize else 1)
    # The next check neither imports nor reports it again.
    again = fetch_source(source)
    assert (again.fetched, again.oversize) == (0, 0)


@pytest.mark.parametrize("protocol", ["pop3", "imap"])
def test_wrong_password_is_reported_and_backs_off(
    dovecot: Dovecot, make_source: MakeSource, protocol: str
) -> None:
    dovecot.deliver(sample_mail(1))
    source = make_source(protocol, password="wrong", check_interval_seconds=60)
    report = fetch_source(source)
    assert "refused the login of 'mailflow'" in report.error
    source.refresh_from_db()
    first_delay = source.next_check_at - timezone.now()
    assert "Check user name and password" in source.last_error
    assert source.failure_count == 1
    assert timedelta(seconds=100) < first_delay <= timedelta(seconds=121)
    assert dovecot.count() == 1 and InboundMessage.objects.count() == 0


def test_back_off_grows_with_each_failure_and_resets_on_success(
    dovecot: Dovecot, make_source: MakeSource
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    source = make_source("pop3", port=closed_port, check_interval_seconds=60)
    delays = []
    for _ in range(3):
        fetch_source(source)
        source.refresh_from_db()
        delays.append(source.next_check_at - timezone.now())
    assert source.failure_count == 3
    assert delays[0] < delays[1] < delays[2] <= timedelta(hours=1)
    source.port = dovecot.ports["pop3"]
    source.save()
    assert fetch_source(source).ok
    source.refresh_from_db()
    assert source.failure_count == 0 and source.last_error == ""
    assert source.next_check_at - timezone.now() <= timedelta(seconds=60)


def test_refused_connection_is_reported(make_source: MakeSource) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    report = fetch_source(make_source("imap", port=port))
    assert "refused the connection" in report.error


def test_silent_server_times_out(make_source: MakeSource) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # accepts connections in the backlog, never greets
    try:
        source = make_source("pop3", port=listener.getsockname()[1], timeout_seconds=1)
        report = fetch_source(source)
    finally:
        listener.close()
    assert "did not answer within the timeout" in report.error


def test_tls_to_a_plain_port_fails_with_a_tls_error(
    dovecot: Dovecot, make_source: MakeSource
) -> None:
    source = make_source("imap", security="tls", port=dovecot.ports["imap"])
    report = fetch_source(source)
    assert report.error.startswith("TLS with IMAP server")


def test_untrusted_certificate_is_refused_when_checking(
    dovecot: Dovecot, make_source: MakeSource
) -> None:
    report = fetch_source(make_source("pop3", security="tls", verify_certificate=True))
    assert "TLS certificate of POP3 server" in report.error
    assert "not accepted" in report.error


@pytest.mark.parametrize("protocol", ["pop3", "imap"])
def test_server_stopped_mid_fetch_loses_and_doubles_nothing(
    dovecot: Dovecot, make_source: MakeSource, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("conduit.imap.BATCH_MESSAGES", 5)  # so the cut lands mid-download
    mails = [sample_mail(i, size=20_000) for i in range(40)]
    for mail in mails:
        dovecot.deliver(mail)
    source = make_source(protocol)

    def stop_server(done: int, total: int) -> None:
        if done == 10:
            dovecot.stop()

    report = fetch_source(source, on_progress=stop_server)

    assert report.error, "the fetch should fail when the server goes away"
    stored = InboundMessage.objects.count()
    assert 10 <= stored < 40
    assert _stored_digests() <= _digests(mails)  # whatever was stored is complete
    dovecot.start()
    final = fetch_source(source)
    assert final.ok, final.error
    assert InboundMessage.objects.count() == 40
    assert _stored_digests() == _digests(mails)
    assert dovecot.count() == 0


def test_the_same_mail_in_two_mailboxes_is_stored_once(
    dovecot: Dovecot, make_source: MakeSource
) -> None:
    mail = sample_mail(7)
    dovecot.create_folder("Sales")
    dovecot.deliver(b"Delivered-To: support@example.com\r\n" + mail)
    dovecot.deliver(b"Delivered-To: sales@example.com\r\n" + mail, folder="Sales")
    first = fetch_source(make_source("imap", name="support"))
    second = fetch_source(make_source("imap", name="sales", folder="Sales"))
    assert (first.fetched, second.fetched, second.duplicates) == (1, 0, 1)
    inbound = InboundMessage.objects.get()
    assert set(inbound.seen_as.values_list("source__name", flat=True)) == {"support", "sales"}


def test_one_fetch_per_source_at_a_time(dovecot: Dovecot, make_source: MakeSource) -> None:
    dovecot.deliver(sample_mail(1))
    source = make_source("pop3")
    holder = acquire_lease(source)
    assert holder
    assert acquire_lease(source) is None
    report = fetch_source(source)
    assert report.busy and report.fetched == 0
    release_lease(source, holder)
    assert fetch_source(source).fetched == 1


def test_lease_of_a_dead_local_fetcher_is_taken_over(make_source: MakeSource) -> None:
    source = make_source("pop3")
    MailSource.objects.filter(pk=source.pk).update(
        lease_holder=f"{socket.gethostname()}:999999:dead",
        lease_expires_at=timezone.now() + timedelta(hours=1),
    )
    assert acquire_lease(source) is not None


def test_lease_of_a_live_fetcher_elsewhere_is_respected(make_source: MakeSource) -> None:
    source = make_source("pop3")
    MailSource.objects.filter(pk=source.pk).update(
        lease_holder="other-host:1234:abc", lease_expires_at=timezone.now() + timedelta(hours=1)
    )
    assert acquire_lease(source) is None
    MailSource.objects.filter(pk=source.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert acquire_lease(source) is not None


def test_conduit_fetch_command_reports_and_fails_loudly(
    dovecot: Dovecot, make_source: MakeSource, capsys: pytest.CaptureFixture[str]
) -> None:
    dovecot.deliver(sample_mail(1))
    make_source("pop3", name="good", leave_copies=True)
    make_source("imap", name="bad", password="nope")
    with pytest.raises(CommandError, match="These sources failed: bad"):
        call_command("conduit_fetch", "--enqueue")
    out = capsys.readouterr().out
    assert "good: 1 on server, 1 fetched" in out
    assert "bad: 0 on server" in out and "FAILED" in out
    assert "Checked 2 source(s): 1 new message(s) stored" in out
    with pytest.raises(CommandError, match="No mail source named nowhere"):
        call_command("conduit_fetch", "--source", "nowhere")
    call_command("conduit_fetch", "--source", "good", "--enqueue")
    assert "good: 1 on server, 0 fetched, 0 duplicates" in capsys.readouterr().out


def test_due_sources_are_claimed_once(make_source: MakeSource) -> None:
    source = make_source("pop3")
    make_source("imap", enabled=False)
    assert claim_due_sources() == [source.pk]
    assert claim_due_sources() == []  # its next check moved on by its interval
    source.refresh_from_db()
    assert source.next_check_at > timezone.now() + timedelta(seconds=50)


def test_admin_test_connection_says_what_it_found(
    dovecot: Dovecot, make_source: MakeSource, admin_user: object
) -> None:
    from django.test import Client
    from django.urls import reverse

    dovecot.deliver(sample_mail(1))
    good = make_source("imap", name="good")
    bad = make_source("pop3", name="bad", password="wrong")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:conduit_mailsource_changelist"),
        {"action": "test_connection", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    text = " | ".join(str(m) for m in response.context["messages"])
    assert "good: connected and logged in; 1 message(s) waiting." in text
    assert "bad: POP3 server" in text and "refused the login" in text
    assert dovecot.count() == 1  # testing never fetches or deletes


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_large_mailbox_is_read_with_short_commands(
    dovecot: Dovecot, make_source: MakeSource, protocol: str
) -> None:
    # 1,200 UIDs listed one by one would be a command over the server's 4 KB line limit.
    for i in range(1200):
        dovecot.deliver(sample_mail(i))
    # The server indexes 1,200 new mails at login; on a loaded machine that takes more than
    # the default timeout. What this test checks is command length, not speed.
    report = fetch_source(make_source(protocol, timeout_seconds=120))
    assert report.ok, report.error
    assert (report.listed, report.fetched, report.deleted) == (1200, 1200, 1200)
    assert dovecot.count() == 0
