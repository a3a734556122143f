"""`manage.py parse_email`: one JSON line per file, never a traceback, non-zero only when a file
could not be read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parent.parent
MAIL_DIR = Path(__file__).parent / "data" / "mail"
KEYS = {
    *("file", "message_id", "from", "to", "cc", "reply_to", "subject", "date", "in_reply_to"),
    *("references", "text", "html", "attachments", "priority", "auto_submitted"),
    *("delivery_report", "defects"),
}
ATTACHMENT_KEYS = {"filename", "content_type", "size", "inline", "content_id", "sha256"}
ADDRESS_KEYS = {"name", "address"}


def _call(*args: str) -> str:
    out = StringIO()
    call_command("parse_email", *args, stdout=out)
    return out.getvalue()


def _check_shape(line: dict[str, object]) -> None:
    assert set(line) == KEYS
    assert line["from"] is None or set(line["from"]) == ADDRESS_KEYS  # type: ignore[arg-type]
    for field in ("to", "cc", "reply_to"):
        assert all(set(item) == ADDRESS_KEYS for item in line[field])  # type: ignore[attr-defined]
    assert all(set(item) == ATTACHMENT_KEYS for item in line["attachments"])  # type: ignore[attr-defined]
    assert line["priority"] in {"low", "normal", "high", "urgent"}


def test_json_output_has_one_line_per_file_with_exactly_the_documented_keys() -> None:
    files = [str(path) for path in sorted(MAIL_DIR.glob("*.eml"))]
    lines = [json.loads(line) for line in _call(*files, "--json").splitlines()]
    assert [line["file"] for line in lines] == files
    for line in lines:
        _check_shape(line)


def test_json_output_describes_the_message() -> None:
    (text,) = _call(str(MAIL_DIR / "dsn_rfc3464.eml"), "--json").splitlines()
    line = json.loads(text)
    assert line["from"] == {
        "name": "Mail Delivery System",
        "address": "MAILER-DAEMON@mx.helpdesk.example",
    }
    assert line["subject"] == "Undelivered Mail Returned to Sender"
    assert line["date"] == "2024-03-05T09:15:00+01:00"
    assert line["delivery_report"] is True and line["auto_submitted"] is True
    assert [item["content_type"] for item in line["attachments"]] == [
        "message/delivery-status",
        "message/rfc822",
    ]


def test_garbage_and_empty_files_yield_lines_with_defects_and_success() -> None:
    files = [str(MAIL_DIR / "garbage_bytes.eml"), str(MAIL_DIR / "empty.eml")]
    lines = [json.loads(line) for line in _call(*files, "--json").splitlines()]
    assert len(lines) == 2
    assert all(line["defects"] and line["from"] is None for line in lines)


def test_unreadable_files_yield_lines_and_make_the_command_fail_at_the_end(
    tmp_path: Path,
) -> None:
    out = StringIO()
    files = [str(tmp_path / "missing.eml"), str(tmp_path), str(MAIL_DIR / "plain_ascii.eml")]
    with pytest.raises(CommandError, match="2 file"):
        call_command("parse_email", *files, "--json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["file"] for line in lines] == files
    assert lines[0]["defects"] == ["cannot read file: No such file or directory"]
    assert lines[1]["defects"] == ["cannot read file: Is a directory"]
    assert lines[2]["subject"] == "Printer on floor 3 is jammed"
    for line in lines:
        _check_shape(line)


def test_summary_without_json_is_readable() -> None:
    text = _call(str(MAIL_DIR / "outlook_winmail_dat.eml"))
    assert "From:     Miller, Sam <sam.miller@corp.example>" in text
    assert "Subject:  Quarterly figures" in text
    assert "Attached: Quarterly figures.pdf (application/pdf" in text


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "parse_email", *args],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_subprocess_prints_one_json_line_per_file_and_exits_zero() -> None:
    files = [str(MAIL_DIR / name) for name in ("plain_ascii.eml", "garbage_bytes.eml")]
    result = _run(*files, "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    for line in lines:
        _check_shape(line)


def test_subprocess_exits_non_zero_for_an_unreadable_file_without_a_traceback(
    tmp_path: Path,
) -> None:
    files = [str(MAIL_DIR / "plain_ascii.eml"), str(tmp_path / "nope.eml")]
    result = _run(*files, "--json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stdout.splitlines()) == 2
