"""Full-text search for the search box (tickets/search.py), PostgreSQL only.

- tickets_message.search_document and tickets_ticket.search_document: stored generated
  tsvectors (message: subject and the first 100,000 characters of the text, since a
  tsvector has a size limit and a huge mail must still be stored; ticket: its subject),
  each with a GIN index. Stored rather than expression indexes so that a common word can
  be checked row by row while walking tickets newest first, and a phrase rechecked,
  without parsing each text again.
- GIN expression indexes on note bodies, contact names and contact addresses (the @ made
  a space, so the name part and the domain are words). Their expressions are exactly what
  tickets/search.py asks for (SearchVector, 'simple' configuration); change both together.
- Statistics target 1000 (default 100) on the message, ticket and note documents: the
  planner then knows the frequency of ten times more words, and estimates a word it has
  not seen as rare (an index look-up) instead of as 0.5 % of all rows (walking every
  message newest first for a word that is not there: seconds at 3,000,000 messages).

On SQLite this migration does nothing: search falls back to substring matching there.
Adding the columns rewrites both tables; on a large existing database run it in a
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
    "ALTER TABLE tickets_message ALTER COLUMN search_document SET STATISTICS 1000",
    """
    ALTER TABLE tickets_ticket ADD COLUMN search_document tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, subject)) STORED
    """,
    "CREATE INDEX ticket_search ON tickets_ticket USING gin (search_document)",
    "ALTER TABLE tickets_ticket ALTER COLUMN search_document SET STATISTICS 1000",
    """
    CREATE INDEX note_search ON tickets_note
    USING gin (to_tsvector('simple'::regconfig, COALESCE(body, '')))
    """,
    "ALTER INDEX note_search ALTER COLUMN 1 SET STATISTICS 1000",
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
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_document",
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
