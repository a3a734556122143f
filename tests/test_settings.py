"""Settings come from the environment, with safe defaults and clear refusals."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARS}
    clean.update({"MAILFLOW_VAR_DIR": str(tmp_path / "var"), **env})
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=clean,
        cwd=tmp_path,  # no .env here: only what the test passes counts
        capture_output=True,
        text=True,
        timeout=120,
    )


_SETTINGS_VARS = {
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "CELERY_BROKER_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests while Chromium runs
}

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "help.example.com",
    "DATABASE_URL": "postgres://mailflow@db.example.com:5432/mailflow",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    "MAILFLOW_ENCRYPTION_KEYS": "kXK9x0c9nq3w1H6yZ6V3tq1xq0u8m2b4c6d8e0f2g4I=",
}


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_without_secret_key_is_refused_with_a_fix(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off" in result.stderr


def test_local_use_generates_and_keeps_a_secret_key(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _manage("shell", "-v", "0", "-c", code, env={"DEBUG": "1"}, tmp_path=tmp_path)
    second = _manage("shell", "-v", "0", "-c", code, env={"DEBUG": "1"}, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "var" / "secret_key").read_text().strip()
    assert len(key) >= 50
    assert first.stdout.strip() == second.stdout.strip() == key
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_default_is_sqlite_and_a_serverless_broker(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.CELERY_BROKER_URL)"
    )
    result = _manage("shell", "-v", "0", "-c", code, env={"DEBUG": "1"}, tmp_path=tmp_path)
    engine, name, broker = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "var" / "mailflow.sqlite3")
    assert broker == "filesystem://"


@pytest.mark.django_db
def test_migrations_match_the_models() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_healthz_reports_database_ok(client: object, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
