"""How a grid's search term is written in SQL: through the trigram index, or walking.

A term matches a row when one of the searched columns (or, on the matters, cases
and deadlines grids, the client's name) contains it, whatever the case: Django's
`icontains`, `UPPER(column) LIKE UPPER('%term%')` on PostgreSQL, which the
trigram indexes of the searched text's own tables answer (clients migrations
0008 and 0009, clients/filters.py `search_condition`). For a rare term the
index is the way: it finds a handful of rows among millions. For a common term
(a name on one client in eight, a matter topic on one in six) it is the slow
way: PostgreSQL builds a bitmap of every one of the hundreds of thousands of
matching rows before it can return the first page, and its cost estimate for
that bitmap is far too low, so it picks it anyway. Walking the grid's order (or
the owner's rows) and testing each row finds a page of matches after a few
hundred rows, and the first 10,001 matches (the grid's count) after some tens
of thousands.

So the grid counts each term in a sample of the searched table (a few thousand
rows, with their clients' names; one query for all the terms) and writes a term
that many rows match as `STRPOS(UPPER(column), UPPER(term)) > 0` on the records'
own columns: the same test, the same rows (no wildcard and no escaping to
differ), in a form no index answers, so the planner walks. A term few rows match
keeps `icontains` and its index. SQLite has no trigram index: every term is
written as `icontains` there."""

from django.db import connection
from django.db.models import F, Model, Q, Value
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan

# A term is common, and walked, when the sample says that at least this many rows
# of the table and at least this share of them contain it. Below either, the
# index's bitmap is small enough, or a walk would read too many rows to find
# the grid's count.
COMMON_MATCHES = 20_000
COMMON_SHARE = 0.02
# About this many rows are sampled (whole pages of the table, so roughly).
SAMPLE_ROWS = 5_000


def contains_condition(field: str, term: str, *, walked: bool) -> Q:
    """Rows whose `field` contains `term`, whatever the case; `walked`: in the
    form that no index answers (the same rows)."""
    if not walked:
        return Q(**{f"{field}__icontains": term})
    return Q(GreaterThan(StrIndex(Upper(F(field)), Upper(Value(term))), 0))


def common_terms(
    model: type[Model],
    fields: tuple[str, ...],
    terms: list[str],
    *,
    client_name: bool = False,
) -> set[str]:
    """The terms that so many rows of `model` contain (in one of `fields`, or with
    `client_name` in their client's name) that walking finds them sooner than the
    trigram index: on PostgreSQL, from a sample of the table; on SQLite none."""
    if connection.vendor != "postgresql" or not terms or not fields:
        return set()
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(model._meta.get_field(field).column) for field in fields]
    selected = [f"sampled.{column}" for column in columns]
    if client_name:
        # Read per sampled row through the client's primary key: a join would
        # hash every client, the sample's size being unknown when it is planned.
        client = model._meta.get_field("client")
        name = quote(client.related_model._meta.get_field("name").column)
        clients = quote(client.related_model._meta.db_table)
        columns.append("client_name")
        selected.append(
            f"(SELECT {name} FROM {clients}"
            f" WHERE {quote(client.target_field.column)} = sampled.{quote(client.column)})"
            " AS client_name"
        )

    def contains(column: str) -> str:
        return f"STRPOS(UPPER({column}::text), UPPER(%s)) > 0"

    counts = ", ".join(
        f"COUNT(*) FILTER (WHERE {' OR '.join(contains(column) for column in columns)})"
        for _ in terms
    )
    # The planner's row count of the table; a table it has not counted yet (-1), or
    # one too small to matter, is not sampled at all (0 %).
    estimate = "(SELECT reltuples FROM pg_class WHERE oid = %s::regclass)"
    percent = f"CASE WHEN {estimate} < %s THEN 0 ELSE LEAST(100, 100.0 * %s / {estimate}) END"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {estimate}, COUNT(*), {counts} FROM (SELECT {', '.join(selected)}"  # noqa: S608 - names quoted, values bound
            f" FROM {table} AS sampled TABLESAMPLE SYSTEM ({percent}) REPEATABLE (0)"
            " OFFSET 0) AS sampled",
            [table]
            + [term for term in terms for _ in columns]
            + [table, COMMON_MATCHES, SAMPLE_ROWS, table],
        )
        rows, sampled, *matched = cursor.fetchone()
    if not sampled:
        return set()
    return {
        term
        for term, count in zip(terms, matched, strict=True)
        if count / sampled >= COMMON_SHARE and count / sampled * rows >= COMMON_MATCHES
    }
