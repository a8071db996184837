"""On PostgreSQL, the searched text in tables of its own, which an owner change never
touches (docs/indexes.md, "Search: the searched text apart").

Migration 0008 put the trigram indexes on the records' tables. A transfer changes
`owner_id`, an indexed column, so every row it moved got a new entry in every index
of its table, a dozen or more trigram keys per searched column among them: a
Transfer All took 2.36 times the lean copies with the tables' constraints, against
1.61 without those indexes (target 2). Here the searched columns (the grids'
`search_fields`) are copied to one table per record type, keyed by the record's id
(a foreign key, ON DELETE and ON UPDATE CASCADE), which carries the trigram index;
the records' tables lose theirs.

Triggers on each record table keep the copy in step whoever writes (the services,
bulk_create, the admin, the bulk generators of the demo and the benchmarks, plain
SQL):

- after an INSERT, once per statement, from its transition table (a bulk insert of
  millions of rows is one INSERT ... SELECT more, not a call per row);
- after an UPDATE OF the searched columns, per row, only when the text changed. An
  UPDATE that sets only `owner_id` and `updated_at` (every transfer and revert) does
  not fire it at all.

Both write with INSERT ... ON CONFLICT (id) DO UPDATE. A data-only `pg_dump` restore
fires the record tables' triggers, which write the copies before pg_dump's own COPY
of them (the foreign key orders them after the records): a BEFORE INSERT trigger on
each copy merges a row whose id is already there instead of failing on the
duplicate key. It fires only for a top-level write (`pg_trigger_depth() = 0`), so
the record tables' triggers do not pay for it.

The trigger functions name every table with its schema and run with
`search_path = pg_catalog, pg_temp`: a temporary table named like one of these
cannot take their writes (tests/clients/test_search_text.py).

The triggers are raw SQL here rather than django-pgtrigger declarations on the
models: the copies and their triggers exist on PostgreSQL only (the models say
`required_db_vendor = "postgresql"`; SQLite searches the records' columns, as
before), and one trigger is per statement with a transition table.

The copies are filled while the new triggers hold the record tables against writes
(CREATE TRIGGER's lock, to the end of that transaction: a few seconds for millions
of rows), so no row is missed or written twice; the trigram indexes are then built
CONCURRENTLY, and the old ones dropped CONCURRENTLY once the new ones are there, as
in migration 0008 (not concurrently inside a caller's transaction: make bench
migrating back).
"""

import django.db.models.deletion
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import migrations, models, transaction
from django.db.models.functions import Upper

# model name -> the columns the grid's search reads
SEARCHED = {
    "client": ("number", "name"),
    "matter": ("number", "title"),
    "case": ("number", "caption"),
    "deadline": ("title",),
}
# Migration 0008's indexes on the records' tables, by model name.
OLD_INDEXES = {model: f"{model}_search_trgm" for model in SEARCHED}


def record_table(model: str) -> str:
    return f"clients_{model}"


def text_table(model: str) -> str:
    return f"clients_{model}_search"


def trigram_index(name: str, columns: tuple[str, ...]) -> GinIndex:
    return GinIndex(*(OpClass(Upper(column), name="gin_trgm_ops") for column in columns), name=name)


def _concurrently(schema_editor) -> bool:
    return not schema_editor.connection.in_atomic_block


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def sync_sql(schema: str, model: str) -> list[str]:
    """The foreign key, functions and triggers that keep `model`'s copy in step."""
    records, copy = f'"{schema}".{record_table(model)}', f'"{schema}".{text_table(model)}'
    columns = SEARCHED[model]
    listed = ", ".join(columns)
    merged = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns)
    assigned = ", ".join(f"{column} = NEW.{column}" for column in columns)
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
    function = f'"{schema}".{text_table(model)}'
    settings = "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp"
    return [
        f"ALTER TABLE {copy} ADD CONSTRAINT {text_table(model)}_record FOREIGN KEY (id) "
        f"REFERENCES {records} (id) ON DELETE CASCADE ON UPDATE CASCADE",
        # After an INSERT into the records: their text, once per statement.
        f"""CREATE FUNCTION {function}_inserted() RETURNS trigger {settings} AS $$
        BEGIN
            INSERT INTO {copy} (id, {listed}) SELECT id, {listed} FROM inserted
            ON CONFLICT (id) DO UPDATE SET {merged};
            RETURN NULL;
        END $$""",
        f"CREATE TRIGGER {text_table(model)}_inserted AFTER INSERT ON {records} "
        f"REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {function}_inserted()",
        # After a change of the text (never of the owner alone): the new text.
        f"""CREATE FUNCTION {function}_changed() RETURNS trigger {settings} AS $$
        BEGIN
            INSERT INTO {copy} (id, {listed}) VALUES (NEW.id, {", ".join(f"NEW.{c}" for c in columns)})
            ON CONFLICT (id) DO UPDATE SET {merged};
            RETURN NULL;
        END $$""",
        f"CREATE TRIGGER {text_table(model)}_changed AFTER UPDATE OF {listed} ON {records} "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {function}_changed()",
        # A row written to the copy directly (a data-only restore's COPY) whose id the
        # records' trigger has already written: merged, not a duplicate key.
        f"""CREATE FUNCTION {function}_merge() RETURNS trigger {settings} AS $$
        BEGIN
            UPDATE {copy} SET {assigned} WHERE id = NEW.id;
            IF FOUND THEN
                RETURN NULL;
            END IF;
            RETURN NEW;
        END $$""",
        f"CREATE TRIGGER {text_table(model)}_merge BEFORE INSERT ON {copy} FOR EACH ROW "
        f"WHEN (pg_catalog.pg_trigger_depth() = 0) EXECUTE FUNCTION {function}_merge()",
    ]


