"""The grids' search on PostgreSQL reads trigram indexes of exactly the expression
Django writes for `icontains`, on the tables of the searched text (clients
migrations 0008 and 0009); the records' own tables carry none, so a transfer does
not write one. SQLite keeps its tables as they are."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DeadlineFactory

pytestmark = pytest.mark.django_db

SEARCH_INDEXES = {
    "clients_client_search": "clients_client_search_trgm",
    "clients_matter_search": "clients_matter_search_trgm",
    "clients_case_search": "clients_case_search_trgm",
    "clients_deadline_search": "clients_deadline_search_trgm",
}
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only"
)


@postgres_only
def test_each_searched_text_table_has_one_trigram_index_of_the_upper_case_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE indexdef LIKE %s",
            ["%gin_trgm_ops%"],
        )
        found = {table: (name, definition) for table, name, definition in cursor.fetchall()}
    # None on the records' tables (clients_client, ...): a transfer writes those.
    assert {table: name for table, (name, _) in found.items()} == SEARCH_INDEXES
    assert (
        "USING gin (upper((number)::text) gin_trgm_ops, upper((caption)::text) gin_trgm_ops)"
        in (found["clients_case_search"][1])
    )
    assert "USING gin (upper((title)::text) gin_trgm_ops)" in found["clients_deadline_search"][1]


def _search_plans(browser, path: str) -> str:
    """The plans of the queries a grid search runs on the searched text, with sequential
    scans and plain index scans made too dear to choose (the test data is tiny: a walk
    of a few rows' primary key, filtering each, would otherwise win); a GIN index is
    read by bitmap scans only."""
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(path).status_code == 200
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        for query in captured.captured_queries:
            if re.search(r'UPPER\((U\d+|"clients_\w+")\."\w+"::text\) LIKE UPPER', query["sql"]):
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row for (row,) in cursor.fetchall()))
        cursor.execute("SET LOCAL enable_seqscan = on")
        cursor.execute("SET LOCAL enable_indexscan = on")
    assert plans, f"{path} ran no icontains search"
    return "\n\n".join(plans)


@postgres_only
@pytest.mark.parametrize(
    ("path", "indexes"),
    [
        ("/clients/?q=hoff", ["clients_client_search_trgm"]),
        ("/matters/?q=lease", ["clients_matter_search_trgm", "clients_client_search_trgm"]),
        ("/cases/?q=00042", ["clients_case_search_trgm", "clients_client_search_trgm"]),
        ("/deadlines/?q=defence", ["clients_deadline_search_trgm", "clients_client_search_trgm"]),
    ],
)
def test_the_grid_search_reads_the_trigram_indexes(signed_in, manager, path, indexes):
    DeadlineFactory(title="Serve the defence")
    plans = _search_plans(signed_in(manager), path)
    for index in indexes:
        assert index in plans, plans


def test_sqlite_has_no_trigram_index_nor_searched_text_table():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite side of the migrations")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE ? OR name LIKE ?",
            ["%trgm", "%_search"],
        )
        assert cursor.fetchall() == []
