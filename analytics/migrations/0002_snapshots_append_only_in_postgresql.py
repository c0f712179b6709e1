"""On PostgreSQL the database itself refuses UPDATE and DELETE of metric and follower snapshots (the models
refuse them in Python on every database; this also stops raw SQL and other clients)."""

from django.db import migrations

TABLES = ("analytics_metricsnapshot", "analytics_followersnapshot")

FUNCTION = """
CREATE OR REPLACE FUNCTION analytics_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'analytics snapshots are append-only (% on %)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):  # noqa: ANN001, ANN201, ARG001
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION analytics_refuse_change()"
        )


def backwards(apps, schema_editor):  # noqa: ANN001, ANN201, ARG001
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS analytics_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
