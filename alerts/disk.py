"""Low disk space on the media volume and the database volume.

The database's directory is known for SQLite (the file's folder) and for PostgreSQL when
the server runs here and our role may read ``data_directory`` (superusers and members of
pg_read_all_settings); otherwise only the media volume is checked. One alert when free
space falls below MAILFLOW_DISK_FREE_MIN_PERCENT, one when it is back above it plus a
band of a tenth of the threshold (at least one point), never one per tick.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from alerts.models import Alert, AlertKind
from alerts.services import Severity, raise_alert
from alerts.watch import current_states, move

logger = logging.getLogger("mailflow.alerts")
LOW, OK = "low", "ok"
Usage = Callable[[Path], Any]  # shutil.disk_usage's shape: .total, .used, .free


def volumes() -> dict[str, Path]:
    """The folders whose volumes are watched: media, and the database when readable."""
    found = {"media": Path(settings.MEDIA_ROOT)}
    database = database_directory()
    if database is not None:
        found["database"] = database
    return found


@cache
def database_directory() -> Path | None:
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        return None if "memory" in name or not name else Path(name).resolve().parent
    if connection.vendor != "postgresql":
        return None
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            row = cursor.fetchone()
    except DatabaseError:
        logger.info("Disk check: the database's data_directory is not readable; skipped.")
        return None
    path = Path(row[0]) if row else None
    # A database on another machine: its path means nothing here.
    return path if path is not None and path.is_dir() else None


def check_disk(now: datetime, *, usage: Usage = shutil.disk_usage) -> list[Alert]:
    minimum = float(settings.MAILFLOW["DISK_FREE_MIN_PERCENT"])
    band = max(1.0, minimum / 10)
    raised = []
    watched = volumes()
    with transaction.atomic():
        states = current_states([f"disk:{name}" for name in watched], now=now)
        for name, path in watched.items():
            try:
                measured = usage(_existing(path))
            except OSError as exc:
                logger.warning("Disk check of %s (%s) failed: %s", name, path, exc)
                continue
            free = 100.0 * measured.free / measured.total if measured.total else 100.0
            key = f"disk:{name}"
            old = states[key]
            new = LOW if free < minimum or (old == LOW and free < minimum + band) else OK
            if not move(key, old=old, new=new, now=now) or (old, new) == ("", OK):
                continue
            title = (
                f"Low disk space on the {name} volume ({path}): {free:.1f} % free, "
                f"below {minimum:g} %"
                if new == LOW
                else f"Disk space on the {name} volume ({path}) is back to {free:.1f} % free"
            )
            alert = raise_alert(
                AlertKind.LOW_DISK,
                title=title,
                severity=Severity.CRITICAL if new == LOW else Severity.INFO,
                now=now,
            )
            if alert is not None:
                raised.append(alert)
    return raised


def _existing(path: Path) -> Path:
    """The folder itself, or its nearest existing parent (the volume it will be made on)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
