"""A covering index for the mail trend and history reports: messages by date with their
direction and ticket, so a year of mail is counted from the index alone (an index-only
scan) instead of visiting a million heap rows of message text.

On PostgreSQL: (date) INCLUDE (direction, ticket_id); SQLite has no INCLUDE, so there it is
the plain composite index, which covers the same queries.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

NAME = "report_message_date_cover"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON tickets_message (date) "
            "INCLUDE (direction, ticket_id)"
        )
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON tickets_message (date, direction, ticket_id)"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_report_export"),
        ("tickets", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
