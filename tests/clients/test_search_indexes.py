"""The grids' search on PostgreSQL reads trigram indexes of exactly the expression
Django writes for `icontains`, on the tables of the searched text (clients
migrations 0008 and 0009); the records' own tables carry none, so a transfer does
not write one. SQLite keeps its tables as they are."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import Deadline
from clients.search import common_terms, contains_condition
from tests.factories import ClientFactory, DeadlineFactory, MatterFactory

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


# --- A common term is walked -----------------------------------------------------

TITLES = [
    "Serve the defence",
    "SERVE THE DEFENCE again",
    "File 50% of the costs",
    "a_c and abc",
    "back\\slash",
    "Ärger über Öl",
    "nothing here",
]
TERMS = ["defence", "DEFENCE", "%", "50%", "_", "a_c", "\\", "ärger", "Ö", "e d", "zzz"]


@pytest.mark.parametrize("term", TERMS)
def test_the_walked_test_finds_exactly_what_icontains_finds(term):
    """Wildcards and escapes, case and letters beyond ASCII: the same rows either way."""
    for title in TITLES:
        DeadlineFactory(title=title)
    found = {
        walked: set(
            Deadline.objects.filter(contains_condition("title", term, walked=walked)).values_list(
                "title", flat=True
            )
        )
        for walked in (False, True)
    }
    assert found[True] == found[False]


def _analyze():
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE clients_deadline")


@postgres_only
def test_a_term_is_common_when_the_sample_finds_it_in_enough_rows(monkeypatch):
    for i in range(40):
        DeadlineFactory(title=f"Serve the defence {i}" if i % 4 == 0 else f"Hearing {i}")
    _analyze()
    terms = ["defence", "hearing", "zzz"]
    assert common_terms(Deadline, ("title",), terms) == set()  # too few rows to matter
    monkeypatch.setattr("clients.search.COMMON_MATCHES", 5)
    assert common_terms(Deadline, ("title",), terms) == {"defence", "hearing"}
    monkeypatch.setattr("clients.search.COMMON_SHARE", 0.5)  # defence: 1 row in 4
    assert common_terms(Deadline, ("title",), terms) == {"hearing"}


@postgres_only
def test_a_term_in_many_clients_names_is_common_where_they_are_searched(monkeypatch):
    zephyr = ClientFactory(name="Zephyr Foods")
    for i in range(20):
        matter = MatterFactory(client=zephyr if i % 2 else ClientFactory(name=f"Other {i}"))
        DeadlineFactory(matter=matter, case=None, title=f"Hearing {i}")
    _analyze()
    monkeypatch.setattr("clients.search.COMMON_MATCHES", 5)
    assert common_terms(Deadline, ("title",), ["zephyr"]) == set()
    assert common_terms(Deadline, ("title",), ["zephyr"], client_name=True) == {"zephyr"}


@postgres_only
@pytest.mark.parametrize("who", ["manager", "attorney"])
def test_a_common_term_walks_the_records_and_shows_the_same_rows(
    signed_in, manager, attorney, monkeypatch, who
):
    matter = MatterFactory(client=ClientFactory(name="Defence Holdings"), owner=attorney)
    DeadlineFactory(matter=matter, case=None, title="Under the client name")
    for i in range(30):
        DeadlineFactory(title=f"Serve the defence {i}" if i % 3 else f"Hearing {i}")
    _analyze()
    browser = signed_in({"manager": manager, "attorney": attorney}[who])
    url = "/deadlines/?q=defence&per_page=100"
    looked_up = browser.get(url).content.decode()
    monkeypatch.setattr("clients.search.COMMON_MATCHES", 5)
    with CaptureQueriesContext(connection) as captured:
        walked = browser.get(url).content.decode()
    grid_queries = [
        q["sql"] for q in captured.captured_queries if 'FROM "clients_deadline"' in q["sql"]
    ]
    assert any('STRPOS(UPPER("clients_deadline"."title")' in sql for sql in grid_queries)
    assert not any("clients_deadline_search" in sql for sql in grid_queries)
    shown = re.findall(r'<a href="/deadlines/\d+/">([^<]+)</a>', walked)
    assert shown == re.findall(r'<a href="/deadlines/\d+/">([^<]+)</a>', looked_up)
    defences = [f"Serve the defence {i}" for i in range(30) if i % 3]
    if who == "manager":
        assert sorted(shown) == sorted(["Under the client name", *defences])
    else:  # the attorney's own deadline only, found through its client's name
        assert shown == ["Under the client name"]
