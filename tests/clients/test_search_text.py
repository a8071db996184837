"""The searched text apart (clients migration 0009): on PostgreSQL each record's
searched columns live in a table of their own, kept in step by triggers whoever
writes, never written by an owner change; the grids find the same rows on either
database."""

import pytest
from django.db import connection

from clients import filters
from clients.demo import bulk_deadlines_generate, bulk_records_generate
from clients.filters import CaseFilterSet, ClientFilterSet, DeadlineFilterSet, MatterFilterSet
from clients.models import Case, Client, Deadline, Matter
from clients.services import record_owner_change, record_update
from tests.factories import (
    CaseFactory,
    ClientFactory,
    DeadlineFactory,
    MatterFactory,
    OwnerFactory,
)
from transfers.engine.services import records_transfer_all

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the searched text has its own tables on PostgreSQL"
)
SEARCHED = {
    Client: ("number", "name"),
    Matter: ("number", "title"),
    Case: ("number", "caption"),
    Deadline: ("title",),
}


def text_table(model) -> str:
    return f"public.{model._meta.db_table}_search"


def stored_text(model) -> set[tuple]:
    """The rows of `model`'s searched-text table."""
    columns = ", ".join(SEARCHED[model])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {columns} FROM {text_table(model)}")
        return set(cursor.fetchall())


def record_text(model) -> set[tuple]:
    """What the searched-text table should hold: the records' own columns."""
    return set(model.objects.values_list("pk", *SEARCHED[model]))


def assert_in_step() -> None:
    for model in SEARCHED:
        assert stored_text(model) == record_text(model), model.__name__


def row_versions(model) -> dict[int, str]:
    """Where each searched-text row's version lies: any write of a row, even of the
    same values, makes a new version somewhere else (the test's transaction is the
    writer of every row, so xmin would not tell)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, ctid::text FROM {text_table(model)}")
        return dict(cursor.fetchall())


def text_writes() -> int:
    """Rows inserted, updated or deleted in the searched-text tables by this transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_xact_user_tables "
            "WHERE relname LIKE 'clients_%%_search'"
        )
        return cursor.fetchone()[0]


# --- In step, whoever writes -------------------------------------------------------


@postgres_only
def test_created_records_have_their_text():
    DeadlineFactory.create_batch(3)  # with their cases, matters and clients
    assert all(stored_text(model) for model in SEARCHED)
    assert_in_step()


@postgres_only
def test_a_changed_text_is_changed_and_a_deleted_record_takes_its_text_along():
    deadline = DeadlineFactory(title="Serve the defence")
    record_update(acting_user=None, record=deadline.case, caption="Brandt v. Adler Foods")
    record_update(acting_user=None, record=deadline, title="File the reply")
    client = deadline.client
    client.name = "Hoffmann Logistics"
    client.save()
    Matter.objects.filter(pk=deadline.matter_id).update(title="Lease renewal", number="M-X1")
    assert_in_step()
    assert (deadline.case_id, deadline.case.number, "Brandt v. Adler Foods") in stored_text(Case)

    deadline.delete()
    Case.objects.filter(pk=deadline.case_id).delete()
    assert_in_step()
    assert deadline.pk not in {pk for pk, *_ in stored_text(Deadline)}


@postgres_only
def test_bulk_writes_and_the_demo_generators_are_in_step():
    owner = OwnerFactory()
    client = ClientFactory(owner=owner)
    Client.objects.bulk_create(
        [Client(number=f"C-B{i}", name=f"Bulk {i}", owner=owner) for i in range(5)]
    )
    Matter.objects.bulk_create(
        [Matter(client=client, number=f"M-B{i}", title=f"Bulk {i}", owner=owner) for i in range(3)]
    )
    bulk_records_generate(owners=[owner], clients=4)  # plain INSERT ... SELECT, deadlines too
    bulk_deadlines_generate(after_case_id=0)
    Case.objects.filter(owner=owner).update(caption="Renamed in bulk")
    assert Deadline.objects.count() == 2 * Case.objects.count() == 2 * 4 * 25
    assert_in_step()


@postgres_only
def test_plain_sql_is_in_step():
    case = CaseFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clients_case (matter_id, client_id, number, caption, court, status, "
            "owner_id, created_at, updated_at) SELECT matter_id, client_id, 'K-SQL', "
            "'Written in SQL', court, status, owner_id, now(), now() FROM clients_case "
            "WHERE id = %s",
            [case.pk],
        )
        cursor.execute(
            "UPDATE clients_case SET caption = 'Changed in SQL' WHERE id = %s", [case.pk]
        )
        cursor.execute("UPDATE clients_case SET number = 'K-SQL2' WHERE number = 'K-SQL'")
    assert_in_step()
    assert {caption for _, _, caption in stored_text(Case)} == {"Written in SQL", "Changed in SQL"}


# --- A transfer does not write the searched text ------------------------------------


