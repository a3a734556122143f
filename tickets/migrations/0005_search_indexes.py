"""Full-text search indexes for the search box (tickets/search.py), PostgreSQL only.

- tickets_message.search_document: a stored generated tsvector of subject and text (the
  first 100,000 characters: a tsvector has a size limit, and a huge mail must still be
  stored), with a GIN index. Stored rather than an expression index so that a common word
  can be checked row by row (walking tickets newest first) without re-parsing each body.
- GIN expression indexes on ticket subjects, note bodies, contact names and contact
  addresses (the @ made a space, so the name part and the domain are words). Their
  expressions are exactly what tickets/search.py asks for (SearchVector with the
  'simple' configuration); change both together.

On SQLite this migration does nothing: search falls back to substring matching there.
Adding the column rewrites tickets_message; on a large existing database run it in a
maintenance window.
"""

from django.db import migrations

FORWARD = [
    """
    ALTER TABLE tickets_message ADD COLUMN search_document tsvector
    GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, left(subject || ' ' || text, 100000))
    ) STORED
    """,
    "CREATE INDEX message_search ON tickets_message USING gin (search_document)",
    """
    CREATE INDEX ticket_subject_search ON tickets_ticket
    USING gin (to_tsvector('simple'::regconfig, COALESCE(subject, '')))
    """,
    """
    CREATE INDEX note_search ON tickets_note
    USING gin (to_tsvector('simple'::regconfig, COALESCE(body, '')))
    """,
    """
    CREATE INDEX contact_name_search ON contacts_contact
    USING gin (to_tsvector('simple'::regconfig, COALESCE(name, '')))
    """,
    """
    CREATE INDEX contactemail_address_search ON contacts_contactemail
    USING gin (to_tsvector('simple'::regconfig, COALESCE(REPLACE(address, '@', ' '), '')))
    """,
]

BACKWARD = [
    "DROP INDEX IF EXISTS contactemail_address_search",
    "DROP INDEX IF EXISTS contact_name_search",
    "DROP INDEX IF EXISTS note_search",
    "DROP INDEX IF EXISTS ticket_subject_search",
    "DROP INDEX IF EXISTS message_search",
    "ALTER TABLE tickets_message DROP COLUMN IF EXISTS search_document",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0004_ticket_viewers"),
        ("contacts", "0001_initial"),
    ]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
