"""On PostgreSQL the database itself refuses UPDATE and DELETE of archive entries, and UPDATE of archived
content (content may only be deleted, by an approved disposition; the entry keeps its hash). The models
refuse the same in Python on every database (SQLite in `make run`); this also stops raw SQL and other
clients, the admin included."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION archive_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the archive is append-only (% on %)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = (
    ("archive_archiveentry", "archive_entry_append_only", "UPDATE OR DELETE"),
    ("archive_archivecontent", "archive_content_unchanged", "UPDATE"),
)


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201, ARG001
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table, name, events in TRIGGERS:
        schema_editor.execute(
            f"CREATE TRIGGER {name} BEFORE {events} ON {table} FOR EACH ROW EXECUTE FUNCTION archive_refuse_change()"
        )


def backwards(apps, schema_editor):  # noqa: ANN001, ANN201, ARG001
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, _events in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS archive_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("archive", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