def sync_create(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    with transaction.atomic(using=schema_editor.connection.alias):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            [schema] = cursor.fetchone()
            for model in SEARCHED:
                for statement in sync_sql(schema, model):
                    cursor.execute(statement)
                listed = ", ".join(SEARCHED[model])
                cursor.execute(
                    f'INSERT INTO "{schema}".{text_table(model)} (id, {listed}) '
                    f'SELECT id, {listed} FROM "{schema}".{record_table(model)} ORDER BY id'
                )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(text_table(model) for model in SEARCHED))


def sync_drop(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor:
        for model in SEARCHED:
            table = text_table(model)
            cursor.execute(f"DROP TRIGGER {table}_inserted ON {record_table(model)}")
            cursor.execute(f"DROP TRIGGER {table}_changed ON {record_table(model)}")
            cursor.execute(f"DROP TRIGGER {table}_merge ON {table}")
            for suffix in ("inserted", "changed", "merge"):
                cursor.execute(f"DROP FUNCTION {table}_{suffix}()")
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_record")


def text_indexes_create(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    for model, columns in SEARCHED.items():
        copy = apps.get_model("clients", f"{model}search")
        index = trigram_index(f"{text_table(model)}_trgm", columns)
        schema_editor.add_index(copy, index, concurrently=_concurrently(schema_editor))


def text_indexes_drop(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    for model, columns in SEARCHED.items():
        copy = apps.get_model("clients", f"{model}search")
        index = trigram_index(f"{text_table(model)}_trgm", columns)
        schema_editor.remove_index(copy, index, concurrently=_concurrently(schema_editor))


def record_indexes_drop(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    for model, columns in SEARCHED.items():
        records = apps.get_model("clients", model)
        index = trigram_index(OLD_INDEXES[model], columns)
        schema_editor.remove_index(records, index, concurrently=_concurrently(schema_editor))


def record_indexes_create(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    for model, columns in SEARCHED.items():
        records = apps.get_model("clients", model)
        index = trigram_index(OLD_INDEXES[model], columns)
        schema_editor.add_index(records, index, concurrently=_concurrently(schema_editor))


def text_model(name: str, record: str, fields: list[tuple[str, models.Field]]):
    return migrations.CreateModel(
        name=name,
        fields=[
            (
                "record",
                models.OneToOneField(
                    db_column="id",
                    db_constraint=False,
                    on_delete=django.db.models.deletion.DO_NOTHING,
                    primary_key=True,
                    related_name="+",
                    serialize=False,
                    to=f"clients.{record}",
                ),
            ),
            *fields,
        ],
        options={
            "db_table": text_table(record),
            "abstract": False,
            "default_permissions": (),
            "required_db_vendor": "postgresql",
        },
    )


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("clients", "0008_search_trigram_indexes"),
    ]

    operations = [
        text_model(
            "ClientSearch",
            "client",
            [
                ("number", models.CharField(max_length=20)),
                ("name", models.CharField(max_length=200)),
            ],
        ),
        text_model(
            "MatterSearch",
            "matter",
            [
                ("number", models.CharField(max_length=20)),
                ("title", models.CharField(max_length=200)),
            ],
        ),
        text_model(
            "CaseSearch",
            "case",
            [
                ("number", models.CharField(max_length=20)),
                ("caption", models.CharField(max_length=250)),
            ],
        ),
        text_model("DeadlineSearch", "deadline", [("title", models.CharField(max_length=200))]),
        migrations.RunPython(sync_create, sync_drop),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(text_indexes_create, text_indexes_drop)],
            state_operations=[
                migrations.AddIndex(
                    model_name=f"{model}search",
                    index=trigram_index(f"{text_table(model)}_trgm", columns),
                )
                for model, columns in SEARCHED.items()
            ],
        ),
        migrations.RunPython(record_indexes_drop, record_indexes_create),
    ]
