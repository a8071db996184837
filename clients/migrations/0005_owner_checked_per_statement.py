"""On PostgreSQL, every record's owner is checked once per statement instead of once per row.

A foreign key checks each inserted or updated row on its own: a Transfer All
that gives 310,000 records a new owner ran 310,000 lookups of that one user at
commit, about a fifth of its time (docs/indexes.md). The owner fields stay
Django ForeignKeys with PROTECT; on PostgreSQL their database constraints give
way to triggers that keep the same guarantee:

- A statement-level trigger per table and event reads the rows the statement
  wrote (a transition table), locks their distinct owners as a foreign key's
  check does (FOR KEY SHARE: a concurrent deletion of one of them waits for
  this transaction) and then, in a statement of its own that sees a deletion
  committed meanwhile, refuses the statement if an owner is missing.
- A row trigger on users refuses the deletion of a user who still owns a
  record, as the foreign key's NO ACTION did. Under READ COMMITTED, the
  isolation level the app runs at, each side sees what the other committed.

Both raise foreign_key_violation, an IntegrityError in Django. SQLite keeps its
foreign keys (the state below says db_constraint=False; this migration leaves
SQLite's tables as they are): one writer at a time on demo-sized data, where
the per-row check costs nothing worth trading, and its checks are deferred to
commit as Django's flush needs. A later migration that rebuilds one of these
tables on SQLite would drop them: tests/clients/test_models.py checks both
databases.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OWNED = ("clients_client", "clients_matter", "clients_case")

CREATE = [
    """CREATE FUNCTION clients_owner_exists() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        missing bigint;
    BEGIN
        PERFORM 1 FROM users_user WHERE id IN (SELECT owner_id FROM changed) FOR KEY SHARE;
        SELECT owner_id INTO missing FROM (SELECT DISTINCT owner_id FROM changed) AS owners
            WHERE NOT EXISTS (SELECT 1 FROM users_user WHERE id = owners.owner_id) LIMIT 1;
        IF FOUND THEN
            RAISE foreign_key_violation USING MESSAGE = format(
                'insert or update on table "%s" violates the owner check: '
                'user %s does not exist', TG_TABLE_NAME, missing);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION users_owner_protected() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM clients_client WHERE owner_id = OLD.id)
                OR EXISTS (SELECT 1 FROM clients_matter WHERE owner_id = OLD.id)
                OR EXISTS (SELECT 1 FROM clients_case WHERE owner_id = OLD.id) THEN
            RAISE foreign_key_violation USING MESSAGE = format(
                'delete or update on table "users_user" violates the owner check: '
                'user %s still owns records', OLD.id);
        END IF;
        RETURN NULL;
    END $$""",
    *(
        f"CREATE TRIGGER {table}_owner_{event.lower()} AFTER {event} ON {table} "
        "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
        "EXECUTE FUNCTION clients_owner_exists()"
        for table in OWNED
        for event in ("INSERT", "UPDATE")
    ),
    "CREATE TRIGGER users_user_owner_delete AFTER DELETE ON users_user "
    "FOR EACH ROW EXECUTE FUNCTION users_owner_protected()",
    "CREATE TRIGGER users_user_owner_update AFTER UPDATE OF id ON users_user "
    "FOR EACH ROW WHEN (OLD.id <> NEW.id) EXECUTE FUNCTION users_owner_protected()",
]


def owner_foreign_keys(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass "
        "AND confrelid = 'users_user'::regclass",
        [table],
    )
    return [name for (name,) in cursor.fetchall()]


def owner_checks_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in OWNED:
            for name in owner_foreign_keys(cursor, table):
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for statement in CREATE:
            cursor.execute(statement)


def owner_checks_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION clients_owner_exists() CASCADE")
        cursor.execute("DROP FUNCTION users_owner_protected() CASCADE")
        for table in OWNED:
            cursor.execute(
                f'ALTER TABLE {table} ADD CONSTRAINT "{table}_owner_id_fk_users_user_id" '
                "FOREIGN KEY (owner_id) REFERENCES users_user (id) DEFERRABLE INITIALLY DEFERRED"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0004_index_budget"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(owner_checks_create, owner_checks_drop)],
            state_operations=[
                migrations.AlterField(
                    model_name=model,
                    name="owner",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name=f"owned_{model}s",
                        to=settings.AUTH_USER_MODEL,
                        **({} if model == "client" else {"db_index": False}),
                    ),
                )
                for model in ("client", "matter", "case")
            ],
        ),
    ]
