"""On PostgreSQL, trigram indexes for the grids' search (docs/indexes.md, "Search").

The grids search with `icontains`, which Django writes on PostgreSQL as
`UPPER("clients_case"."caption"::text) LIKE UPPER('%brandt%')`: no B-tree can
answer a pattern with a leading wildcard, so a rare term read every row (1.4 to
1.9 s over 2,500,000 cases). A GIN index of the trigrams of exactly that
expression, `UPPER(column)` with `gin_trgm_ops` (pg_trgm), finds the few rows
that contain the term. One index per table covers all its searched columns
(GIN is multicolumn, and each column of the OR is answered on its own and the
results combined); the matters, cases and deadlines grids also match on the
client's name, read through the clients' index.

The indexes are built CONCURRENTLY (the migration is not atomic), so a firm's
writes go on while a large table is indexed; inside a caller's transaction (make
bench migrating back and forth in one that it rolls back) they cannot be, and are not. They live here and not in the
models' Meta: SQLite keeps its tables as they are (`icontains` there is LIKE,
case-insensitive for ASCII, on a few thousand demo rows), and an index that
SQLite cannot create must not be in the state from which Django rebuilds a
SQLite table (tests/clients/test_search_indexes.py checks both databases).
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper

# model name -> (index name, the columns the grid's search reads)
SEARCHED = {
    "client": ("client_search_trgm", ("number", "name")),
    "matter": ("matter_search_trgm", ("number", "title")),
    "case": ("case_search_trgm", ("number", "caption")),
    "deadline": ("deadline_search_trgm", ("title",)),
}


def search_index(name: str, columns: tuple[str, ...]) -> GinIndex:
    return GinIndex(*(OpClass(Upper(column), name="gin_trgm_ops") for column in columns), name=name)


def _concurrently(schema_editor) -> bool:
    return not schema_editor.connection.in_atomic_block


def search_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, (name, columns) in SEARCHED.items():
        model = apps.get_model("clients", model_name)
        schema_editor.add_index(model, search_index(name, columns), concurrently=_concurrently(schema_editor))


def search_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, (name, columns) in SEARCHED.items():
        model = apps.get_model("clients", model_name)
        schema_editor.remove_index(model, search_index(name, columns), concurrently=_concurrently(schema_editor))


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("clients", "0007_deadlines"),
    ]

    operations = [
        TrigramExtension(),  # CREATE EXTENSION IF NOT EXISTS pg_trgm; nothing on SQLite
        migrations.RunPython(search_indexes_create, search_indexes_drop),
    ]
