"""Trigram indexes for the contact lookup while typing an address (PostgreSQL only).

Django's ``icontains`` on PostgreSQL is ``UPPER(col::text) LIKE UPPER('%x%')``; GIN
trigram indexes on exactly those expressions answer it without reading every address.
"""

from django.db import migrations

INDEXES = [
    ("contactemail_address_trgm", "contacts_contactemail", "address"),
    ("contact_name_trgm", "contacts_contact", "name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0003_bounce_db_defaults")]

    operations = [migrations.RunPython(create, drop)]
