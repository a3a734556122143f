"""Indexes for ticket lists at a million tickets; PostgreSQL only (on SQLite this
migration does nothing).

ticket_open_box / ticket_open_owner: partial indexes on the tickets that are not closed
and not in the trash, in the lists' default order (most urgent first, then the longest
waiting). A ticketbox's list, My Tickets, their counts and the sidebar's open counts read
these small indexes instead of every ticket the ticketbox or agent ever had (the owner's
index carries the ticketbox, so the access check needs no table rows either).

ticket_unowned_box: a ticketbox's tickets nobody owns (the "Owner: nobody" filter, with a
priority or newest first): counted and paged without reading the ticketbox's other
hundreds of thousands of tickets.

ticket_box_sorted: the default order over every status, for a ticketbox's "all statuses"
list (hundreds of thousands of tickets in a big ticketbox: sorting them all for one page
takes a quarter of a second). Other sort orders of such a list still sort every row.
"""

from django.db import migrations

FORWARD = [
    """
    CREATE INDEX ticket_open_box ON tickets_ticket
    (ticketbox_id, priority DESC, last_customer_message_at, id DESC)
    WHERE status <> 'closed' AND deleted_at IS NULL
    """,
    """
    CREATE INDEX ticket_open_owner ON tickets_ticket
    (owner_id, priority DESC, last_customer_message_at, id DESC) INCLUDE (ticketbox_id)
    WHERE status <> 'closed' AND deleted_at IS NULL
    """,
    """
    CREATE INDEX ticket_unowned_box ON tickets_ticket (ticketbox_id, priority, created_at)
    WHERE owner_id IS NULL AND deleted_at IS NULL
    """,
    """
    CREATE INDEX ticket_box_sorted ON tickets_ticket
    (ticketbox_id, priority DESC, last_customer_message_at, id DESC)
    WHERE deleted_at IS NULL
    """,
]

BACKWARD = [
    "DROP INDEX IF EXISTS ticket_box_sorted",
    "DROP INDEX IF EXISTS ticket_unowned_box",
    "DROP INDEX IF EXISTS ticket_open_owner",
    "DROP INDEX IF EXISTS ticket_open_box",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_merged_into")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
