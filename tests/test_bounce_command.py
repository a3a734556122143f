"""python manage.py classify_bounce: one JSON line per file, a table without --json."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

DATA = Path(__file__).parent / "data" / "bounces"
KEYS = ["file", "category", "hard", "recipient", "status", "diagnostic", "original_message_id"]


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("classify_bounce", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_lines_have_exactly_the_keys() -> None:
    files = [str(DATA / "postfix-user-unknown.eml"), str(DATA / "delayed-gmail.eml")]
    out, _ = run(*files, "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [list(line) for line in lines] == [KEYS, KEYS]
    first, second = lines
    assert first["file"] == files[0]
    assert first["category"] == "user_unknown" and first["hard"] is True
    assert first["recipient"] == "dana.fischer@example.org" and first["status"] == "5.1.1"
    assert "User unknown in" in first["diagnostic"]
    assert first["original_message_id"].startswith("<mf.1001.")
    assert second["category"] == "transient" and second["hard"] is False


def test_ordinary_mail_has_category_null() -> None:
    out, _ = run(str(DATA / "human-customer-reply.eml"), "--json")
    line = json.loads(out)
    assert list(line) == KEYS
    assert line["category"] is None and line["hard"] is False and line["status"] is None


def test_unreadable_file_is_reported_after_the_others(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.eml")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(
            "classify_bounce",
            missing,
            str(DATA / "qmail-over-quota.eml"),
            "--json",
            stdout=out,
            stderr=err,
        )
    assert failure.value.returncode == 1
    assert f"{missing}: cannot read" in err.getvalue()
    assert json.loads(out.getvalue())["category"] == "mailbox_full"


def test_table_without_json() -> None:
    out, _ = run(str(DATA / "yahoo-no-account.eml"), str(DATA / "human-customer-reply.eml"))
    lines = out.splitlines()
    assert lines[0].split() == ["FILE", "CATEGORY", "HARD", "STATUS", "RECIPIENT"]
    assert "user_unknown" in lines[1] and "hard" in lines[1] and "neddy2101@yahoo.com" in lines[1]
    assert "doesn't have a yahoo.com account" in lines[2]
    assert "(not a report)" in lines[3]
