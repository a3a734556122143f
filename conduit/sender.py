"""Handing spooled mail to the destinations: several connections per server at once, each
reused for many messages (``conduit.smtp``), and the server's answer kept for every message.

The spooler (``conduit.spool``) picks the messages and records what happened; this module
only sends, in an asyncio event loop that pauses while the caller records results, so
all database work stays plain synchronous code in the caller's thread and transaction. Each
result is recorded before its connection takes the next message: a crash resends at most
the messages in flight, one per connection.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
from pathlib import Path

from django.utils import timezone

from conduit.smtp import (
    BROKEN,
    Connection,
    Server,
    SmtpProblem,
    answer_of,
    enhanced_status,
    reply_line,
)


class Outcome(StrEnum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    NOT_TRIED = "not_tried"  # the round ran out of time before this message's turn


def outcome_of(code: int | None) -> Outcome:
    """What an SMTP reply means for a message: 2xx the server took it; 5xx it never will;
    4xx, no answer at all (connection refused or dropped, a timeout) or anything out of
    turn: try again later."""
    if code is not None and 200 <= code < 300:
        return Outcome.SENT
    if code is not None and 500 <= code < 600:
        return Outcome.FAILED
    return Outcome.DEFERRED


@dataclass(frozen=True)
class Envelope:
    """One message to hand over: who it is from and to (SMTP envelope), and its bytes."""

    pk: int
    sender: str
    recipients: tuple[str, ...]
    path: Path
    size: int


@dataclass(frozen=True)
class Result:
    """What happened to one message on one attempt."""

    pk: int
    outcome: Outcome
    server: str
    started_at: datetime
    finished_at: datetime
    code: int | None = None
    text: str = ""
    refused: dict[str, str] = field(default_factory=dict)  # recipient → the server's answer

    @property
    def status(self) -> str:
        return enhanced_status(self.text)

    @property
    def reason(self) -> str:
        return reply_line(self.code, self.text)


def _result(
    pk: int,
    server: str,
    started_at: datetime,
    outcome: Outcome,
    code: int | None,
    text: str,
    refused: dict[str, str] | None = None,
) -> Result:
    return Result(pk, outcome, server, started_at, timezone.now(), code, text, refused or {})


@dataclass
class _Destination:
    """The messages waiting for one server in this round, shared by its connections."""

    server: Server
    pending: deque[Envelope]
    connections: list[Connection] = field(default_factory=list)
    down: SmtpProblem | None = None


class _Handoff:
    """Results waiting to be recorded, and how many connections are still busy (not
    waiting for a record), so that a group is recorded once every busy connection reported
    or a moment passed: larger groups, fewer transactions."""

    GATHER_SECONDS = 0.01

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ready: list[tuple[Result, asyncio.Future[None] | None]] = []
        self.busy = 0
        self.news = asyncio.Event()

    async def report(self, result: Result) -> None:
        recorded = self.loop.create_future()
        self.ready.append((result, recorded))
        self.busy -= 1
        self.news.set()
        try:
            await recorded
        finally:
            self.busy += 1

    async def gathered(self) -> None:
        """Until there is something to record (or the sending is over)."""
        await self.news.wait()
        self.news.clear()
        deadline = self.loop.time() + self.GATHER_SECONDS
        while self.busy > 0 and self.loop.time() < deadline:
            try:
                await asyncio.wait_for(self.news.wait(), deadline - self.loop.time())
            except TimeoutError:
                return
            self.news.clear()


async def _work(dest: _Destination, handoff: _Handoff, stop_at: float) -> None:
    """One connection's share of a destination's messages, one after the other."""
    connection = Connection(dest.server)
    dest.connections.append(connection)
    try:
        while dest.pending and time.monotonic() < stop_at:
            envelope = dest.pending.popleft()
            result = partial(_result, envelope.pk, dest.server.label, timezone.now())
            raw = b""
            if dest.server.max_message_bytes and envelope.size > dest.server.max_message_bytes:
                outcome = result(
                    Outcome.FAILED,
                    None,
                    f"The mail is {envelope.size:,} bytes; {dest.server.name} takes at most "
                    f"{dest.server.max_message_bytes:,} (the destination's size limit)",
                )
            elif dest.down is not None:
                outcome = result(Outcome.DEFERRED, dest.down.code, str(dest.down))
            else:
                try:
                    raw = envelope.path.read_bytes()
                except OSError as exc:
                    outcome = result(Outcome.FAILED, None, f"The spool file cannot be read: {exc}")
                else:
                    outcome = await _attempt(dest, connection, envelope, raw, result)
            if outcome.outcome is Outcome.NOT_TRIED:
                dest.pending.appendleft(envelope)
                return  # another connection to this server carries on
            await handoff.report(outcome)
    finally:
        handoff.busy -= 1
        await connection.close()


async def _attempt(
    dest: _Destination,
    connection: Connection,
    envelope: Envelope,
    raw: bytes,
    result: Callable[..., Result],
) -> Result:
    if not connection.is_open:
        try:
            await connection.open()
        except SmtpProblem as exc:
            if any(other.is_open for other in dest.connections):
                return result(Outcome.NOT_TRIED, None, "")  # a limit on connections: fine
            dest.down = exc  # the rest of this round's messages wait without connecting
            return result(Outcome.DEFERRED, exc.code, str(exc))
    limit = connection.size_limit
    if limit and len(raw) > limit:
        return result(
            Outcome.FAILED,
            None,
            f"The mail is {len(raw):,} bytes; {dest.server.host} takes at most {limit:,} "
            "(the server's SIZE limit)",
        )
    try:
        code, text, refused = await connection.send(envelope.sender, envelope.recipients, raw)
    except BROKEN as exc:
        await connection.close()
        return result(Outcome.DEFERRED, None, f"Connection lost while sending: {answer_of(exc)[1]}")
    if not connection.is_open:
        await connection.close()  # the server hung up after answering (421)
    return result(outcome_of(code), code, text, refused=refused)


class _Stopped(Exception):
    """Recording failed: the connections stop."""


def deliver(
    jobs: Sequence[tuple[Server, Sequence[Envelope]]],
    record: Callable[[list[Result]], None],
    *,
    seconds: float,
) -> None:
    """Send every envelope to its server, ``server.concurrency`` connections per server at
    once, and call ``record`` with the results as they come (several at a time when they
    come together). No message is started after ``seconds``: those come back as NOT_TRIED.
    An exception from ``record`` stops the sending and is raised here.

    The event loop runs in steps on this thread and is paused while ``record`` runs, so
    ``record`` may use the database like any synchronous code (no async context, no second
    thread or connection), and a connection waits for its result to be recorded before it
    takes its next message."""
    loop = asyncio.new_event_loop()
    handoff = _Handoff(loop)
    ready = handoff.ready
    stop_at = time.monotonic() + seconds

    async def main() -> None:
        destinations = [_Destination(server, deque(envelopes)) for server, envelopes in jobs]
        workers = [
            _work(dest, handoff, stop_at)
            for dest in destinations
            for _ in range(max(1, min(dest.server.concurrency, len(dest.pending))))
        ]
        handoff.busy = len(workers)
        try:
            outcomes = await asyncio.gather(*workers, return_exceptions=True)
            for dest in destinations:  # what nobody got to before the time ran out
                for envelope in dest.pending:
                    now = timezone.now()
                    ready.append((Result(envelope.pk, Outcome.NOT_TRIED, "", now, now), None))
        finally:
            handoff.news.set()
        crashed = [e for e in outcomes if isinstance(e, BaseException)]
        real = [e for e in crashed if not isinstance(e, _Stopped)]
        if real:
            raise real[0]

    failure: BaseException | None = None
    try:
        sending = loop.create_task(main())
        while not (sending.done() and not ready):
            if not ready:
                loop.run_until_complete(handoff.gathered())
                continue
            batch, ready[:] = list(ready), []
            if failure is None:
                try:
                    record([result for result, _ in batch])
                except BaseException as exc:  # noqa: BLE001 - raised below, once sending stopped
                    failure = exc
            for _, recorded in batch:
                if recorded is not None and not recorded.done():
                    if failure is None:
                        recorded.set_result(None)
                    else:
                        recorded.set_exception(_Stopped())
        if failure is not None:
            raise failure
        sending.result()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
