"""Shared fixtures, service detection and the zero-skip rule of CI.

Tests that need a real server skip with a reason when it is not reachable, so `make test`
passes anywhere and says what it did not run. CI sets MAILFLOW_FORBID_SKIPS=1, which turns
any skip into a failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.db import connection

REDIS_URL = os.environ.get("MAILFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailflow "
            "(bash .ci/run does)"
        )


@pytest.fixture
def redis_url() -> str:
    """A Redis database for tests; skips when no Redis server answers."""
    parsed = urlparse(REDIS_URL)
    if not _reachable(parsed.hostname or "127.0.0.1", parsed.port or 6379):
        pytest.skip(f"needs Redis at {REDIS_URL}: start redis-server (bash .ci/run does)")
    return REDIS_URL


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw mail and attachments written by a test go to a folder of its own."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


@pytest.fixture
def admin_user(django_user_model: type) -> Iterator[object]:
    yield django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped and os.environ.get("MAILFLOW_FORBID_SKIPS"):
        terminalreporter.write_line(
            f"MAILFLOW_FORBID_SKIPS is set and {len(skipped)} test(s) were skipped: "
            "failing the run.",
            red=True,
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not os.environ.get("MAILFLOW_FORBID_SKIPS"):
        return
    if reporter.stats.get("skipped") and session.exitstatus == 0:
        session.exitstatus = 1
