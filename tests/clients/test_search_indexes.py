"""The grids' search on PostgreSQL reads trigram indexes of exactly the expression
Django writes for `icontains` (clients migration 0007); SQLite keeps its tables as
they are."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DeadlineFactory

pytestmark = pytest.mark.django_db

SEARCH_INDEXES = {
    "clients_client": "client_search_trgm",
    "clients_matter": "matter_search_trgm",
    "clients_case": "case_search_trgm",
    "clients_deadline": "deadline_search_trgm",
}
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only"
)


@postgres_only
def test_each_searched_table_has_one_trigram_index_of_the_upper_case_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s",
            ["%_search_trgm"],
        )
        found = {table: (name, definition) for table, name, definition in cursor.fetchall()}
    assert {table: name for table, (name, _) in found.items()} == SEARCH_INDEXES
    assert (
        "USING gin (upper((number)::text) gin_trgm_ops, upper((caption)::text) gin_trgm_ops)"
        in (found["clients_case"][1])
    )
    assert "USING gin (upper((title)::text) gin_trgm_ops)" in found["clients_deadline"][1]


def _search_plans(browser, path: str) -> str:
    """The plans of the queries a grid search runs on the owned tables, with sequential
    scans made too dear to choose when an index can answer (the test data is tiny)."""
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(path).status_code == 200
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            if re.search(r'UPPER\("clients_\w+"\."\w+"::text\) LIKE UPPER', query["sql"]):
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row for (row,) in cursor.fetchall()))
        cursor.execute("SET LOCAL enable_seqscan = on")
    assert plans, f"{path} ran no icontains search"
    return "\n\n".join(plans)


@postgres_only
@pytest.mark.parametrize(
    ("path", "indexes"),
    [
        ("/clients/?q=hoff", ["client_search_trgm"]),
        ("/matters/?q=lease", ["matter_search_trgm", "client_search_trgm"]),
        ("/cases/?q=00042", ["case_search_trgm", "client_search_trgm"]),
        ("/deadlines/?q=defence", ["deadline_search_trgm", "client_search_trgm"]),
    ],
)
def test_the_grid_search_reads_the_trigram_indexes(signed_in, manager, path, indexes):
    DeadlineFactory(title="Serve the defence")
    plans = _search_plans(signed_in(manager), path)
    for index in indexes:
        assert index in plans, plans


def test_sqlite_has_no_trigram_index():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite side of the migration")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?", ["%trgm"]
        )
        assert cursor.fetchall() == []
