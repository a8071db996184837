"""Every record's owner is a foreign key again, on both databases.

Migration 0005 replaced the owner foreign keys on PostgreSQL by statement-level
triggers. Each of these left records whose owner does not exist, where a
foreign key refuses them (tests/clients/test_owner_integrity.py):

- a temporary table named users_user (or clients_case) shadowed the real one
  in the trigger functions, which named their tables without a schema;
- under REPEATABLE READ, a user given a record after the deleting transaction
  began could be deleted, the trigger reading the older snapshot;
- the table's owner could DISABLE TRIGGER them, where a foreign key's own
  triggers need a superuser;
- TRUNCATE users_user CASCADE emptied the users and kept their records;
- a data-only pg_dump restored no record: the triggers could not find
  users_user under pg_dump's empty search_path, and without foreign keys
  pg_dump had no reason to load the users first.

The triggers and their functions go; the foreign keys come back as Django
creates them (PROTECT in Django, NO ACTION in the database, checked at commit),
served by the owner indexes already there: the client owner index, and
(owner, client) for matters and cases."""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OWNER_TRIGGERS = importlib.import_module("clients.migrations.0005_owner_checked_per_statement")


def owner_triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        # CASCADE: the triggers that call them go with the functions.
        cursor.execute("DROP FUNCTION clients_owner_exists() CASCADE")
        cursor.execute("DROP FUNCTION users_owner_protected() CASCADE")


def owner_triggers_create(apps, schema_editor):
    """Back to 0005: the foreign keys are already dropped by the reversed AlterField."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for statement in OWNER_TRIGGERS.CREATE:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_owner_checked_per_statement"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(owner_triggers_drop, owner_triggers_create),
        *(
            migrations.AlterField(
                model_name=model,
                name="owner",
                field=models.ForeignKey(
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name=f"owned_{model}s",
                    to=settings.AUTH_USER_MODEL,
                    db_index=model == "client",  # (owner, client) serves the others
                ),
            )
            for model in ("client", "matter", "case")
        ),
    ]
