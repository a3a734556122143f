"""Importing mail from files: .eml files, mbox files and Maildir folders (migration, replays).

Imported mail takes the same store → route path as fetched mail; importing the same
files again adds nothing.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from conduit.store import store_raw


@dataclass
class ImportReport:
    read: int = 0
    stored_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    unreadable: list[str] = field(default_factory=list)


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def iter_mail(path: Path) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of every mail under a path: Maildir, mbox, .eml, or folders of them."""
    if path.is_dir():
        if _is_maildir(path):
            box = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield f"{path}#{key}", box.get_bytes(key)
            return
        for child in sorted(path.iterdir()):
            if child.name.startswith("."):
                continue
            if child.is_dir() or child.suffix.lower() in {".eml", ".mbox", ".mbx", ""}:
                yield from iter_mail(child)
        return
    if _is_mbox(path):
        archive = mailbox.mbox(path, factory=None, create=False)
        for index, key in enumerate(archive.keys()):
            yield f"{path}#{index + 1}", archive.get_bytes(key)
        return
    yield str(path), path.read_bytes()


def import_paths(paths: list[Path]) -> ImportReport:
    """Store every mail found under the paths; each is committed on its own."""
    report = ImportReport()
    for path in paths:
        if not path.exists():
            report.unreadable.append(f"{path}: no such file or folder")
            continue
        try:
            for label, raw in iter_mail(path):
                report.read += 1
                with transaction.atomic():
                    stored = store_raw(raw, origin=f"import:{label}")
                if stored.created:
                    report.stored_ids.append(stored.inbound.pk)
                else:
                    report.duplicates += 1
        except OSError as exc:
            report.unreadable.append(f"{path}: {exc.strerror or exc}")
    return report