@postgres_only
def test_a_transfer_and_an_owner_change_leave_the_searched_text_untouched(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    for _ in range(2):
        DeadlineFactory(case__matter__client__owner=old)
    before, writes = {model: row_versions(model) for model in SEARCHED}, text_writes()
    assert all(before.values()) and writes >= 8

    records_transfer_all(acting_user=administrator, old_user=old, new_user=new)
    case = Case.objects.filter(owner=new).first()
    record_owner_change(acting_user=administrator, record=case, new_owner=old)
    case.refresh_from_db()
    case.save()  # every column written, the text unchanged
    assert Deadline.objects.filter(owner=new).count() == 2
    assert {model: row_versions(model) for model in SEARCHED} == before
    assert text_writes() == writes
    assert_in_step()


@postgres_only
def test_an_owner_update_does_not_fire_the_text_triggers():
    """The text triggers name their columns: PostgreSQL does not even queue them for an
    UPDATE that sets the owner alone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgname LIKE %s ORDER BY 1, 2",
            ["clients_%_search_%"],
        )
        triggers = {(table, name): definition for table, name, definition in cursor.fetchall()}
    assert set(triggers) == {
        (table, f"{table}_search_{suffix}")
        for table in ("clients_client", "clients_matter", "clients_case", "clients_deadline")
        for suffix in ("changed", "inserted")
    } | {
        (f"{table}_search", f"{table}_search_merge")
        for table in ("clients_client", "clients_matter", "clients_case", "clients_deadline")
    }
    changed = triggers[("clients_case", "clients_case_search_changed")]
    assert "AFTER UPDATE OF number, caption ON public.clients_case FOR EACH ROW" in changed
    assert "owner_id" not in changed


# --- Temporary tables do not take the triggers' writes --------------------------------


@postgres_only
def test_a_temporary_table_named_like_the_text_table_does_not_take_its_rows():
    case = CaseFactory(caption="Before")
    with connection.cursor() as cursor:
        for model in SEARCHED:
            table = f"{model._meta.db_table}_search"
            cursor.execute(f"CREATE TEMP TABLE {table} (LIKE public.{table})")
        cursor.execute("CREATE TEMP TABLE inserted (LIKE public.clients_case)")
        try:
            made = DeadlineFactory(title="Made with shadows")
            record_update(acting_user=None, record=case, caption="After")
            for model in SEARCHED:
                cursor.execute(f"SELECT count(*) FROM pg_temp.{model._meta.db_table}_search")
                assert cursor.fetchone() == (0,)
        finally:
            for model in SEARCHED:
                cursor.execute(f"DROP TABLE pg_temp.{model._meta.db_table}_search")
            cursor.execute("DROP TABLE pg_temp.inserted")
    assert_in_step()
    assert (made.pk, "Made with shadows") in stored_text(Deadline)


# --- The same rows on either database --------------------------------------------------


@pytest.fixture
def searchable():
    """Records whose text exercises case, several words, LIKE's own characters and
    the client's name."""
    owner = OwnerFactory()
    brandt = ClientFactory(owner=owner, number="C-100", name="Brandt Foods")
    hoff = ClientFactory(owner=owner, number="C-200", name="Hoffmann 50% Holdings")
    for client, topics in ((brandt, ("Acquisition", "Lease_renewal")), (hoff, ("Tax appeal",))):
        for topic in topics:
            matter = MatterFactory(client=client, owner=owner, title=f"{topic} for {client.name}")
            case = CaseFactory(matter=matter, owner=owner, caption=f"{client.name} v. Adler")
            DeadlineFactory(case=case, owner=owner, title=f"Serve the defence in {topic}")
    CaseFactory(caption="Nothing to see", matter__client__name="Olsen Media")
    return owner


def expected(model, filterset, query: str) -> set[int]:
    """The rows a user would expect: every word in one of the fields, any case."""
    rows = model.objects.select_related("client" if model is not Client else None)
    found = set()
    for record in rows:
        texts = [str(getattr(record, field)) for field in filterset.search_fields]
        if filterset.search_client_name:
            texts.append(record.client.name)
        if all(any(word.upper() in text.upper() for text in texts) for word in query.split()):
            found.add(record.pk)
    return found


QUERIES = (
    "brandt",
    "BRANDT foods",
    "50%",
    "lease_",
    "e_r",
    "acq hoff",
    "defence tax",
    "K-T",
    "zzz",
)
FILTERSETS = {
    Client: ClientFilterSet,
    Matter: MatterFilterSet,
    Case: CaseFilterSet,
    Deadline: DeadlineFilterSet,
}


@pytest.mark.parametrize("model", list(FILTERSETS), ids=lambda m: m.__name__)
def test_the_search_finds_what_a_user_expects_on_either_database(searchable, model):
    filterset = FILTERSETS[model]
    for query in QUERIES:
        found = filterset({"q": query}, queryset=model.objects.all()).qs
        assert set(found.values_list("pk", flat=True)) == expected(model, filterset, query), query


@postgres_only
@pytest.mark.parametrize("model", list(FILTERSETS), ids=lambda m: m.__name__)
def test_the_text_tables_find_what_the_records_columns_find(searchable, model, monkeypatch):
    filterset = FILTERSETS[model]

    def search(query: str) -> list[int]:
        return list(filterset({"q": query}, queryset=model.objects.all()).qs.values_list("pk"))

    through_text_tables = {query: search(query) for query in QUERIES}
    monkeypatch.setattr(filters, "searches_text_tables", lambda: False)  # SQLite's way
    assert {query: search(query) for query in QUERIES} == through_text_tables
