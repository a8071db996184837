"""The engine's SQL, written from the models' _meta: names quoted, values always bound."""

from collections.abc import Collection

from django.db import connection
from django.db.models import Model

from transfers.models import TransferredRecord

# The receipt row's columns, in the order every INSERT ... SELECT of the engine writes them.
RECEIPT_COLUMNS = (
    "transfer",
    "record_type",
    "record_id",
    "permission",
    "share_merged",
    "from_user",
    "to_user",
)


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def column(model: type[Model], field: str) -> str:
    return quote(model._meta.get_field(field).column)


def in_ids(column_sql: str, ids: Collection[int]) -> tuple[str, list]:
    """`column IN ids` with the ids bound: one array parameter on PostgreSQL."""
    ids = [int(pk) for pk in ids]
    if connection.vendor == "postgresql":
        return f"{column_sql} = ANY(%s)", [ids]
    return f"{column_sql} IN ({', '.join(['%s'] * len(ids))})", ids


def execute(sql: str, params: list) -> int:
    """Run one statement; the number of rows it wrote."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def receipt_insert(*more: str) -> str:
    """The start of an INSERT of receipt rows, to be followed by a SELECT of
    RECEIPT_COLUMNS and then of `more` columns (the others take their defaults)."""
    columns = ", ".join(column(TransferredRecord, field) for field in (*RECEIPT_COLUMNS, *more))
    return f"INSERT INTO {table(TransferredRecord)} ({columns}) "
